import { describe, expect, it } from 'vitest';
import { admitObjects, formatAdmissionError } from './admit.ts';
import { type ApiObject } from '../api/objects.ts';

const net = (name: string, spec: Record<string, unknown>, meta: Record<string, unknown> = {}): ApiObject => ({
  apiVersion: 'netform.io/v1alpha1',
  kind: 'Network',
  metadata: { name, uid: `uid-${name}`, generation: 1, resourceVersion: '10', creationTimestamp: '2026-11-21T10:00:00Z', ...meta },
  spec,
  status: { observedGeneration: 1 },
});

const vnic = (name: string, namespace: string, network: string): ApiObject => ({
  apiVersion: 'netform.io/v1alpha1',
  kind: 'VnicAttachment',
  metadata: { name, namespace, creationTimestamp: '2026-11-21T10:00:00Z' },
  spec: { vm: { name: 'vm1' }, interfaceName: 'nic1', mac: '56:6f:00:00:00:01', network, host: 'hv1' },
});

const host: ApiObject = {
  apiVersion: 'netform.io/v1alpha1',
  kind: 'Host',
  metadata: { name: 'hv1', creationTimestamp: '2026-11-21T09:00:00Z' },
  spec: { cluster: 'prod', nics: [{ name: 'eno1' }] },
};
const cluster: ApiObject = {
  apiVersion: 'netform.io/v1alpha1',
  kind: 'Cluster',
  metadata: { name: 'prod', creationTimestamp: '2026-11-21T09:00:00Z' },
  spec: { networks: [{ name: 'tenant-a', roles: ['vm'] }] },
};

describe('admitObjects', () => {
  it('admits valid objects with their API identity and no status', () => {
    const r = admitObjects([net('web', { physicalNetwork: 'physnet1', vlan: { id: 10 } })]);
    expect(r.errors).toEqual([]);
    const a = r.objects.get('Network/web')!;
    expect(a.object.metadata).toMatchObject({ name: 'web', uid: 'uid-web', generation: 1, resourceVersion: '10' });
    expect(a.object).not.toHaveProperty('status');
    expect(a.source).toEqual({ file: 'Network/web', documentIndex: 0, line: 0 });
  });

  it('reports a VLAN clash on the newer object, naming object, field and reason', () => {
    const older = net('a', { physicalNetwork: 'physnet1', vlan: { id: 10 } }, { creationTimestamp: '2026-11-21T10:00:00Z' });
    const newer = net('b', { physicalNetwork: 'physnet1', vlan: { id: 10 } }, { creationTimestamp: '2026-11-21T11:00:00Z' });
    // input order must not matter: the API lists by name
    const r = admitObjects([newer, older]);
    expect([...r.objects.keys()]).toEqual(['Network/a']);
    expect(r.invalid.get('Network/b')).toHaveLength(1);
    const e = r.invalid.get('Network/b')![0]!;
    expect(e.field).toBe('spec.vlan.id');
    expect(e.message).toMatch(/10/);
    expect(formatAdmissionError(e)).toMatch(/^Network\/b: spec\.vlan\.id: .*10/);
  });

  it('reports a dangling reference', () => {
    const r = admitObjects([host, cluster, vnic('nic', 'team-a', 'missing')]);
    const errs = r.invalid.get('VnicAttachment/team-a/nic')!;
    expect(errs.map((e) => e.field)).toContain('spec.network');
    expect(r.objects.has('Host/hv1')).toBe(true);
  });

  it('refuses a cross-tenant attachment and accepts an allowed namespace', () => {
    const tenant = net('tenant-a', { physicalNetwork: 'physnet2', vlan: { id: 301 }, allowedNamespaces: ['team-a'] });
    const r = admitObjects([host, cluster, tenant, vnic('ok', 'team-a', 'tenant-a'), vnic('bad', 'team-b', 'tenant-a')]);
    expect(r.objects.has('VnicAttachment/team-a/ok')).toBe(true);
    const e = r.invalid.get('VnicAttachment/team-b/bad')![0]!;
    expect(e.field).toBe('spec.network');
    expect(e.message).toMatch(/neither shared nor open to namespace "team-b"/);
  });

  it('leaves objects being deleted out of the desired state but keeps references to them valid', () => {
    const going = net('tenant-a', { physicalNetwork: 'physnet2', vlan: { id: 301 }, shared: true }, { deletionTimestamp: '2026-11-21T12:00:00Z' });
    const r = admitObjects([host, cluster, going, vnic('nic', 'team-a', 'tenant-a')]);
    expect(r.objects.has('Network/tenant-a')).toBe(false);
    expect(r.invalid.has('Network/tenant-a')).toBe(false);
    expect(r.objects.has('VnicAttachment/team-a/nic')).toBe(true);
  });

  it('applies schema defaults and reports what the schema refuses', () => {
    const r = admitObjects([net('web', { physicalNetwork: 'physnet1' }), net('bad', { physicalNetwork: 'physnet1', mtu: 10 })]);
    expect(r.objects.get('Network/web')!.object.spec).toHaveProperty('managementPolicy', 'Managed');
    expect(r.invalid.get('Network/bad')![0]!.field).toBe('spec.mtu');
  });

  it('skips objects of other API versions', () => {
    const r = admitObjects([{ ...net('web', { physicalNetwork: 'physnet1' }), apiVersion: 'netform.io/v2' }]);
    expect(r.objects.size + r.errors.length).toBe(0);
  });
});
