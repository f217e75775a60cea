import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { keyOf } from '../api/kinds.ts';
import { admit, admitObjects, formatAdmissionError, ObjectAdmissionCache } from './admit.ts';
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

describe('ObjectAdmissionCache', () => {
  // The examples as API objects, each with a resourceVersion that an edit moves on.
  const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;
  const base = (): ApiObject[] => {
    const r = admit(
      ['quickstart', 'l3', 'neutron'].flatMap((d) =>
        readdirSync(join(EXAMPLES, d))
          .filter((f) => /\.ya?ml$/.test(f) && !/credential|secret/i.test(f))
          .map((f) => ({ path: `${d}/${f}`, text: readFileSync(join(EXAMPLES, d, f), 'utf8') })),
      ),
    );
    return [...r.objects.values()].map((a, i) => ({ ...structuredClone(a.object), metadata: { ...structuredClone(a.object.metadata), resourceVersion: String(100 + i), creationTimestamp: '2026-12-01T00:00:00Z' } }) as ApiObject);
  };

  it('admits exactly as without it over edits, breakages, deletions and removals (fast-check, 100 runs)', () => {
    const start = base();
    expect(start.length).toBeGreaterThan(20);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.constantFrom('mtu', 'break', 'fix', 'delete', 'remove', 'status')), { maxLength: 8 }), (edits) => {
        const cache = new ObjectAdmissionCache();
        let objs = start.map((o) => structuredClone(o));
        expect(admitObjects(objs, {}, { cache })).toEqual(admitObjects(objs));
        let rv = 1000;
        for (const [n, op] of edits) {
          const i = n % objs.length;
          const o = structuredClone(objs[i]!);
          o.metadata = { ...o.metadata, resourceVersion: String(rv++) };
          if (op === 'mtu') (o.spec as Record<string, unknown>).description = `edited ${rv}`;
          if (op === 'break') (o.spec as Record<string, unknown>).nonsense = true;
          if (op === 'fix') delete (o.spec as Record<string, unknown>).nonsense;
          if (op === 'delete') o.metadata = { ...o.metadata, deletionTimestamp: '2026-12-02T00:00:00Z' };
          objs = op === 'remove' ? objs.filter((_, j) => j !== i) : objs.map((x, j) => (j === i ? o : x));
          if (!objs.length) return;
          expect(admitObjects(objs, {}, { cache })).toEqual(admitObjects(objs));
        }
      }),
      { numRuns: 100, seed: 20261205 },
    );
  });

  it('hands out the same frozen object while the resourceVersion is the same', () => {
    const objs = base();
    const cache = new ObjectAdmissionCache();
    const a = admitObjects(objs, {}, { cache });
    const b = admitObjects(objs, {}, { cache });
    const [key, first] = [...a.objects][0]!;
    expect(b.objects.get(key)!.object).toBe(first.object);
    expect(Object.isFrozen(first.object.spec)).toBe(true);
    const bumped = objs.map((o) => (keyOf(o as never) === key ? { ...o, metadata: { ...o.metadata, resourceVersion: '999999' } } : o));
    expect(admitObjects(bumped, {}, { cache }).objects.get(key)!.object).not.toBe(first.object);
  });
});
