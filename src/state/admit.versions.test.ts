// Admission of both served versions (ADR 30): a v1beta1 document is the same object as its v1alpha1
// form, and every problem names the field as written, with its line.
import { describe, expect, it } from 'vitest';
import { admit, admitObjects } from './admit.ts';
import type { ApiObject, ManifestFile } from '../api/objects.ts';

const ALPHA = `apiVersion: netform.io/v1alpha1
kind: Cluster
metadata: {name: prod}
spec: {networks: [{name: web}]}
---
apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: web}
spec:
  physicalNetwork: physnet1
  vlan: {id: 10}
  approval: Manual
  deletionPolicy: Orphan
---
apiVersion: netform.io/v1alpha1
kind: Host
metadata: {name: hv1}
spec:
  cluster: prod
  syncPolicy: Manual
  nics: [{name: eth0}]
  networks: [{name: web, interface: eth0}]
`;

const BETA = `apiVersion: netform.io/v1beta1
kind: Cluster
metadata: {name: prod}
spec: {networks: [{name: web}]}
---
apiVersion: netform.io/v1beta1
kind: Network
metadata: {name: web}
spec:
  physicalNetwork: physnet1
  vlan: {id: 10}
  lifecycle:
    approval: Manual
    deletionPolicy: Orphan
---
apiVersion: netform.io/v1beta1
kind: Host
metadata: {name: hv1}
spec:
  clusterRef:
    name: prod
  lifecycle: {syncPolicy: Manual}
  nics: [{name: eth0}]
  networks: [{name: web, interface: eth0}]
`;

const file = (text: string, path = 'm.yaml'): ManifestFile[] => [{ path, text }];

describe('admission of v1alpha1 and v1beta1', () => {
  it('admits a v1beta1 document as the same object as its v1alpha1 form (the hub: v1alpha1 shape, defaults filled)', () => {
    const a = admit(file(ALPHA));
    const b = admit(file(BETA));
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
    expect([...b.objects.keys()]).toEqual([...a.objects.keys()]);
    for (const [key, o] of a.objects) expect(b.objects.get(key)!.object, key).toEqual(o.object);
    expect(b.objects.get('Host/hv1')!.object.spec).toMatchObject({ cluster: 'prod', syncPolicy: 'Manual', approval: 'Auto' });
    expect(b.objects.get('Network/web')!.object.spec).toMatchObject({ approval: 'Manual', deletionPolicy: 'Orphan', managementPolicy: 'Managed', allowReplace: false });
  });

  it('notes the v1alpha1 documents as deprecated, once per file, and no v1beta1 one', () => {
    const a = admit(file(ALPHA));
    // One entry per file: how many documents, and where the first one is.
    expect(a.deprecated?.map((d) => [d.file, d.documentIndex, d.line, d.documents, d.apiVersion])).toEqual([['m.yaml', 0, 1, 3, 'netform.io/v1alpha1']]);
    expect(a.deprecated![0]!.warning).toMatch(/deprecated: use netform.io\/v1beta1/);
    expect(admit(file(BETA)).deprecated).toBeUndefined();
  });

  it("names a schema problem by the v1beta1 field and its line", () => {
    const r = admit(file(BETA.replace('approval: Manual', 'approval: Sometimes')));
    expect(r.errors.map((e) => [e.field, e.line, e.message])).toEqual([['spec.lifecycle.approval', 13, 'must be one of "Auto", "Manual"']]);
  });

  it('names a problem found across objects (a dangling reference) by the field as written, in either version', () => {
    const beta = admit(file(BETA.replace('    name: prod', '    name: nope')));
    expect(beta.errors.map((e) => [e.key, e.field, e.line])).toEqual([['Host/hv1', 'spec.clusterRef.name', 21]]);
    expect(beta.errors[0]!.message).toMatch(/nope/);
    const alpha = admit(file(ALPHA.replace('cluster: prod', 'cluster: nope')));
    expect(alpha.errors.map((e) => [e.key, e.field, e.line])).toEqual([['Host/hv1', 'spec.cluster', 19]]);
    expect(alpha.errors[0]!.message).toBe(beta.errors[0]!.message);
  });

  it('refuses a version that is not served, naming those that are', () => {
    const r = admit(file('apiVersion: netform.io/v2\nkind: Cluster\nmetadata: {name: x}\nspec: {}\n'));
    expect(r.errors.map((e) => [e.field, e.message])).toEqual([['apiVersion', '"netform.io/v2" is not served; use netform.io/v1alpha1 or netform.io/v1beta1']]);
  });

  it('cluster mode: an object read in v1beta1 is the same object, and its problems name v1beta1 fields', () => {
    const objs = (version: 'v1alpha1' | 'v1beta1', network: string): ApiObject[] => [
      { apiVersion: `netform.io/${version}`, kind: 'Cluster', metadata: { name: 'prod', resourceVersion: '1' }, spec: {} },
      { apiVersion: `netform.io/${version}`, kind: 'Host', metadata: { name: 'hv1', resourceVersion: '2' }, spec: version === 'v1beta1' ? { clusterRef: { name: 'prod' } } : { cluster: 'prod' } },
      {
        apiVersion: `netform.io/${version}`,
        kind: 'VnicAttachment',
        metadata: { name: 'v', namespace: 'a', resourceVersion: '3' },
        spec: version === 'v1beta1' ? { vm: { name: 'vm' }, interfaceName: 'nic1', networkRef: { name: network }, hostRef: { name: 'hv1' } } : { vm: { name: 'vm' }, interfaceName: 'nic1', network, host: 'hv1' },
      },
    ];
    const a = admitObjects(objs('v1alpha1', 'gone'));
    const b = admitObjects(objs('v1beta1', 'gone'));
    expect(a.errors.map((e) => [e.key, e.field])).toEqual([['VnicAttachment/a/v', 'spec.network']]);
    expect(b.errors.map((e) => [e.key, e.field])).toEqual([['VnicAttachment/a/v', 'spec.networkRef.name']]);
    expect(b.errors[0]!.message).toBe(a.errors[0]!.message);
    const ok = admitObjects(objs('v1beta1', 'gone').slice(0, 2));
    expect(ok.errors).toEqual([]);
    expect(ok.objects.get('Host/hv1')!.object.spec).toMatchObject({ cluster: 'prod' });
    expect(ok.objects.get('Host/hv1')!.object.apiVersion).toBe('netform.io/v1alpha1'); // the hub
  });
});
