// Dynamic vNICs held by service endpoints as by vNICs: who holds a host's VIC slots and in which order,
// what a newcomer is told, and what `netform place` (placeVm) reports, from manifests, records and
// reports built here.
import { describe, expect, it } from 'vitest';
import { admit } from '../../state/admit.ts';
import { MemoryRecords, type ObjectRecord } from '../../state/records.ts';
import { DesiredStore } from '../../state/store.ts';
import { emptyHostReport } from '../../../test/support/host-report.ts';
import { referencesOf } from '../index.ts';
import { capacityProblem, dynamicVnicHolders, holderNames } from './capacity.ts';
import { placeVm } from './placement.ts';

const doc = (kind: string, metadata: string, spec: string) => `apiVersion: netform.io/v1alpha1\nkind: ${kind}\nmetadata: ${metadata}\nspec: ${spec}`;
const WORLD = [
  doc('Provider', '{name: ucs}', '{type: ucsm, endpoint: "https://ucsm.example.net", credentials: {file: creds.yaml}}'),
  doc('Network', '{name: fex}', '{physicalNetwork: physnet1, vlan: {id: 300}, shared: true, providerRefs: [{name: ucs}]}'),
  doc('Network', '{name: web}', '{physicalNetwork: physnet1, vlan: {id: 301}, shared: true}'),
  doc('Cluster', '{name: c1}', '{networks: [{name: fex}, {name: web}]}'),
  doc('Host', '{name: hv1}', '{cluster: c1, nics: [{name: eth1, physicalNetworks: [physnet1]}], networks: [{name: fex, interface: eth1}, {name: web, interface: eth1}]}'),
  doc('Host', '{name: hv2}', '{cluster: c1, nics: [{name: eth1, physicalNetworks: [physnet1]}], networks: [{name: fex, interface: eth1}, {name: web, interface: eth1}]}'),
  // On hv1's VIC: a vNIC bound there, a vNIC not yet bound, an endpoint bound there, a newer endpoint.
  doc('VnicAttachment', '{name: db1, namespace: t}', '{vm: {name: db1}, interfaceName: nic1, network: fex, host: hv1}'),
  doc('VnicAttachment', '{name: app1, namespace: t}', '{vm: {name: app1}, interfaceName: nic1, network: fex, host: hv1}'),
  doc('ServiceEndpoint', '{name: old, namespace: z}', '{network: fex, service: firewall, host: hv1}'),
  doc('ServiceEndpoint', '{name: new, namespace: a}', '{network: fex, service: ids, host: hv1}'),
  // None of these takes one: on a network without UCS Manager, on no host, on another host's VIC.
  doc('ServiceEndpoint', '{name: web-lb, namespace: a}', '{network: web, service: loadbalancer, host: hv1}'),
  doc('ServiceEndpoint', '{name: vip, namespace: a}', '{network: fex, service: loadbalancer}'),
  doc('ServiceEndpoint', '{name: other, namespace: a}', '{network: fex, service: router, host: hv2}'),
].join('\n---\n');

/** Bound: the record's status says its ports are on the host (as the kinds record once they are in place). */
const bound = (kind: 'VnicAttachment' | 'ServiceEndpoint', ns: string, name: string, host: string): ObjectRecord => ({
  key: `${kind}/${ns}/${name}`,
  kind,
  name,
  namespace: ns,
  uid: name,
  generation: 1,
  createdAt: '2026-12-04T10:00:00.000Z',
  status: { host, network: 'fex' },
});

async function view(totals: { hv1: number; hv2: number }) {
  const r = admit([{ path: 'all.yaml', text: WORLD }]);
  expect(r.errors).toEqual([]);
  const store = new DesiredStore(referencesOf);
  store.replace(r);
  const records = new MemoryRecords();
  await records.put(bound('VnicAttachment', 't', 'db1', 'hv1'));
  await records.put(bound('ServiceEndpoint', 'z', 'old', 'hv1'));
  const reports = new Map<string, unknown>();
  for (const host of ['hv1', 'hv2'] as const) {
    reports.set(`Host/${host}`, { ...emptyHostReport(Date.parse('2026-12-04T10:00:00Z')), dynamicVnics: { total: totals[host], free: totals[host] }, networks: [{ name: 'fex', inSync: true }, { name: 'web', inSync: true }] });
  }
  return { store, records, reports };
}

describe('dynamic vNICs held by service endpoints', () => {
  it('an endpoint naming the host on a UCS Manager network holds one; the bound first, then by key', async () => {
    const v = await view({ hv1: 3, hv2: 2 });
    expect(dynamicVnicHolders(v, 'hv1')).toEqual(['ServiceEndpoint/z/old', 'VnicAttachment/t/db1', 'ServiceEndpoint/a/new', 'VnicAttachment/t/app1']);
    expect(dynamicVnicHolders(v, 'hv2')).toEqual(['ServiceEndpoint/a/other']);
  });

  it('a newcomer past the VIC is refused, naming the vNICs and endpoints that hold it; one bound is never displaced', async () => {
    const v = await view({ hv1: 3, hv2: 2 });
    // 3 slots: z/old, t/db1 (bound) and a/new (first by key of the rest) have them; t/app1 does not.
    expect(capacityProblem(v, 'VnicAttachment/t/app1', 'hv1', 'fex', true)).toBe('host hv1 has no free dynamic vNIC: its VIC has 3, all taken (service endpoint z/old, t/db1, service endpoint a/new)');
    expect(capacityProblem(v, 'ServiceEndpoint/a/new', 'hv1', 'fex', true)).toBeUndefined();
    // With 2, the new endpoint is the one refused, although its key sorts before the bound ones'.
    const two = await view({ hv1: 2, hv2: 2 });
    expect(capacityProblem(two, 'ServiceEndpoint/a/new', 'hv1', 'fex', true)).toBe('host hv1 has no free dynamic vNIC: its VIC has 2, all taken (service endpoint z/old, t/db1)');
    expect(capacityProblem(two, 'ServiceEndpoint/z/old', 'hv1', 'fex', true)).toBeUndefined();
    // An endpoint on a network without UCS Manager needs none.
    expect(capacityProblem(two, 'ServiceEndpoint/a/web-lb', 'hv1', 'web', true)).toBeUndefined();
  });

  it('holderNames: vNICs by name, endpoints said so, past five counted', () => {
    expect(holderNames(['VnicAttachment/t/a', 'ServiceEndpoint/edge/fw'])).toBe('t/a, service endpoint edge/fw');
    expect(holderNames(['1', '2', '3', '4', '5', '6', '7'].map((n) => `VnicAttachment/t/v${n}`))).toBe('t/v1, t/v2, t/v3, t/v4, t/v5 and 2 more');
  });

  it('placeVm counts the endpoints against the host and lists the holders', async () => {
    const v = await view({ hv1: 4, hv2: 2 });
    // A VM with one vNIC on fex: hv1's four slots are all held (two vNICs, two endpoints); hv2's endpoint leaves one.
    const fits = placeVm(v, { networks: ['fex'] });
    expect(fits).toEqual([
      { host: 'hv2', cluster: 'c1', fits: true, reasons: [], dynamicVnicsLeft: 0, dynamicVnicHolders: ['ServiceEndpoint/a/other'] },
      {
        host: 'hv1',
        cluster: 'c1',
        fits: false,
        reasons: ['needs 1 dynamic vNIC, its VIC has 0 free of 4 (held by service endpoint z/old, t/db1, service endpoint a/new, t/app1)'],
        dynamicVnicsLeft: 0,
        dynamicVnicHolders: ['ServiceEndpoint/z/old', 'VnicAttachment/t/db1', 'ServiceEndpoint/a/new', 'VnicAttachment/t/app1'],
      },
    ]);
    // Holders past the VIC's count hold nothing and are not listed; the VM's own vNICs do not count against it.
    const own = placeVm(await view({ hv1: 3, hv2: 2 }), { networks: ['fex'], own: ['VnicAttachment/t/app1'] }).find((f) => f.host === 'hv1')!;
    expect(own.reasons).toEqual(['needs 1 dynamic vNIC, its VIC has 0 free of 3 (held by service endpoint z/old, t/db1, service endpoint a/new)']);
    // Two vNICs on fex: hv2 has one free.
    expect(placeVm(v, { networks: ['fex', 'fex'] }).find((f) => f.host === 'hv2')!.reasons).toEqual(['needs 2 dynamic vNICs, its VIC has 1 free of 2 (held by service endpoint a/other)']);
    // A VM on web only needs no dynamic vNIC: nothing is counted or listed.
    expect(placeVm(v, { networks: ['web'] }).map((f) => [f.host, f.fits, f.dynamicVnicHolders])).toEqual([
      ['hv1', true, undefined],
      ['hv2', true, undefined],
    ]);
  });
});
