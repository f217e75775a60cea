import { describe, expect, it } from 'vitest';
import { GROUP_VERSION } from '../api/crds.ts';
import { keyOf, type AnyResource, type Cluster, type Host, type Network, type Provider, type VlanPool, type VnicAttachment } from '../api/kinds.ts';
import type { AdmissionError, AdmissionResult, AdmittedObject } from '../api/objects.ts';
import { contentHash, DesiredStore } from './store.ts';
import { referencesOf } from '../controllers/index.ts';

// ── hand-built objects ─────────────────────────────────────────────────────────

function provider(name: string): Provider {
  return { apiVersion: GROUP_VERSION, kind: 'Provider', metadata: { name }, spec: { type: 'neutron', endpoint: 'https://os.example:9696', requestTimeoutSeconds: 30, maxConcurrency: 4, approval: 'Auto' } };
}

function pool(name: string): VlanPool {
  return { apiVersion: GROUP_VERSION, kind: 'VlanPool', metadata: { name }, spec: { ranges: [{ physicalNetwork: 'physnet1', min: 100, max: 199 }] } };
}

function network(name: string, o: { providers?: string[]; pool?: string; mtu?: number; labels?: Record<string, string> } = {}): Network {
  const n: Network = {
    apiVersion: GROUP_VERSION,
    kind: 'Network',
    metadata: { name },
    spec: {
      approval: 'Auto',
      external: false,
      physicalNetwork: 'physnet1',
      vlan: o.pool ? { poolRef: { name: o.pool } } : { id: 100 },
      mtu: o.mtu ?? 1500,
      shared: false,
      adminStateUp: true,
      portSecurity: true,
      portMirroring: false,
      managementPolicy: 'Managed',
      deletionPolicy: 'Delete',
      allowReplace: false,
    },
  };
  if (o.providers) n.spec.providerRefs = o.providers.map((p) => ({ name: p }));
  if (o.labels) n.metadata.labels = o.labels;
  return n;
}

function cluster(name: string, networks: string[]): Cluster {
  return { apiVersion: GROUP_VERSION, kind: 'Cluster', metadata: { name }, spec: { defaultFabric: 'linux-bridge', networks: networks.map((n) => ({ name: n, required: true })) } };
}

function host(name: string, clusterName: string, placed: string[] = []): Host {
  return {
    apiVersion: GROUP_VERSION,
    kind: 'Host',
    metadata: { name },
    spec: { cluster: clusterName, syncPolicy: 'Auto', approval: 'Auto', agentTimeoutSeconds: 180, networks: placed.map((n) => ({ name: n, interface: 'eth0' })) },
  };
}

function vnic(name: string, networkName: string, hostName: string, namespace?: string): VnicAttachment {
  const v: VnicAttachment = {
    apiVersion: GROUP_VERSION,
    kind: 'VnicAttachment',
    metadata: { name },
    spec: { vm: { name: 'vm1' }, interfaceName: 'eth0', network: networkName, host: hostName, plugged: true, linked: true, managementPolicy: 'Managed', deletionPolicy: 'Delete' },
  };
  if (namespace) v.metadata.namespace = namespace;
  return v;
}

function admitted(object: AnyResource, file = 'net.yaml', documentIndex = 0): AdmittedObject {
  return { key: keyOf(object), object, source: { file, documentIndex, line: documentIndex * 10 + 1 } };
}

function err(key: string, message: string, file = 'bad.yaml'): AdmissionError {
  return { file, documentIndex: 0, line: 3, key, field: 'spec.mtu', message };
}

type Input = Pick<AdmissionResult, 'objects' | 'invalid' | 'heldFiles'>;

function result(objects: AnyResource[], invalid: [string, AdmissionError[]][] = [], heldFiles: string[] = []): Input {
  return { objects: new Map(objects.map((o) => [keyOf(o), admitted(o)] as const)), invalid: new Map(invalid), heldFiles: new Set(heldFiles) };
}

const sorted = (s: Set<string>) => [...s].sort();

// ── referencesOf ──────────────────────────────────────────────────────────────

describe('referencesOf', () => {
  it.each([
    { name: 'Provider has none', o: provider('os') as AnyResource, want: [] },
    { name: 'VlanPool has none', o: pool('p') as AnyResource, want: [] },
    { name: 'Network: providers and pool', o: network('web', { providers: ['ucs', 'os', 'os'], pool: 'p' }), want: ['Provider/os', 'Provider/ucs', 'VlanPool/p'] },
    { name: 'Network with fixed VLAN and no provider', o: network('web'), want: [] },
    { name: 'Cluster: its networks', o: cluster('c', ['web', 'app']), want: ['Network/app', 'Network/web'] },
    { name: 'Host: its cluster and placed networks', o: host('h1', 'c', ['web']), want: ['Cluster/c', 'Network/web'] },
    { name: 'VnicAttachment: network and host', o: vnic('v', 'web', 'h1', 'tenant'), want: ['Host/h1', 'Network/web'] },
  ])('$name', ({ o, want }) => {
    expect(referencesOf(o)).toEqual(want);
  });
});

// ── contentHash ───────────────────────────────────────────────────────────────

describe('contentHash', () => {
  const base = network('web', { labels: { a: '1', b: '2' } });

  it('is a 32-character hex digest and stable', () => {
    expect(contentHash(base)).toMatch(/^[0-9a-f]{32}$/);
    expect(contentHash(base)).toBe(contentHash(structuredClone(base)));
  });

  it.each([
    { name: 'spec key order', make: () => ({ ...base, spec: Object.fromEntries(Object.entries(base.spec).reverse()) as Network['spec'] }), same: true },
    { name: 'label order', make: () => ({ ...base, metadata: { ...base.metadata, labels: { b: '2', a: '1' } } }), same: true },
    { name: 'annotations', make: () => ({ ...base, metadata: { ...base.metadata, annotations: { note: 'x' } } }), same: true },
    { name: 'name (the key, not the content)', make: () => ({ ...base, metadata: { ...base.metadata, name: 'other' } }), same: true },
    { name: 'status', make: () => ({ ...base, status: { vlan: 5 } }), same: true },
    { name: 'a spec field', make: () => ({ ...base, spec: { ...base.spec, mtu: 9000 } }), same: false },
    { name: 'a nested spec field', make: () => ({ ...base, spec: { ...base.spec, vlan: { id: 101 } } }), same: false },
    { name: 'a label value', make: () => ({ ...base, metadata: { ...base.metadata, labels: { a: '1', b: '3' } } }), same: false },
    { name: 'a label added', make: () => ({ ...base, metadata: { ...base.metadata, labels: { a: '1', b: '2', c: '' } } }), same: false },
    { name: 'labels removed', make: () => ({ ...base, metadata: { name: 'web' } }), same: false },
  ])('$name → same: $same', ({ make, same }) => {
    const other = make() as AnyResource;
    expect(contentHash(other) === contentHash(base)).toBe(same);
  });

  it('empty labels hash like no labels', () => {
    const a = network('web');
    const b = network('web', { labels: {} });
    expect(contentHash(a)).toBe(contentHash(b));
  });

  it('array order matters', () => {
    expect(contentHash(network('w', { providers: ['a', 'b'] }))).not.toBe(contentHash(network('w', { providers: ['b', 'a'] })));
  });
});

// ── DesiredStore.replace ─────────────────────────────────────────────────────

const P = provider('os');
const WEB = network('web', { providers: ['os'] });
const APP = network('app', { providers: ['os'], pool: 'p' });
const POOL = pool('p');
const BASE = [P, POOL, WEB, APP];

describe('DesiredStore.replace returns exactly the changed keys', () => {
  it.each<{ name: string; before: Input; after: Input; want: string[] }>([
    { name: 'first load: everything', before: result([]), after: result(BASE), want: ['Network/app', 'Network/web', 'Provider/os', 'VlanPool/p'] },
    { name: 'unchanged: nothing', before: result(BASE), after: result(BASE), want: [] },
    { name: 'unchanged, fresh copies: nothing', before: result(BASE), after: result(structuredClone(BASE)), want: [] },
    { name: 'unchanged, different input order: nothing', before: result(BASE), after: result([...BASE].reverse()), want: [] },
    {
      name: 'unchanged content moved to another file: nothing',
      before: result(BASE),
      after: { ...result(BASE), objects: new Map(BASE.map((o) => [keyOf(o), admitted(o, 'moved.yaml', 4)] as const)) },
      want: [],
    },
    { name: 'added', before: result(BASE), after: result([...BASE, network('db')]), want: ['Network/db'] },
    { name: 'removed', before: result(BASE), after: result([P, POOL, WEB]), want: ['Network/app'] },
    { name: 'spec edited', before: result(BASE), after: result([P, POOL, network('web', { providers: ['os'], mtu: 9000 }), APP]), want: ['Network/web'] },
    {
      name: 'labels edited',
      before: result(BASE),
      after: result([P, POOL, network('web', { providers: ['os'], labels: { tier: 'front' } }), APP]),
      want: ['Network/web'],
    },
    {
      name: 'annotations only: nothing',
      before: result(BASE),
      after: result([P, POOL, { ...WEB, metadata: { ...WEB.metadata, annotations: { note: 'hi' } } }, APP]),
      want: [],
    },
    {
      name: 'became invalid (object dropped, errors recorded)',
      before: result(BASE),
      after: result([P, POOL, APP], [['Network/web', [err('Network/web', 'must be at least 68')]]], ['bad.yaml']),
      want: ['Network/web'],
    },
    {
      name: 'became valid again',
      before: result([P, POOL, APP], [['Network/web', [err('Network/web', 'must be at least 68')]]], ['bad.yaml']),
      after: result(BASE),
      want: ['Network/web'],
    },
    {
      name: 'new object that is invalid from the start',
      before: result(BASE),
      after: result(BASE, [['Network/new', [err('Network/new', 'bad')]]], ['bad.yaml']),
      want: ['Network/new'],
    },
    {
      name: 'invalid with the same errors: nothing',
      before: result(BASE, [['Network/new', [err('Network/new', 'bad')]]], ['bad.yaml']),
      after: result(BASE, [['Network/new', [err('Network/new', 'bad')]]], ['bad.yaml']),
      want: [],
    },
    {
      name: 'invalid with different errors',
      before: result(BASE, [['Network/new', [err('Network/new', 'bad')]]], ['bad.yaml']),
      after: result(BASE, [['Network/new', [err('Network/new', 'worse')]]], ['bad.yaml']),
      want: ['Network/new'],
    },
    {
      name: 'invalid key fixed away (no longer declared at all)',
      before: result(BASE, [['Network/new', [err('Network/new', 'bad')]]], ['bad.yaml']),
      after: result(BASE),
      want: ['Network/new'],
    },
    {
      name: 'held file only: nothing',
      before: result(BASE),
      after: result(BASE, [], ['broken.yaml']),
      want: [],
    },
    {
      name: 'several at once',
      before: result(BASE),
      after: result([P, pool('p2'), network('web', { providers: ['os'], mtu: 9000 }), APP], [['Cluster/c', [err('Cluster/c', 'x')]]]),
      want: ['Cluster/c', 'Network/web', 'VlanPool/p', 'VlanPool/p2'],
    },
  ])('$name', ({ before, after, want }) => {
    const s = new DesiredStore(referencesOf);
    s.replace(before);
    expect(sorted(s.replace(after))).toEqual(want);
    // Applying the same result again changes nothing.
    expect(sorted(s.replace(after))).toEqual([]);
  });
});

describe('DesiredStore contents after replace', () => {
  it('get/object/list/keys/hashOf reflect the latest result', () => {
    const s = new DesiredStore(referencesOf);
    s.replace(result(BASE));
    expect(s.keys().sort()).toEqual(['Network/app', 'Network/web', 'Provider/os', 'VlanPool/p']);
    expect(s.get('Network/web')?.object).toEqual(WEB);
    expect(s.object('Network', 'app')).toEqual(APP);
    expect(s.object('Network', 'nope')).toBeUndefined();
    expect(s.list('Network').map((n) => n.metadata.name).sort()).toEqual(['app', 'web']);
    expect(s.list('Host')).toEqual([]);
    expect(s.hashOf('Network/web')).toBe(contentHash(WEB));
    s.replace(result([P]));
    expect(s.keys()).toEqual(['Provider/os']);
    expect(s.get('Network/web')).toBeUndefined();
    expect(s.hashOf('Network/web')).toBeUndefined();
  });

  it('object() finds namespaced objects (default namespace when none given)', () => {
    const s = new DesiredStore(referencesOf);
    const a = vnic('a', 'web', 'h1', 'tenant');
    const b = vnic('b', 'web', 'h1');
    s.replace({
      objects: new Map([
        ['VnicAttachment/tenant/a', admitted(a)],
        ['VnicAttachment/default/b', admitted(b)],
      ]),
      invalid: new Map(),
      heldFiles: new Set(),
    });
    expect(s.object('VnicAttachment', 'a', 'tenant')).toEqual(a);
    expect(s.object('VnicAttachment', 'a')).toBeUndefined();
    expect(s.object('VnicAttachment', 'b')).toEqual(b);
  });

  it('referrers index follows the objects', () => {
    const s = new DesiredStore(referencesOf);
    s.replace(result([P, POOL, WEB, APP, cluster('c', ['web', 'app']), host('h1', 'c', ['web']), host('h2', 'c'), vnic('v1', 'web', 'h1', 'tenant')]));
    expect(s.referrers('Provider/os')).toEqual(['Network/app', 'Network/web']);
    expect(s.referrers('VlanPool/p')).toEqual(['Network/app']);
    expect(s.referrers('Network/web')).toEqual(['Cluster/c', 'Host/h1', 'VnicAttachment/tenant/v1']);
    expect(s.referrers('Network/app')).toEqual(['Cluster/c']);
    expect(s.referrers('Cluster/c')).toEqual(['Host/h1', 'Host/h2']);
    expect(s.referrers('Host/h1')).toEqual(['VnicAttachment/tenant/v1']);
    expect(s.referrers('Host/h2')).toEqual([]);
    expect(s.referrers('Network/missing')).toEqual([]);

    // Referrers that disappear or change their references leave the index.
    s.replace(result([P, POOL, network('web'), APP, cluster('c', ['app']), host('h2', 'c')]));
    expect(s.referrers('Provider/os')).toEqual(['Network/app']);
    expect(s.referrers('Network/web')).toEqual([]);
    expect(s.referrers('Cluster/c')).toEqual(['Host/h2']);
    expect(s.referrers('Host/h1')).toEqual([]);
  });

  it('references to undeclared objects are indexed too', () => {
    const s = new DesiredStore(referencesOf);
    s.replace(result([network('web', { providers: ['ghost'] })]));
    expect(s.referrers('Provider/ghost')).toEqual(['Network/web']);
  });

  it('invalid keys and held files are those of the latest result', () => {
    const s = new DesiredStore(referencesOf);
    const e = [err('Network/web', 'must be at least 68')];
    s.replace(result([P], [['Network/web', e]], ['bad.yaml', 'worse.yaml']));
    expect(s.invalid('Network/web')).toEqual(e);
    expect(s.invalid('Provider/os')).toBeUndefined();
    expect(s.invalidKeys()).toEqual(['Network/web']);
    expect(s.isHeld('bad.yaml')).toBe(true);
    expect(s.isHeld('worse.yaml')).toBe(true);
    expect(s.isHeld('net.yaml')).toBe(false);

    s.replace(result([P], [], ['worse.yaml']));
    expect(s.invalid('Network/web')).toBeUndefined();
    expect(s.invalidKeys()).toEqual([]);
    expect(s.isHeld('bad.yaml')).toBe(false);
    expect(s.isHeld('worse.yaml')).toBe(true);
  });

  it('does not alias the caller’s invalid map or held set', () => {
    const s = new DesiredStore(referencesOf);
    const input = result([P], [['Network/web', [err('Network/web', 'x')]]], ['bad.yaml']);
    s.replace(input);
    input.invalid.clear();
    input.heldFiles.clear();
    expect(s.invalidKeys()).toEqual(['Network/web']);
    expect(s.isHeld('bad.yaml')).toBe(true);
  });
});

describe('DesiredStore: lists by kind and values derived once per admission', () => {
  it('lists the objects of a kind in admission order, as a new array each time', () => {
    const s = new DesiredStore(referencesOf);
    s.replace(result([network('b'), provider('p'), network('a'), pool('v')]));
    expect(s.list('Network').map((n) => n.metadata.name)).toEqual(['b', 'a']);
    expect(s.list('Provider').map((n) => n.metadata.name)).toEqual(['p']);
    expect(s.list('Host')).toEqual([]);
    s.list('Network').sort((x, y) => (x.metadata.name < y.metadata.name ? -1 : 1));
    expect(s.list('Network').map((n) => n.metadata.name)).toEqual(['b', 'a']);
    s.replace(result([network('c')]));
    expect(s.list('Network').map((n) => n.metadata.name)).toEqual(['c']);
    expect(s.list('Provider')).toEqual([]);
  });

  it('memo computes once until the next replace, whatever it returned', () => {
    const s = new DesiredStore(referencesOf);
    s.replace(result([network('a')]));
    let runs = 0;
    const count = () => s.memo('count', () => (runs++, s.list('Network').length));
    expect([count(), count()]).toEqual([1, 1]);
    expect(runs).toBe(1);
    expect(s.memo('nothing', () => undefined)).toBeUndefined();
    s.replace(result([network('a'), network('b')]));
    expect(count()).toBe(2);
    expect(runs).toBe(2);
  });
});

describe('replace: an edit of a few frozen objects patches the indexes', () => {
  const frozen = <T>(o: T): T => JSON.parse(JSON.stringify(o), (_k, v: unknown) => (v && typeof v === 'object' ? Object.freeze(v) : v)) as T;
  const asResult = (objs: AnyResource[]): Pick<AdmissionResult, 'objects' | 'invalid' | 'heldFiles'> => ({
    objects: new Map(objs.map((o, i) => [keyOf(o), { key: keyOf(o), object: o, source: { file: 'f.yaml', documentIndex: i, line: 1 } }] as const)),
    invalid: new Map(),
    heldFiles: new Set(),
  });
  const snapshot = (s: DesiredStore) => ({
    networks: s.list('Network').map((n) => [n.metadata.name, n.spec.mtu, n.spec.providerRefs?.map((r) => r.name)]),
    providers: s.list('Provider').map((p) => p.metadata.name),
    referrers: ['a', 'b', 'c'].map((p) => s.referrers(`Provider/${p}`)),
    hashes: s.keys().map((k) => s.hashOf(k)),
  });

  it('gives what a store built from scratch gives, over edits, moves between providers, adds and removals', () => {
    const ps = ['a', 'b', 'c'].map((p) => frozen(provider(p)));
    let nets = Array.from({ length: 30 }, (_, i) => frozen(network(`n${i}`, { providers: [['a', 'b', 'c'][i % 3]!] })));
    const s = new DesiredStore(referencesOf);
    s.replace(asResult([...ps, ...nets]));
    const steps: ((n: Network[]) => Network[])[] = [
      (n) => n.map((x, i) => (i === 4 ? frozen(network('n4', { providers: ['c'], mtu: 9000 })) : x)),
      (n) => n.map((x, i) => (i === 7 || i === 8 ? frozen(network(x.metadata.name, { providers: ['a', 'b'] })) : x)),
      (n) => n.slice(1),
      (n) => [...n, frozen(network('n99', { providers: ['b'] }))],
      (n) => n.map((x) => x),
      (n) => n.map((x, i) => (i === 0 ? frozen(network(x.metadata.name, { providers: [] })) : x)),
      (n) => [...n].reverse(),
    ];
    for (const step of steps) {
      nets = step(nets);
      const changed = s.replace(asResult([...ps, ...nets]));
      const fresh = new DesiredStore(referencesOf);
      fresh.replace(asResult([...ps, ...nets]));
      expect(snapshot(s)).toEqual(snapshot(fresh));
      expect(changed.size).toBeLessThanOrEqual(31);
    }
  });
});
