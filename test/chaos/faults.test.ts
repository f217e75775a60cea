// 20 % faults on Neutron and on UCSM while netform converges objects of every kind: the loopback
// fault proxies answer 500/503 without forwarding, delay past the client's timeout, reset the
// connection, or forward a write and drop its answer — per request, from a seed printed here (set
// NETFORM_CHAOS_SEED to replay). Then: everything Ready, 0 duplicates, 0 orphans, 0 deletes of
// declared objects, and a further pass makes 0 writes. NETFORM_CHAOS_N sets the size (npm run chaos).
import { describe, expect, it } from 'vitest';
import { neutronUrl } from '../neutron/support.ts';
import { auditLines, expectClean, useScenario } from './scenario.ts';
import { chaosSettings, report } from './settings.ts';

const cfg = chaosSettings('faults');
const scenario = useScenario(neutronUrl, cfg);

describe('chaos: faults on every backend request', () => {
  it(`20 % faults on Neutron and UCSM: everything converges, no duplicate, no orphan, no delete of a declared object`, { timeout: cfg.timeoutMs }, async () => {
    const s = scenario();
    s.neutron.faults({ rate: 0.2, seed: cfg.seed, delayMs: 2_500 });
    // UCSM sees few requests (writes are batched): at least one of its first three is faulted.
    s.ucsmProxy.faults({ rate: 0.2, seed: cfg.seed + 1, delayMs: 2_500, atLeastOneBy: 3 });
    const t0 = Date.now();
    const r = await s.cli(['apply'], ['--timeout', String(Math.floor(cfg.timeoutMs / 1000) - 60)]);
    const seconds = (Date.now() - t0) / 1000;
    s.neutron.faults(undefined);
    s.ucsmProxy.faults(undefined);
    const audit = await s.audit();
    const faults = (p: typeof s.neutron) => Object.entries(p.stats.faults).map(([k, v]) => `${k} ${v}`).join(', ');
    report('faults', cfg, [
      `objects ${s.keys().length} (networks ${cfg.networks}), host ${s.host ? 'hostsim' : 'none'}`,
      `neutron: ${s.neutron.stats.requests} requests, faults ${faults(s.neutron)}, dropped answers ${s.neutron.stats.droppedAnswers}`,
      `ucsm: ${s.ucsmProxy.stats.requests} requests, faults ${faults(s.ucsmProxy)}, dropped answers ${s.ucsmProxy.stats.droppedAnswers}`,
      `converged in ${seconds.toFixed(1)} s (apply exit ${r.code})`,
      ...auditLines(audit),
    ]);
    expect(s.neutron.stats.faults.status + s.neutron.stats.faults.reset + s.neutron.stats.faults.delay + s.neutron.stats.faults.drop).toBeGreaterThan(0);
    expect(s.ucsmProxy.stats.faults.status + s.ucsmProxy.stats.faults.reset + s.ucsmProxy.stats.faults.delay + s.ucsmProxy.stats.faults.drop).toBeGreaterThan(0);
    expectClean(audit, r);

    // A further pass without faults writes nothing.
    const before = s.writes();
    const again = await s.cli(['apply']);
    expect(again.code).toBe(0);
    report('faults', cfg, [`further pass: ${s.writes() - before} writes`]);
    expect(s.writes() - before).toBe(0);
  });
});
