// hostsCarrying: reused across admissions while what placement reads is unchanged, recomputed as soon
// as any of it changes — the same answers as a store built from scratch.
import { describe, expect, it } from 'vitest';
import { AdmissionCache, admit } from '../../state/admit.ts';
import { DesiredStore } from '../../state/store.ts';
import { referencesOf } from '../index.ts';
import { hostsCarrying } from './network.kind.ts';

const net = (name: string, o: { label?: string; physnet?: string; mtu?: number } = {}) => `apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: ${name}}
spec: {physicalNetwork: ${o.physnet ?? 'p1'}, mtu: ${o.mtu ?? 1500}${o.label ? `, label: ${o.label}` : ''}}
`;
const cluster = (nets: string[]) => `apiVersion: netform.io/v1alpha1
kind: Cluster
metadata: {name: c}
spec:
  networks: [${nets.map((n) => `{name: ${n}}`).join(', ')}]
`;
const host = (name: string, nics: string) => `apiVersion: netform.io/v1alpha1
kind: Host
metadata: {name: ${name}}
spec: {cluster: c, nics: ${nics}}
`;

type Files = Record<string, string>;
const BASE: Files = {
  'nets.yaml': [net('a', { label: 'x' }), net('b', { label: 'y' }), net('c'), net('d', { label: 'x', physnet: 'p2' })].join('---\n'),
  'cluster.yaml': cluster(['a', 'b', 'c', 'd']),
  'h1.yaml': host('h1', '[{name: eth0, labels: [x]}, {name: eth1, labels: [y], physicalNetworks: [p2]}]'),
  'h2.yaml': host('h2', '[{name: eth0, labels: [y]}]'),
};
const EDITS: [string, (f: Files) => Files][] = [
  ['an MTU', (f) => ({ ...f, 'nets.yaml': f['nets.yaml']!.replace('mtu: 1500, label: x', 'mtu: 9000, label: x') })],
  ['a label', (f) => ({ ...f, 'nets.yaml': f['nets.yaml']!.replace('label: y', 'label: x') })],
  ['a physical network', (f) => ({ ...f, 'nets.yaml': f['nets.yaml']!.replace('physicalNetwork: p2', 'physicalNetwork: p1') })],
  ["a host's labels", (f) => ({ ...f, 'h2.yaml': host('h2', '[{name: eth0, labels: [x, y]}]') })],
  ["the cluster's networks", (f) => ({ ...f, 'cluster.yaml': cluster(['a', 'b', 'd']) })],
  ['a new host', (f) => ({ ...f, 'h3.yaml': host('h3', '[{name: eth9, labels: [x]}]') })],
  ['nothing', (f) => ({ ...f })],
];

const toFiles = (f: Files) => Object.entries(f).sort().map(([path, text]) => ({ path, text }));
const answers = (store: DesiredStore) => Object.fromEntries(['a', 'b', 'c', 'd'].map((n) => [n, hostsCarrying({ store } as never, n)]));

describe('hostsCarrying across admissions', () => {
  it('answers as a store built from scratch after each kind of edit', () => {
    const cache = new AdmissionCache();
    const store = new DesiredStore(referencesOf);
    let files = BASE;
    store.replace(admit(toFiles(files), {}, { cache }));
    const seen: unknown[] = [answers(store)];
    for (const [, edit] of EDITS) {
      files = edit(files);
      const r = admit(toFiles(files), {}, { cache });
      expect(r.errors).toEqual([]);
      store.replace(r);
      // From scratch: objects that are not frozen are never taken for the same.
      const fresh = new DesiredStore(referencesOf);
      fresh.replace({ ...r, objects: new Map([...r.objects].map(([k, a]) => [k, { ...a, object: structuredClone(a.object) }])) });
      expect(answers(store)).toEqual(answers(fresh));
      seen.push(answers(store));
    }
    // The edits did move networks between hosts (the test is not vacuous).
    expect(new Set(seen.map((s) => JSON.stringify(s))).size).toBeGreaterThanOrEqual(4);
  });
});
