// The Host kind's status from its agent's reports: Ready while the agent reports, Ready=Unknown with
// reason AgentLost once it has not reported for spec.agentTimeoutSeconds, Ready again when it resumes.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FileCredentialSource } from '../../adapters/files/credentials.ts';
import { DriverRegistry } from '../../drivers/registry.ts';
import { admit } from '../../state/admit.ts';
import { MemoryRecords } from '../../state/records.ts';
import { KIND_DEFINITIONS } from '../index.ts';
import { Engine } from '../runtime/engine.ts';
import { reconcileKind } from '../runtime/kind.ts';
import { hostKind } from './host.kind.ts';
import { emptyHostReport } from '../../../test/support/host-report.ts';

const T0 = Date.parse('2026-12-04T10:00:00Z');
const MANIFESTS = (timeout?: number) =>
  [
    'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c1}\nspec: {}',
    `apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: hv1}\nspec: {cluster: c1${timeout === undefined ? '' : `, agentTimeoutSeconds: ${timeout}`}}`,
  ].join('\n---\n');

const report = emptyHostReport;

function setup(timeout?: number) {
  let now = T0;
  const records = new MemoryRecords();
  const e = new Engine({
    kinds: KIND_DEFINITIONS,
    records,
    registry: new DriverRegistry(),
    credentials: new FileCredentialSource(),
    log: pino({ level: 'silent' }),
    resyncMs: 300_000,
    now: () => new Date(now),
    random: () => 0.5,
  });
  const result = admit([{ path: 'h.yaml', text: MANIFESTS(timeout) }]);
  expect(result.errors).toEqual([]);
  e.store.replace(result);
  const pass = () => reconcileKind(e.rt, hostKind, 'Host/hv1', new AbortController().signal);
  const ready = () => records.get('Host/hv1')?.status.conditions?.find((c) => c.type === 'Ready');
  return { e, records, pass, ready, at: (t: number) => (now = t) };
}

describe('Host: a lost agent', () => {
  it('the default timeout is 180 s (admission applies the CRD default)', () => {
    expect(setup().e.store.object('Host', 'hv1')?.spec.agentTimeoutSeconds).toBe(180);
  });

  it('Ready while the agent reports; AgentLost after the timeout; Ready again when it reports', async () => {
    const t = setup(60);
    t.e.rt.reports.set('Host/hv1', report(T0));
    // Fresh: Ready, and looked at again when the report would become too old (before the drift period).
    expect(await t.pass()).toEqual({ requeueAfterMs: 60_001 });
    expect(t.ready()).toMatchObject({ status: 'True', reason: 'Available' });

    t.at(T0 + 60_000);
    expect((await t.pass()).requeueAfterMs).toBe(1);
    expect(t.ready()).toMatchObject({ status: 'True', reason: 'Available' });

    t.at(T0 + 60_001);
    await t.pass();
    expect(t.ready()).toMatchObject({ status: 'Unknown', reason: 'AgentLost', message: 'no report from the host agent for over 60s (last at 2026-12-04T10:00:00.000Z)' });
    const synced = t.records.get('Host/hv1')?.status.conditions?.find((c) => c.type === 'Synced');
    expect(synced).toMatchObject({ status: 'Unknown', reason: 'AgentLost' });
    // Only the user can bring the agent back: Stalled (kstatus Failed, Argo CD Degraded).
    expect(t.records.get('Host/hv1')?.status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'AgentLost' });
    // The last known state stays.
    expect(t.records.get('Host/hv1')?.status.lastObservedTime).toBe('2026-12-04T10:00:00.000Z');

    t.e.rt.reports.set('Host/hv1', report(T0 + 90_000));
    t.at(T0 + 90_500);
    await t.pass();
    expect(t.ready()).toMatchObject({ status: 'True', reason: 'Available' });
  });

  it('a Host whose agent never reported waits for it (not AgentLost)', async () => {
    const t = setup(60);
    t.at(T0 + 3_600_000);
    await t.pass();
    expect(t.ready()).toMatchObject({ status: 'False', reason: 'WaitingForDependencies' });
  });
});

describe('Host notifies', () => {
  it('the Routers realized on it (they wait for its report), not the others', () => {
    const records = new MemoryRecords();
    const e = new Engine({ kinds: KIND_DEFINITIONS, records, registry: new DriverRegistry(), credentials: new FileCredentialSource(), log: pino({ level: 'silent' }) });
    const text = [
      MANIFESTS(),
      'apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: hv2}\nspec: {cluster: c1}',
      'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: n}\nspec: {physicalNetwork: physnet1, subnets: [{name: s, cidr: 10.0.0.0/24, gateway: 10.0.0.1}]}',
      'apiVersion: netform.io/v1alpha1\nkind: Router\nmetadata: {name: r1}\nspec: {hostRef: {name: hv1}, interfaces: [{network: n, subnet: s}]}',
      'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: m}\nspec: {physicalNetwork: physnet1, subnets: [{name: s, cidr: 10.1.0.0/24, gateway: 10.1.0.1}]}',
      'apiVersion: netform.io/v1alpha1\nkind: Router\nmetadata: {name: r2}\nspec: {hostRef: {name: hv2}, interfaces: [{network: m, subnet: s}]}',
    ].join('\n---\n');
    const result = admit([{ path: 'h.yaml', text }]);
    expect(result.errors).toEqual([]);
    e.store.replace(result);
    const hv1 = e.store.object('Host', 'hv1')!;
    expect(hostKind.notifies!(hv1, e.rt)).toEqual(['Router/r1']);
  });
});

describe('Host: a removal waits for what is on the host', () => {
  const WORLD = [
    'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c1}\nspec: {networks: [{name: app}]}',
    'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: app}\nspec: {physicalNetwork: physnet1, vlan: {id: 101}, shared: true}',
    'apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: hv1}\nspec: {cluster: c1}',
    'apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: hv2}\nspec: {cluster: c1}',
    'apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: vm1-nic0, namespace: t}\nspec: {vm: {name: vm1}, interfaceName: nic0, network: app, host: hv1}',
  ].join('\n---\n');
  /** A record of an object whose declaration is gone while its ports are still being removed. */
  const leaving = (kind: 'ServiceEndpoint' | 'VnicAttachment', ns: string, name: string, spec: object) => ({
    key: `${kind}/${ns}/${name}`,
    kind,
    name,
    namespace: ns,
    uid: name,
    generation: 1,
    createdAt: new Date(T0).toISOString(),
    spec,
    status: {},
  });

  it('names each vNIC and service endpoint that names it once, declared or still being removed; goes when none is left', async () => {
    const t = setup();
    const all = admit([{ path: 'h.yaml', text: WORLD }]);
    expect(all.errors).toEqual([]);
    t.e.store.replace(all);
    await t.pass();
    expect(t.records.get('Host/hv1')).toBeDefined();
    // An endpoint on hv1 and one on hv2, both being removed (their declarations are gone).
    await t.records.put(leaving('ServiceEndpoint', 'edge', 'fw', { network: 'app', service: 'firewall', host: 'hv1' }));
    await t.records.put(leaving('ServiceEndpoint', 'edge', 'lb', { network: 'app', service: 'loadbalancer', host: 'hv2' }));
    // The vNIC is declared (its file held as last admitted) and has a record: named once.
    await t.records.put(leaving('VnicAttachment', 't', 'vm1-nic0', { vm: { name: 'vm1' }, interfaceName: 'nic0', network: 'app', host: 'hv1' }));
    // hv1's declaration goes.
    all.objects.delete('Host/hv1');
    t.e.store.replace(all);
    await t.pass();
    const cond = (type: string) => t.records.get('Host/hv1')?.status.conditions?.find((c) => c.type === type);
    expect(cond('Synced')).toMatchObject({ status: 'False', reason: 'DeletionBlocked', message: 'still used by ServiceEndpoint/edge/fw, VnicAttachment/t/vm1-nic0' });
    expect(cond('Ready')).toMatchObject({ status: 'False', reason: 'Deleting', message: 'waiting for its vNICs and service endpoints to go' });

    // The vNIC goes; the endpoint still holds the host.
    all.objects.delete('VnicAttachment/t/vm1-nic0');
    t.e.store.replace(all);
    await t.records.delete('VnicAttachment/t/vm1-nic0');
    await t.pass();
    expect(cond('Synced')).toMatchObject({ reason: 'DeletionBlocked', message: 'still used by ServiceEndpoint/edge/fw' });

    // The endpoint's port is gone (its record with it): the host goes; the endpoint on hv2 never held it.
    await t.records.delete('ServiceEndpoint/edge/fw');
    await t.pass();
    expect(t.records.get('Host/hv1')).toBeUndefined();
    expect(t.records.get('ServiceEndpoint/edge/lb')).toBeDefined();
  });
});
