// The host agent loop on its work queue, with a scripted driver (no kernel): a pass computes the
// host's model once (hostNetworks once per pass), kicks coalesce, a failing pass is retried with the
// key's backoff, a started loop re-checks every interval, and stop waits for a running pass.
import type { Logger } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { HostDriver, HostModel, HostReport } from '../../drivers/host-driver.ts';
import { admit } from '../../state/admit.ts';
import { ItemBackoff } from '../../state/backoff.ts';
import { MemoryRecords } from '../../state/records.ts';
import { DesiredStore } from '../../state/store.ts';
import { systemClock, type Clock } from '../../state/workqueue.ts';
import { HostAgentLoop } from './agent.loop.ts';
import * as model from './host.model.ts';
import { emptyHostReport } from '../../../test/support/host-report.ts';

vi.mock('./host.model.ts', { spy: true });

const MANIFESTS = [
  'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: web}\nspec: {physicalNetwork: physnet1, vlan: {id: 100}, shared: true}',
  'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: gone}\nspec: {physicalNetwork: physnet1, vlan: {id: 200}}',
  'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: db}\nspec: {physicalNetwork: physnet1, vlan: {poolRef: {name: p}}}',
  'apiVersion: netform.io/v1alpha1\nkind: VlanPool\nmetadata: {name: p}\nspec: {ranges: [{physicalNetwork: physnet1, min: 300, max: 309}]}',
  'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: {defaultFabric: ovs, networks: [{name: web}, {name: db}, {name: gone, required: true}]}',
  'apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: hv1}\nspec: {cluster: c, nics: [{name: ens3}], networks: [{name: web, interface: ens3, address: 192.0.2.11/24}, {name: db, interface: ens3}]}',
  'apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: vm1, namespace: t}\nspec: {vm: {name: vm1}, interfaceName: nic1, network: web, host: hv1, mac: "52:54:00:AA:BB:CC"}',
].join('\n---\n');

function source(text = MANIFESTS) {
  const r = admit([{ path: 'all.yaml', text }]);
  expect(r.errors).toEqual([]);
  const store = new DesiredStore();
  store.replace(r);
  return { store, records: new MemoryRecords() };
}

const report = emptyHostReport;

/** A driver whose converge follows a script: `fail` passes throw, each pass may be held open. */
class ScriptedDriver implements HostDriver {
  readonly models: HostModel[] = [];
  fail = 0;
  closed = 0;
  gate: Promise<void> | undefined;
  running = 0;
  maxRunning = 0;
  observe = () => Promise.resolve(undefined);
  diff = () => ({ changes: undefined, count: 0, problems: [] });
  plan = () => undefined;
  describe = () => [];
  apply = () => Promise.resolve(undefined);
  rollback = () => Promise.resolve();
  async converge(desired: HostModel): Promise<HostReport> {
    this.models.push(desired);
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      await this.gate;
      if (this.fail > 0) {
        this.fail--;
        throw new Error('ovsdb: connection refused');
      }
      return report(this.models.length);
    } finally {
      this.running--;
    }
  }
  async close(): Promise<void> {
    this.closed++;
  }
}

function logger() {
  const warn = vi.fn();
  const log = { warn, info: vi.fn(), debug: vi.fn(), error: vi.fn(), child: () => log } as unknown as Logger;
  return { log, warn };
}

/** The real clock, recording every delay the queue asks for. */
function recordingClock(): Clock & { delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    now: () => systemClock.now(),
    setTimeout: (fn, ms) => {
      delays.push(ms);
      return systemClock.setTimeout(fn, ms);
    },
    clearTimeout: (h) => systemClock.clearTimeout(h),
  };
}

const until = async (what: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
};

let loop: HostAgentLoop | undefined;
afterEach(async () => {
  await loop?.stop();
  loop = undefined;
  vi.mocked(model.hostNetworks).mockClear();
});

describe('HostAgentLoop', () => {
  it("a pass computes the host's model once (hostNetworks once) and reports the driver's report", async () => {
    const driver = new ScriptedDriver();
    const reports: [string, HostReport][] = [];
    loop = new HostAgentLoop({ source: source(), host: 'hv1', driver, log: logger().log, report: (h, r) => void reports.push([h, r]) });
    vi.mocked(model.hostNetworks).mockClear();
    const got = await loop.kick();
    expect(got).toStrictEqual(report(1));
    expect(reports).toStrictEqual([['hv1', report(1)]]);
    expect(model.hostNetworks).toHaveBeenCalledTimes(1);
    expect(driver.models).toStrictEqual([
      {
        name: 'hv1',
        syncPolicy: 'Auto',
        probes: [],
        defaultFabric: 'ovs',
        nics: [{ name: 'ens3' }],
        bonds: [],
        networks: [
          { name: 'db', interface: 'ens3', mtu: 1500, vlanPending: true },
          { name: 'web', interface: 'ens3', mtu: 1500, vlan: 100, address: '192.0.2.11/24' },
        ],
        unplaced: ['gone'],
        vnics: [{ key: 't/vm1', network: 'web', vmName: 'vm1', plugged: true, linked: true, mac: '52:54:00:aa:bb:cc' }],
      },
    ]);
  });

  it('a Host that is not declared: no pass of the driver, no report, undefined', async () => {
    const driver = new ScriptedDriver();
    const reported = vi.fn();
    loop = new HostAgentLoop({ source: source(), host: 'hv9', driver, log: logger().log, report: reported });
    expect(await loop.kick()).toBeUndefined();
    expect(driver.models).toHaveLength(0);
    expect(reported).not.toHaveBeenCalled();
  });

  it('kicks during a pass coalesce into one more pass, which every one of them waits for; passes never overlap', async () => {
    const driver = new ScriptedDriver();
    let open!: () => void;
    driver.gate = new Promise((r) => (open = r));
    loop = new HostAgentLoop({ source: source(), host: 'hv1', driver, log: logger().log, report: () => {} });
    const first = loop.kick();
    await until(() => driver.running === 1);
    const more = [loop.kick(), loop.kick(), loop.kick()];
    open();
    expect(await first).toStrictEqual(report(1));
    expect(await Promise.all(more)).toStrictEqual([report(2), report(2), report(2)]);
    expect(driver.models).toHaveLength(2);
    expect(driver.maxRunning).toBe(1);
  });

  it('a failing pass is retried with the backoff of the Host key until it succeeds, then reported', async () => {
    const driver = new ScriptedDriver();
    driver.fail = 3;
    const { log, warn } = logger();
    const clock = recordingClock();
    const reports: HostReport[] = [];
    loop = new HostAgentLoop({
      source: source(),
      host: 'hv1',
      driver,
      log,
      clock,
      backoff: new ItemBackoff({ baseMs: 5, maxMs: 1000, jitter: 0 }),
      report: (_h, r) => void reports.push(r),
    });
    // The kick's pass fails: it says so (undefined), and the queue takes over.
    expect(await loop.kick()).toBeUndefined();
    await until(() => reports.length === 1);
    expect(driver.models).toHaveLength(4);
    expect(reports).toStrictEqual([report(4)]);
    // 5, 10, 20 ms: the key's exponential backoff, one step per failure.
    expect(clock.delays).toStrictEqual([5, 10, 20]);
    expect(warn).toHaveBeenCalledTimes(3);
    expect(warn.mock.calls.map((c) => (c[0] as { retryInMs: number }).retryInMs)).toStrictEqual([5, 10, 20]);
    expect(warn.mock.calls[0]).toStrictEqual([{ host: 'hv1', err: 'ovsdb: connection refused', retryInMs: 5 }, 'host agent pass failed']);
    // Not started: no drift re-check is scheduled after the success.
    await new Promise((r) => setTimeout(r, 30));
    expect(driver.models).toHaveLength(4);
  });

  it('a pass failing to refresh its source or to write its report is retried too', async () => {
    const driver = new ScriptedDriver();
    let refreshFails = 1;
    let reportFails = 1;
    const reports: HostReport[] = [];
    loop = new HostAgentLoop({
      source: source(),
      host: 'hv1',
      driver,
      log: logger().log,
      backoff: new ItemBackoff({ baseMs: 1, jitter: 0 }),
      refresh: async () => {
        if (refreshFails-- > 0) throw new Error('manifests unreadable');
      },
      report: (_h, r) => {
        if (reportFails-- > 0) throw new Error('disk full');
        reports.push(r);
      },
    });
    expect(await loop.kick()).toBeUndefined();
    await until(() => reports.length === 1);
    expect(driver.models).toHaveLength(2);
  });

  it('a started loop converges at once and re-checks every interval (drift), with or without kicks', async () => {
    const driver = new ScriptedDriver();
    const clock = recordingClock();
    loop = new HostAgentLoop({ source: source(), host: 'hv1', driver, log: logger().log, report: () => {}, intervalMs: 15, clock });
    loop.start();
    await until(() => driver.models.length >= 3);
    expect(clock.delays.slice(0, 2)).toStrictEqual([15, 15]);
    await loop.kick();
    const n = driver.models.length;
    await until(() => driver.models.length >= n + 2);
  });

  it('a started loop that fails backs off no further than the drift interval', async () => {
    const driver = new ScriptedDriver();
    driver.fail = 6;
    const clock = recordingClock();
    loop = new HostAgentLoop({ source: source(), host: 'hv1', driver, log: logger().log, report: () => {}, intervalMs: 8, clock });
    loop.start();
    await until(() => driver.models.length >= 8);
    // Default backoff: from min(1 s, interval) doubling, capped at the interval (±10% jitter).
    for (const d of clock.delays) expect(d).toBeLessThanOrEqual(8 * 1.1);
  });

  it('stop waits for the running pass, drops pending kicks (undefined) and closes the driver once; kicks after stop do nothing', async () => {
    const driver = new ScriptedDriver();
    let open!: () => void;
    driver.gate = new Promise((r) => (open = r));
    const reports: HostReport[] = [];
    const l = new HostAgentLoop({ source: source(), host: 'hv1', driver, log: logger().log, report: (_h, r) => void reports.push(r), intervalMs: 5 });
    l.start();
    await until(() => driver.running === 1);
    const pending = l.kick();
    let stopped = false;
    const stopping = l.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(stopped).toBe(false);
    expect(driver.closed).toBe(0);
    open();
    await stopping;
    expect(reports).toStrictEqual([report(1)]);
    expect(await pending).toBeUndefined();
    expect(driver.closed).toBe(1);
    expect(await l.kick()).toBeUndefined();
    l.start();
    await l.stop();
    await new Promise((r) => setTimeout(r, 20));
    expect(driver.models).toHaveLength(1);
    expect(driver.closed).toBe(1);
  });
});
