// `netform agent --host NAME`: the host agent on its own, in file mode. It reads the manifests (and,
// read-only, the state directory of the `netform run` that owns the backends, for the VLANs pools
// handed out), converges this host, and writes its report to <state>/hosts/<NAME>.json, which that
// `run` folds into the Host's status.
import { access } from 'node:fs/promises';
import { constants } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { HostAgentLoop } from '../controllers/host/agent.loop.ts';
import { HostAgent } from '../drivers/host/agent.ts';
import { readManifests } from '../adapters/files/directory.ts';
import { admit } from '../state/admit.ts';
import { admissionContext, MemoryRecords } from '../state/records.ts';
import { StateDir } from '../adapters/files/state-dir.ts';
import { DesiredStore } from '../state/store.ts';
import { hostTarget } from './host-target.ts';
import { writeHostReport } from '../adapters/files/host-reports.ts';
import { readApprovals } from '../adapters/files/approvals.ts';
import { approvedPlan } from '../controllers/runtime/runtime.ts';

export async function runAgent(c: Config, log: Logger, opts: { intervalMs: number; once: boolean; stop: Promise<void> }): Promise<boolean> {
  if (!c.host) throw new Error('netform agent needs --host');
  if (!c.dir) throw new Error('netform agent needs --dir');
  const store = new DesiredStore();
  let approvals = new Map<string, string>();
  const source = { store, records: new MemoryRecords(), instance: c.instance };
  const dir = c.dir;
  const refresh = async () => {
    source.records = new MemoryRecords((await StateDir.readAll(c.stateDir)) as never);
    approvals = await readApprovals(c.stateDir);
    const result = admit(await readManifests([dir], [c.stateDir]), admissionContext(source.records.list()));
    for (const e of result.errors) log.warn({ file: e.file, line: e.line, object: e.key }, e.message);
    store.replace(result);
  };
  const target = hostTarget(c);
  let ok = true;
  const loop = new HostAgentLoop({
    source,
    refresh,
    host: c.host,
    driver: new HostAgent({
      target,
      instance: c.instance,
      log: log.child({ host: c.host }),
      reachSource: () => access(dir, constants.R_OK).then(() => true, () => false),
    }),
    log,
    intervalMs: opts.intervalMs,
    approved: (key) => approvedPlan({ approvals: (k) => approvals.get(k), store }, key),
    report: async (host, report) => {
      ok = report.networks.every((n) => n.inSync) && !report.problems.length;
      await writeHostReport(c.stateDir, host, report);
      log.info({ host, inSync: ok, applied: report.lastApply?.result }, 'host report written');
    },
  });
  if (opts.once) {
    const report = await loop.kick();
    await loop.stop();
    if (!report) throw new Error(`no Host ${c.host} is declared in ${dir}`);
    return ok;
  }
  loop.start();
  await opts.stop;
  await loop.stop();
  return ok;
}
