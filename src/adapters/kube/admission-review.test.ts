import { describe, expect, it } from 'vitest';
import type { ApiObject } from '../../api/objects.ts';
import { reviewAdmission, type AdmissionRequest } from './admission-review.ts';

const provider: ApiObject = { apiVersion: 'netform.io/v1alpha1', kind: 'Provider', metadata: { name: 'os', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { type: 'neutron', endpoint: 'https://neutron.example:9696', neutron: { auth: 'noauth' } } };
const net = (name: string, vlan: number, extra: Record<string, unknown> = {}, created = '2026-01-02T00:00:00Z'): ApiObject => ({
  apiVersion: 'netform.io/v1alpha1',
  kind: 'Network',
  metadata: { name, creationTimestamp: created },
  spec: { physicalNetwork: 'physnet1', vlan: { id: vlan }, ...extra },
});
const fresh = (o: ApiObject): ApiObject => ({ ...o, metadata: { name: o.metadata!.name!, ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}) } });
const review = (request: Partial<AdmissionRequest>) => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u-1', kind: { group: 'netform.io', version: 'v1alpha1', kind: 'Network' }, operation: 'CREATE' as const, ...request } });

describe('reviewAdmission', () => {
  const world = [provider, net('web', 100, { providerRefs: [{ name: 'os' }] })];

  it('allows a valid create and answers with the request uid', () => {
    const a = reviewAdmission(review({ object: fresh(net('db', 101)) }), world);
    expect(a).toEqual({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u-1', allowed: true } });
  });

  it('refuses a VLAN clash on the new object, with the field and the reason', () => {
    const a = reviewAdmission(review({ object: fresh(net('db', 100)) }), world);
    expect(a.response.allowed).toBe(false);
    expect(a.response.status).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(a.response.status!.details!.causes).toEqual([expect.objectContaining({ field: 'spec.vlan.id', reason: 'FieldValueInvalid' })]);
    expect(a.response.status!.message).toMatch(/^spec\.vlan\.id: .*100/);
  });

  it('a create is the newest object even when the apiserver stamped it in the same second as another (whole seconds)', () => {
    const sameSecond = net('aaa', 100, {}, '2026-01-02T00:00:00Z'); // as the apiserver sends it: created, same second as web
    const a = reviewAdmission(review({ object: sameSecond }), world);
    expect(a.response.allowed).toBe(false);
    expect(a.response.status!.details!.causes).toEqual([expect.objectContaining({ field: 'spec.vlan.id' })]);
    expect(a.response.status!.message).not.toMatch(/would make/);
  });

  it('refuses a dangling providerRef, and a schema error', () => {
    const dangling = reviewAdmission(review({ object: fresh(net('db', 101, { providerRefs: [{ name: 'nope' }] })) }), world);
    expect(dangling.response.allowed).toBe(false);
    expect(dangling.response.status!.details!.causes.map((c) => c.field)).toEqual(['spec.providerRefs[0].name']);
    const schema = reviewAdmission(review({ object: fresh(net('db', 5000)) }), world);
    expect(schema.response.allowed).toBe(false);
    expect(schema.response.status!.details!.causes[0]!.field).toBe('spec.vlan.id');
  });

  it('refuses an update of an older object onto a VLAN a newer one holds (the clash is the update’s)', () => {
    const older = net('old', 102, {}, '2025-06-01T00:00:00Z');
    const a = reviewAdmission(review({ operation: 'UPDATE', object: net('old', 100, {}, '2025-06-01T00:00:00Z'), oldObject: older }), [...world, older]);
    expect(a.response.allowed).toBe(false);
    expect(a.response.status!.message).toMatch(/would make Network\/web invalid: spec\.vlan\.id: /);
    // The same update onto a free VLAN is allowed.
    expect(reviewAdmission(review({ operation: 'UPDATE', object: net('old', 103, {}, '2025-06-01T00:00:00Z'), oldObject: older }), [...world, older]).response.allowed).toBe(true);
  });

  it('never refuses a deletion, a status write, or an object of another group; refuses a review without a uid', () => {
    expect(reviewAdmission(review({ operation: 'DELETE', oldObject: world[1]! }), world).response.allowed).toBe(true);
    expect(reviewAdmission(review({ operation: 'UPDATE', subResource: 'status', object: net('db', 100) }), world).response.allowed).toBe(true);
    expect(reviewAdmission(review({ kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' } } }), world).response.allowed).toBe(true);
    const bad = reviewAdmission({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, world);
    expect(bad.response).toMatchObject({ allowed: false, status: { code: 400 } });
  });

  it('refuses a vNIC attachment in a namespace its network does not allow', () => {
    const tenantNet = net('tenant-a-net', 104, { allowedNamespaces: ['tenant-a'] });
    const cluster: ApiObject = { apiVersion: 'netform.io/v1alpha1', kind: 'Cluster', metadata: { name: 'c1' }, spec: { networks: [{ name: 'tenant-a-net', roles: ['vm'] }] } };
    const host: ApiObject = { apiVersion: 'netform.io/v1alpha1', kind: 'Host', metadata: { name: 'hv1' }, spec: { cluster: 'c1', nics: [{ name: 'eth0' }], networks: [{ name: 'tenant-a-net', interface: 'eth0' }] } };
    const here = [...world, tenantNet, cluster, host];
    const vnic = (ns: string): ApiObject => ({ apiVersion: 'netform.io/v1alpha1', kind: 'VnicAttachment', metadata: { name: 'vm1-nic0', namespace: ns }, spec: { vm: { name: 'vm1' }, interfaceName: 'nic0', network: 'tenant-a-net', host: 'hv1' } });
    const kind = { group: 'netform.io', version: 'v1alpha1', kind: 'VnicAttachment' };
    expect(reviewAdmission(review({ kind, namespace: 'tenant-a', object: vnic('tenant-a') }), here).response).toEqual({ uid: 'u-1', allowed: true });
    const cross = reviewAdmission(review({ kind, namespace: 'tenant-b', object: vnic('tenant-b') }), here);
    expect(cross.response.allowed).toBe(false);
    expect(cross.response.status!.details!.causes[0]!.field).toBe('spec.network');
  });
});
