import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.ts';

function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[3] ?? '').split(',').filter(Boolean);
    if (want.every((w) => have.includes(w)) && have.length === want.length) return Number(m[4]);
  }
  return undefined;
}

describe('Metrics', () => {
  it('counts reconciles, errors, drift corrections and time to Ready by kind', async () => {
    const m = new Metrics({}, { processMetrics: false });
    m.reconciled('Network/a', { kind: 'Network', ms: 20, result: 'success', driftCorrected: false, becameReadyAfterS: 3 });
    m.reconciled('Network/a', { kind: 'Network', ms: 20, result: 'requeue', driftCorrected: true });
    m.reconciled('Network/b', { kind: 'Network', ms: 20, result: 'error', driftCorrected: false });
    m.reconciled('VnicAttachment/x/y', { kind: 'VnicAttachment', ms: 5, result: 'retry', driftCorrected: false });
    const { body, contentType } = await m.scrape();
    expect(contentType).toMatch(/^text\/plain/);
    expect(sample(body, 'netform_reconcile_total', { kind: 'Network', result: 'success' })).toBe(1);
    expect(sample(body, 'netform_reconcile_total', { kind: 'Network', result: 'error' })).toBe(1);
    expect(sample(body, 'netform_reconcile_errors_total', { kind: 'Network' })).toBe(1);
    expect(sample(body, 'netform_reconcile_errors_total', { kind: 'VnicAttachment' })).toBe(1);
    expect(sample(body, 'netform_drift_corrections_total', { kind: 'Network' })).toBe(1);
    expect(sample(body, 'netform_time_to_ready_seconds_count', { kind: 'Network' })).toBe(1);
    expect(sample(body, 'netform_time_to_ready_seconds_sum', { kind: 'Network' })).toBe(3);
    expect(sample(body, 'netform_time_to_ready_seconds_bucket', { kind: 'Network', le: '2.5' })).toBe(0);
    expect(sample(body, 'netform_time_to_ready_seconds_bucket', { kind: 'Network', le: '5' })).toBe(1);
  });

  it('reads queue depth, leadership and informer staleness when scraped', async () => {
    let depth = 3;
    let leader = false;
    const m = new Metrics(
      { queue: () => ({ queued: depth, running: 1, delayed: 0, queuedRecheck: 2, oldestRecheckWaitMs: 1500 }), leader: () => leader, stale: () => ({ Network: true, Host: false }) },
      { processMetrics: false },
    );
    let body = (await m.scrape()).body;
    expect(sample(body, 'netform_workqueue_depth')).toBe(3);
    expect(sample(body, 'netform_workqueue_recheck_depth')).toBe(2);
    expect(sample(body, 'netform_workqueue_recheck_oldest_wait_seconds')).toBe(1.5);
    expect(sample(body, 'netform_leader')).toBe(0);
    expect(sample(body, 'netform_informer_stale', { kind: 'Network' })).toBe(1);
    expect(sample(body, 'netform_informer_stale', { kind: 'Host' })).toBe(0);
    depth = 0;
    leader = true;
    body = (await m.scrape()).body;
    expect(sample(body, 'netform_workqueue_depth')).toBe(0);
    expect(sample(body, 'netform_leader')).toBe(1);
  });

  it('netform_shards_held: the shards held now, only with shards', async () => {
    let held = 2;
    const m = new Metrics({ shardsHeld: () => held }, { processMetrics: false });
    expect(sample((await m.scrape()).body, 'netform_shards_held')).toBe(2);
    held = 0;
    expect(sample((await m.scrape()).body, 'netform_shards_held')).toBe(0);
    expect((await new Metrics({}, { processMetrics: false }).scrape()).body).not.toContain('netform_shards_held');
  });

  it('counts backend writes by provider, action and result, not no-ops', async () => {
    const m = new Metrics({}, { processMetrics: false });
    const plan = (action: string) => ({ object: 'Network/a', target: 'neutron:n1', resource: 'network', action }) as never;
    m.binding('Network/a', { plan: plan('create'), done: true }, 'n1');
    m.binding('Network/a', { plan: plan('noop'), done: true }, 'n1');
    m.binding('Network/a', { plan: plan('update'), done: false, error: { errorClass: 'Transient', message: 'x' } }, 'n1');
    const { body } = await m.scrape();
    expect(sample(body, 'netform_backend_actions_total', { provider: 'n1', action: 'create', result: 'ok' })).toBe(1);
    expect(sample(body, 'netform_backend_actions_total', { provider: 'n1', action: 'update', result: 'error' })).toBe(1);
    expect(body).not.toMatch(/action="noop"/);
  });
});
