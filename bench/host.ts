// Host agent benchmark (part of `npm run bench`): N networks (default 1000, BENCH_HOST_N) applied
// and verified in one network namespace, on the sandbox kernel: each network is a VLAN tag on Open
// vSwitch (netdev datapath) with one VM tap, the uplink trunks all of them. Then the no-op re-check
// and the removal of every network. Target: apply + verify ≤ 5 s for 1000 (nmstate, for comparison,
// takes about 8.5 minutes for 1000 bridges over VLANs).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { HostModel } from '../src/drivers/host-driver.ts';
import { HostAgent } from '../src/drivers/host/agent.ts';
import { OvsdbClient } from '../src/drivers/host/ovsdb.ts';
import { createHost, createSwitch, ensureHostTools, sweep, uid } from '../test/harness/hostsim/index.ts';

const N = Number(process.env.BENCH_HOST_N ?? 1000);
const out = fileURLToPath(new URL('./results/', import.meta.url));

/** N networks on the ovs fabric, each a VLAN on ens3 with one VM tap. */
function model(n: number): HostModel {
  const networks: HostModel['networks'] = [];
  const vnics: HostModel['vnics'] = [];
  for (let i = 0; i < n; i++) {
    const name = `n${i}`;
    networks.push({ name, interface: 'ens3', mtu: 1500, vlan: i + 1 });
    vnics.push({ key: `bench/vm${i}`, network: name, vmName: `vm${i}`, plugged: true, linked: true });
  }
  networks.sort((a, b) => (a.name < b.name ? -1 : 1));
  return { name: 'h', syncPolicy: 'Auto', probes: [], defaultFabric: 'ovs', nics: [{ name: 'ens3' }], bonds: [], networks, unplaced: [], vnics };
}

await ensureHostTools();
await sweep();
const id = uid(4);
const sw = await createSwitch(id);
const h = await createHost({ id, switch: sw, ovs: true, nics: ['ens3'] });
const agent = new HostAgent({
  target: { netns: h.ns, ovs: () => OvsdbClient.connect(h.ovs!.db), ovsBridge: 'br-int', ovsDatapath: 'netdev', sysfsRoot: '/nonexistent' },
  instance: 'netform',
  log: pino({ level: 'silent' }),
});
try {
  const desired = model(N);
  const t0 = performance.now();
  const report = await agent.converge(desired);
  const applyMs = performance.now() - t0;
  const ok = report.lastApply?.result === 'applied' && report.networks.every((n) => n.inSync);
  const t1 = performance.now();
  const again = await agent.converge(desired);
  const recheckMs = performance.now() - t1;
  const empty = model(0);
  const t2 = performance.now();
  const removed = await agent.converge(empty);
  const removeMs = performance.now() - t2;
  const figures = {
    date: new Date().toISOString(),
    n: N,
    applyAndVerifyMs: Math.round(applyMs),
    converged: ok,
    noopRecheckMs: Math.round(recheckMs),
    noopChanged: again.lastApply !== undefined,
    removeMs: Math.round(removeMs),
    removed: removed.lastApply?.result === 'applied',
    targetMs: 5000,
  };
  mkdirSync(out, { recursive: true });
  const latest = `${out}host-latest.json`;
  const previous = existsSync(latest) ? (JSON.parse(readFileSync(latest, 'utf8')) as Record<string, unknown>) : {};
  writeFileSync(latest, `${JSON.stringify(figures, null, 2)}\n`);
  const rows: [string, unknown, unknown][] = [
    ['networks (OVS tag + VM tap each)', figures.n, previous.n],
    ['apply + verify, ms (target ≤ 5000)', figures.applyAndVerifyMs, previous.applyAndVerifyMs],
    ['converged and verified', figures.converged, previous.converged],
    ['no-op re-check, ms', figures.noopRecheckMs, previous.noopRecheckMs],
    ['remove all, ms', figures.removeMs, previous.removeMs],
  ];
  process.stdout.write(`${'host figure'.padEnd(38)}${'now'.padStart(10)}${'previous'.padStart(12)}\n`);
  for (const [k, v, p] of rows) process.stdout.write(`${k.padEnd(38)}${String(v).padStart(10)}${String(p ?? '-').padStart(12)}\n`);
  if (!ok) process.stdout.write(`not converged: ${report.lastApply?.error ?? report.problems.join('; ')}\n`);
  process.stdout.write(`written to ${latest}\n`);
} finally {
  await agent.close();
  await h.stop();
  await sw.stop();
}
