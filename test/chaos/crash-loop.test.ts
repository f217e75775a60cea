// Crash loop: `netform apply` and `netform run` (production CLI, real drivers) are SIGKILLed at
// seeded random moments while they converge objects of every kind against the real Neutron, the UCSM
// emulator and a hostsim host, and restarted each time; then again with the state directory deleted
// between kills. After each phase: 0 duplicates, 0 orphans (no backend object with a netform mark
// without its owner), 0 deletes of declared objects (read from the backends' request logs at the
// proxies), everything Ready, and a further pass makes 0 writes. The seed is printed (replay with
// NETFORM_CHAOS_SEED); NETFORM_CHAOS_N and NETFORM_CHAOS_KILLS set the size (npm run chaos).
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seeded } from '../harness/fault-proxy.ts';
import { neutronUrl } from '../neutron/support.ts';
import { startCli } from '../support/cli.ts';
import { auditLines, expectClean, useScenario } from './scenario.ts';
import { chaosSettings, report } from './settings.ts';

const cfg = chaosSettings('crash');
const kills = Number(process.env.NETFORM_CHAOS_KILLS ?? 6);
const scenario = useScenario(neutronUrl, cfg);

/** Starts apply or run and SIGKILLs it after a seeded delay; returns when it is dead. */
async function killOne(random: () => number, i: number): Promise<{ command: string; afterMs: number; exited: boolean }> {
  const s = scenario();
  const command = i % 2 === 0 ? 'apply' : 'run';
  // From just after start-up (~1 s) into convergence: early kills land in admission and the first
  // creates, late ones in updates, the host agent and the periodic passes.
  const afterMs = Math.floor(600 + random() * (2_500 + cfg.networks * 250));
  const p = startCli([...s.cliArgs(command as 'apply' | 'run'), ...(command === 'apply' ? ['--timeout', '600'] : [])], { real: true });
  let exited = false;
  const timer = setTimeout(() => p.child.kill('SIGKILL'), afterMs);
  const r = await p.result;
  clearTimeout(timer);
  if (r.signal !== 'SIGKILL') exited = true; // finished before its kill
  // `run` never ends by itself; apply ends with 0 (converged) or 1 (not yet).
  if (exited && command === 'run') throw new Error(`netform run exited by itself (code ${r.code}): ${r.stderr.slice(-2000)}`);
  return { command, afterMs, exited };
}

async function phase(name: string, deleteState: boolean): Promise<void> {
  const s = scenario();
  const random = seeded(cfg.seed + (deleteState ? 1 : 0));
  const t0 = Date.now();
  const shots: string[] = [];
  for (let i = 0; i < kills; i++) {
    const k = await killOne(random, i);
    shots.push(`${k.command}@${k.afterMs}ms${k.exited ? '(finished)' : ''}`);
    if (deleteState) rmSync(dirname(s.stateDir) + '/state', { recursive: true, force: true });
  }
  const r = await s.cli(['apply'], ['--timeout', '300']);
  const seconds = (Date.now() - t0) / 1000;
  const audit = await s.audit();
  report('crash-loop', cfg, [
    `${name}: objects ${s.keys().length} (networks ${cfg.networks}), host ${s.host ? 'hostsim' : 'none'}, kills ${shots.length}: ${shots.join(' ')}`,
    `${name}: final apply exit ${r.code}; ${seconds.toFixed(1)} s; neutron requests ${s.neutron.stats.requests}, ucsm requests ${s.ucsmProxy.stats.requests}`,
    ...auditLines(audit).map((l) => `${name}: ${l}`),
  ]);
  expectClean(audit, r);
  const before = s.writes();
  const again = await s.cli(['apply']);
  expect(again.code).toBe(0);
  report('crash-loop', cfg, [`${name}: further pass: ${s.writes() - before} writes`]);
  expect(s.writes() - before).toBe(0);
}

describe('chaos: SIGKILL at random points, restart each time', () => {
  it('state directory kept: no duplicate, no orphan, no delete of a declared object; everything Ready', { timeout: cfg.timeoutMs + kills * 30_000 }, async () => {
    await phase('state kept', false);
  });

  it('state directory deleted between kills: the same, by adoption alone', { timeout: cfg.timeoutMs + kills * 30_000 }, async () => {
    await phase('state deleted', true);
  });
});
