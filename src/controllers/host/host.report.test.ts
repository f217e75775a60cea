import { describe, expect, it } from 'vitest';
import type { HostReport } from '../../drivers/host/agent.ts';
import { decodeObservation, reportDigest, reportFromStatus, statusFromReport } from './host.report.ts';

const report: HostReport = {
  lastObservedTime: '2026-11-21T10:00:00.000Z',
  interfaces: [{ name: 'ens3', mac: '52:54:00:00:00:01', rxMbps: 1.5, txMbps: 0.2, drops: 3, network: 'apps' }],
  dynamicVnics: { total: 4, free: 2 },
  networks: [{ name: 'apps', inSync: true }, { name: 'db', inSync: false, difference: 'ovs port ens3: trunks [300]→[300, 2201]' }],
  problems: ['NIC ens9 is missing'],
  lastApply: { time: '2026-11-21T09:59:59.000Z', result: 'rolled back', error: 'probe 192.0.2.1 did not answer', changes: 3 },
  collected: ['tap9'],
  syncPolicy: 'Auto',
};

describe('host reports through the Host status', () => {
  it('round-trips: what the agent writes is what the controller reads', () => {
    expect(reportFromStatus(statusFromReport(report))).toEqual(report);
  });

  it('writes only the fields the agent owns', () => {
    expect(Object.keys(statusFromReport(report)).sort()).toEqual(['agent', 'dynamicVnics', 'interfaces', 'lastObservedTime', 'pendingPlan']);
  });

  it('a held plan travels through the status; none clears one held before (null in the merge patch)', () => {
    const pendingPlan = { digest: `sha256:${'a'.repeat(64)}`, computedAt: '2026-12-04T10:00:00.000Z', asOf: '2026-12-04T10:00:01.000Z', summary: '0 to create, 2 to update, 0 to replace, 0 to delete', impact: '1 VM needs a re-plug', changes: ['~ Network/web  host:hv1 nic ens3  (update)'] };
    const status = statusFromReport({ ...report, pendingPlan });
    expect(status.pendingPlan).toEqual(pendingPlan);
    expect(reportFromStatus(status)?.pendingPlan).toEqual(pendingPlan);
    expect(statusFromReport(report).pendingPlan).toBeNull();
  });

  it('the observation travels compressed through the status and comes back equal; a broken one is dropped; it counts in the digest by its hash', () => {
    const observed = { links: [{ name: 'ens3', mtu: 1500, kind: '' }], addresses: [], ovs: { bridges: [] } };
    const status = statusFromReport({ ...report, observed });
    expect(typeof status.agent!.observation).toBe('string');
    expect(status.agent!.observation).not.toContain('ens3');
    expect(reportFromStatus(status)?.observed).toEqual(observed);
    expect(decodeObservation('not gzip')).toBeUndefined();
    expect(reportFromStatus({ ...status, agent: { ...status.agent!, observation: 'bm90IGd6aXA=' } })?.observed).toBeUndefined();
    expect(reportDigest({ ...report, observed })).toBe(reportDigest({ ...report, observed: structuredClone(observed) }));
    expect(reportDigest({ ...report, observed })).not.toBe(reportDigest({ ...report, observed: { ...observed, addresses: [{ device: 'x', cidr: '10.0.0.1/24' }] } }));
    expect(reportFromStatus({ ...statusFromReport(report), pendingPlan: undefined })?.pendingPlan).toBeUndefined();
  });

  it('no agent report yet → undefined; defaults for what an older agent left out', () => {
    expect(reportFromStatus(undefined)).toBeUndefined();
    expect(reportFromStatus({ observedGeneration: 2 })).toBeUndefined();
    expect(reportFromStatus({ agent: { lastObservedTime: '2026-11-21T10:00:00.000Z' } })).toEqual({
      lastObservedTime: '2026-11-21T10:00:00.000Z',
      interfaces: [],
      dynamicVnics: { total: 0, free: 0 },
      networks: [],
      problems: [],
      collected: [],
      syncPolicy: 'Auto',
    });
  });

  it('the digest ignores the time and the sampled rates, not what matters', () => {
    const later = { ...report, lastObservedTime: '2026-11-21T10:00:10.000Z', interfaces: [{ ...report.interfaces[0]!, rxMbps: 9, txMbps: 9, drops: 9 }] };
    expect(reportDigest(later)).toBe(reportDigest(report));
    expect(reportDigest({ ...report, networks: [{ name: 'apps', inSync: false }] })).not.toBe(reportDigest(report));
    expect(reportDigest({ ...report, interfaces: [{ ...report.interfaces[0]!, mac: '52:54:00:00:00:02' }] })).not.toBe(reportDigest(report));
  });
});
