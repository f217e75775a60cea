// Command line for the hostsim harness (run as root):
//   node test/harness/hostsim/cli.ts sweep                 delete leftovers of dead test runs
//   node test/harness/hostsim/cli.ts features              print kernelFeatures() as JSON
//   node test/harness/hostsim/cli.ts measure [runs]        time up/down of a switch + host with OVS (and br-int)
//   node test/harness/hostsim/cli.ts leave <id>            create switch nfsw-<id> + host nfhv-<id> with OVS and exit
//                                                          WITHOUT stopping them (prints JSON); used to test sweep()
//   node test/harness/hostsim/cli.ts hold <id>             create switch nfsw-<id>, print JSON, keep it until stdin
//                                                          closes, then stop it; stands in for a parallel test file
import { readFileSync } from 'node:fs';
import { createHost, createSwitch, ensureHostTools, kernelFeatures, sweep, uid } from './index.ts';

const [cmd, arg] = process.argv.slice(2);

async function measure(runs: number): Promise<void> {
  await ensureHostTools();
  await sweep();
  const rows: { up: number; brInt: number; down: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const id = uid(5);
    const t0 = performance.now();
    const sw = await createSwitch(id);
    const host = await createHost({ id, switch: sw, ovs: true });
    const t1 = performance.now();
    await host.ovs!.vsctl(['add-br', 'br-int', '--', 'set', 'Bridge', 'br-int', 'datapath_type=netdev']);
    const t2 = performance.now();
    await host.stop();
    await sw.stop();
    const t3 = performance.now();
    rows.push({ up: (t1 - t0) / 1000, brInt: (t2 - t1) / 1000, down: (t3 - t2) / 1000 });
  }
  const med = (k: 'up' | 'brInt' | 'down') => rows.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(rows.length / 2)]!;
  for (const r of rows) console.log(`up ${r.up.toFixed(3)} s  add-br ${r.brInt.toFixed(3)} s  down ${r.down.toFixed(3)} s`);
  console.log(`median of ${runs}: up ${med('up').toFixed(3)} s, add-br ${med('brInt').toFixed(3)} s, down ${med('down').toFixed(3)} s`);
}

switch (cmd) {
  case 'sweep':
    console.log(JSON.stringify(await sweep()));
    break;
  case 'features':
    console.log(JSON.stringify(await kernelFeatures()));
    break;
  case 'measure':
    await measure(Number(arg ?? 5));
    break;
  case 'leave': {
    const id = arg ?? uid(5);
    const sw = await createSwitch(id);
    const host = await createHost({ id, switch: sw, ovs: true });
    const pids = host.ovs!.pidfiles.map((f) => Number(readFileSync(f, 'utf8').trim()));
    console.log(JSON.stringify({ namespaces: [host.ns, sw.ns], stateDir: host.stateDir, pids }));
    break;
  }
  case 'hold': {
    const sw = await createSwitch(arg ?? uid(5));
    console.log(JSON.stringify({ namespaces: [sw.ns] }));
    process.stdin.resume();
    await new Promise<void>((r) => process.stdin.on('end', r).on('close', r));
    await sw.stop();
    break;
  }
  default:
    console.error('usage: cli.ts sweep | features | measure [runs] | leave <id>');
    process.exit(2);
}
