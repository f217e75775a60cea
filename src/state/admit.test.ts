import { describe, expect, it } from 'vitest';
import { admit, fieldPath, formatAdmissionError, type AdmissionContext } from './admit.ts';
import { MAX_MANIFEST_BYTES, type AdmissionError, type AdmissionResult, type ManifestFile } from '../api/objects.ts';
import { KINDS } from '../api/kinds.ts';

// ---------------------------------------------------------------------------
// Fixtures

/**
 * A valid set of objects the semantic cases refer to. Documents (index: line):
 * 0: Provider neutron-a (1), 1: Provider neutron-b (11), 2: Provider ucs (23, serves physnet1 only),
 * 3: VlanPool pool (35; physnet1 and physnet2 100-199, 100 reserved everywhere, 150-159 on physnet1),
 * 4: Network mgmt (55; physnet1 VLAN 10), 5: Network tenant (67; pool, namespace team-a),
 * 6: Network public (78; physnet2 VLAN 20, shared), 7: Network lab (88; physnet1 VLAN 30, shared, in no cluster),
 * 8: Cluster prod (98; mgmt, tenant, public), 9: Host hv1 (111; prod, eno1-3, bond0 = eno1+eno2).
 */
const BASE_TEXT = `apiVersion: netform.io/v1alpha1
kind: Provider
metadata:
  name: neutron-a
spec:
  type: neutron
  endpoint: http://127.0.0.1:9696
  neutron:
    auth: noauth
---
apiVersion: netform.io/v1alpha1
kind: Provider
metadata:
  name: neutron-b
spec:
  type: neutron
  endpoint: https://neutron.example.net:9696
  credentials:
    file: credentials.yaml
  neutron:
    authUrl: https://keystone.example.net:5000/v3
---
apiVersion: netform.io/v1alpha1
kind: Provider
metadata:
  name: ucs
spec:
  type: ucsm
  endpoint: https://ucsm.example.net
  credentials:
    secretRef:
      name: ucs-credentials
  physicalNetworks: [physnet1]
---
apiVersion: netform.io/v1alpha1
kind: VlanPool
metadata:
  name: pool
spec:
  ranges:
    - physicalNetwork: physnet1
      min: 100
      max: 199
    - physicalNetwork: physnet2
      min: 100
      max: 199
  reserved:
    - min: 100
      reason: native VLAN
    - min: 150
      max: 159
      physicalNetwork: physnet1
      reason: storage fabric
---
apiVersion: netform.io/v1alpha1
kind: Network
metadata:
  name: mgmt
spec:
  physicalNetwork: physnet1
  vlan:
    id: 10
  providerRefs:
    - name: neutron-a
    - name: ucs
---
apiVersion: netform.io/v1alpha1
kind: Network
metadata:
  name: tenant
spec:
  physicalNetwork: physnet1
  vlan:
    poolRef:
      name: pool
  allowedNamespaces: [team-a]
---
apiVersion: netform.io/v1alpha1
kind: Network
metadata:
  name: public
spec:
  physicalNetwork: physnet2
  vlan:
    id: 20
  shared: true
---
apiVersion: netform.io/v1alpha1
kind: Network
metadata:
  name: lab
spec:
  physicalNetwork: physnet1
  vlan:
    id: 30
  shared: true
---
apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: prod
spec:
  networks:
    - name: mgmt
      roles: [management, migration]
    - name: tenant
      roles: [vm]
    - name: public
      roles: [vm]
---
apiVersion: netform.io/v1alpha1
kind: Host
metadata:
  name: hv1
spec:
  cluster: prod
  nics:
    - name: eno1
    - name: eno2
    - name: eno3
  bonds:
    - name: bond0
      mode: active-backup
      members: [eno1, eno2]
  networks:
    - name: mgmt
      interface: bond0
`;

const BASE: ManifestFile = { path: 'base.yaml', text: BASE_TEXT };
const BASE_KEYS = [
  'Provider/neutron-a',
  'Provider/neutron-b',
  'Provider/ucs',
  'VlanPool/pool',
  'Network/mgmt',
  'Network/tenant',
  'Network/public',
  'Network/lab',
  'Cluster/prod',
  'Host/hv1',
];

/** The base objects plus one file under test, `case.yaml`. */
const withBase = (text: string): ManifestFile[] => [BASE, { path: 'case.yaml', text }];
/** Just one file under test, `case.yaml`. */
const alone = (text: string): ManifestFile[] => [{ path: 'case.yaml', text }];

/** An expected error: `file` defaults to case.yaml; `column` is compared only when given; `message`
 *  is a substring; every other field must be exactly as given (absent means absent). */
interface Expected {
  file?: string;
  documentIndex?: number;
  line: number;
  column?: number;
  key?: string;
  field?: string;
  message: string;
}

interface Case {
  files: ManifestFile[];
  ctx?: AdmissionContext;
  errors: Expected[];
  /** Keys that must be admitted (besides, with the base, every base key without an error). */
  admitted?: string[];
}

function expectErrors(r: AdmissionResult, expected: readonly Expected[]): void {
  const strip = (e: AdmissionError, i: number) => {
    const { message: _m, ...rest } = e;
    if (expected[i]?.column === undefined) delete rest.column;
    return rest;
  };
  expect(r.errors.map(strip)).toEqual(expected.map(({ message: _m, ...rest }) => ({ file: 'case.yaml', ...rest })));
  expect(r.errors.map((e) => e.message)).toEqual(expected.map((x) => expect.stringContaining(x.message)));
}

/** Checks the errors, and the bookkeeping every result must satisfy. */
function check(c: Case): AdmissionResult {
  const r = admit(c.files, c.ctx);
  expectErrors(r, c.errors);
  // Files with errors are held, and only those.
  expect([...r.heldFiles].sort()).toEqual([...new Set(c.errors.map((e) => e.file ?? 'case.yaml'))].sort());
  // Every error that names an object makes that object invalid, with exactly its errors.
  const byKey = new Map<string, AdmissionError[]>();
  for (const e of r.errors) if (e.key) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e]);
  expect([...r.invalid.keys()].sort()).toEqual([...byKey.keys()].sort());
  for (const [key, errs] of byKey) {
    expect(r.invalid.get(key)).toEqual(expect.arrayContaining(errs));
    expect(r.invalid.get(key)).toHaveLength(errs.length);
    expect(r.objects.has(key)).toBe(false);
  }
  // An invalid object never stops the valid ones.
  const mustAdmit = [...(c.files.includes(BASE) ? BASE_KEYS.filter((k) => !byKey.has(k)) : []), ...(c.admitted ?? [])];
  for (const key of mustAdmit) expect(r.objects.has(key), `${key} admitted`).toBe(true);
  return r;
}

// ---------------------------------------------------------------------------

describe('the base fixture', () => {
  it('is valid on its own', () => {
    const r = admit([BASE]);
    expect(r.errors).toEqual([]);
    expect([...r.objects.keys()]).toEqual(BASE_KEYS);
    expect([...r.objects.values()].map((o) => [o.source.documentIndex, o.source.line])).toEqual([
      [0, 1],
      [1, 11],
      [2, 23],
      [3, 35],
      [4, 55],
      [5, 67],
      [6, 78],
      [7, 88],
      [8, 98],
      [9, 111],
    ]);
    expect(r.heldFiles.size).toBe(0);
    expect(r.invalid.size).toBe(0);
    expect(r.skipped).toEqual([]);
  });
});

describe('documents: syntax, shape and identity', () => {
  it.each<[string, Case]>([
    [
      'YAML syntax error in the second document of a file',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: one
spec: {}
---
apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: two: three
spec: {}
`),
        errors: [{ documentIndex: 1, line: 10, column: 12, field: 'metadata.name', message: 'YAML syntax error: bad indentation of a mapping entry' }],
      },
    ],
    [
      'tab indentation',
      {
        files: alone('apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: one\nspec:\n\tnetworks: []\n'),
        errors: [{ documentIndex: 0, line: 6, column: 1, field: 'spec', message: 'YAML syntax error: tab characters must not be used in indentation' }],
      },
    ],
    [
      'documents that are not mappings',
      {
        files: alone(`- apiVersion: netform.io/v1alpha1
  kind: Cluster
---
just a string
---
---
42
`),
        errors: [
          { documentIndex: 0, line: 1, column: 1, field: '(document)', message: 'a document must be a mapping with apiVersion, kind, metadata and spec' },
          { documentIndex: 1, line: 4, column: 1, field: '(document)', message: 'a document must be a mapping' },
          { documentIndex: 3, line: 7, column: 1, field: '(document)', message: 'a document must be a mapping' },
        ],
      },
    ],
    [
      'missing apiVersion (kind given)',
      {
        files: alone(`# a comment line
kind: Network
metadata:
  name: n1
spec:
  physicalNetwork: physnet1
`),
        errors: [{ documentIndex: 0, line: 2, column: 1, field: 'apiVersion', message: 'is required' }],
      },
    ],
    [
      'apiVersion that is not a string',
      {
        files: alone(`apiVersion: 1
kind: Network
`),
        errors: [{ documentIndex: 0, line: 1, column: 1, field: 'apiVersion', message: 'is required' }],
      },
    ],
    [
      'a version of netform.io that is not served',
      {
        files: alone(`kind: Network
apiVersion: netform.io/v1
metadata:
  name: n1
spec:
  physicalNetwork: physnet1
`),
        errors: [{ documentIndex: 0, line: 2, column: 1, field: 'apiVersion', message: '"netform.io/v1" is not served; use netform.io/v1alpha1' }],
      },
    ],
    [
      'netform.io without a version',
      {
        files: alone(`apiVersion: netform.io/
kind: Network
`),
        errors: [{ documentIndex: 0, line: 1, column: 1, field: 'apiVersion', message: '"netform.io/" is not served' }],
      },
    ],
    [
      'unknown kind',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: Subnet
metadata:
  name: s1
`),
        errors: [
          {
            documentIndex: 0,
            line: 2,
            column: 1,
            field: 'kind',
            message: `"Subnet" is not a netform kind (${KINDS.join(', ')})`,
          },
        ],
      },
    ],
    [
      'kind in the wrong case',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: network
`),
        errors: [{ documentIndex: 0, line: 2, column: 1, field: 'kind', message: '"network" is not a netform kind' }],
      },
    ],
    [
      'missing kind',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
metadata:
  name: s1
`),
        errors: [{ documentIndex: 0, line: 1, column: 1, field: 'kind', message: '"undefined" is not a netform kind' }],
      },
    ],
    [
      'missing metadata',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: Cluster
spec: {}
`),
        errors: [{ documentIndex: 0, line: 1, column: 1, field: 'metadata', message: 'is required and must be a mapping with a name' }],
      },
    ],
    [
      'metadata that is a list',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  - name: c1
spec: {}
`),
        errors: [{ documentIndex: 0, line: 3, column: 1, field: 'metadata', message: 'is required and must be a mapping' }],
      },
    ],
    [
      'missing metadata.name',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  labels: {a: b}
spec: {}
`),
        errors: [{ documentIndex: 0, line: 3, column: 1, field: 'metadata.name', message: 'is required' }],
      },
    ],
    [
      'empty metadata.name',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: ""
spec: {}
`),
        errors: [{ documentIndex: 0, line: 4, column: 3, field: 'metadata.name', message: 'is required' }],
      },
    ],
    [
      'uppercase Network name',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: Network
metadata:
  name: Web
spec:
  physicalNetwork: physnet1
`),
        errors: [
          {
            documentIndex: 0,
            line: 4,
            column: 3,
            field: 'metadata.name',
            message: `"Web" is not a valid network name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`,
          },
        ],
      },
    ],
    [
      'uppercase Cluster name',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: Prod
spec: {}
`),
        errors: [
          {
            documentIndex: 0,
            line: 4,
            column: 3,
            field: 'metadata.name',
            message: `"Prod" is not a valid name: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (at most 253)`,
          },
        ],
      },
    ],
    [
      'Network name of 64 characters',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: Network
metadata:
  name: ${'n'.repeat(64)}
spec:
  physicalNetwork: physnet1
`),
        errors: [{ documentIndex: 0, line: 4, column: 3, field: 'metadata.name', message: `"${'n'.repeat(64)}" is not a valid network name` }],
      },
    ],
    [
      'Network name with a dot',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: Network
metadata:
  name: web.prod
spec:
  physicalNetwork: physnet1
`),
        errors: [{ documentIndex: 0, line: 4, column: 3, field: 'metadata.name', message: '"web.prod" is not a valid network name' }],
      },
    ],
    [
      'Network name ending in a dash',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: Network
metadata:
  name: web-
spec:
  physicalNetwork: physnet1
`),
        errors: [{ documentIndex: 0, line: 4, column: 3, field: 'metadata.name', message: '"web-" is not a valid network name' }],
      },
    ],
    [
      'Host name of 254 characters',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: Host
metadata:
  name: ${'h'.repeat(254)}
spec:
  cluster: prod
`),
        errors: [{ documentIndex: 0, line: 4, column: 3, field: 'metadata.name', message: 'is not a valid name' }],
      },
    ],
    [
      'Host name with an underscore',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: Host
metadata:
  name: hv_1
spec:
  cluster: prod
`),
        errors: [{ documentIndex: 0, line: 4, column: 3, field: 'metadata.name', message: '"hv_1" is not a valid name' }],
      },
    ],
    [
      'namespace on a cluster-scoped kind',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: Network
metadata:
  name: web
  namespace: team-a
spec:
  physicalNetwork: physnet1
`),
        errors: [{ documentIndex: 0, line: 5, column: 3, field: 'metadata.namespace', message: 'Network is cluster-scoped and takes no namespace' }],
      },
    ],
    [
      'invalid namespace on a VnicAttachment',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: VnicAttachment
metadata:
  name: web1-nic1
  namespace: Team_A
spec: {}
`),
        errors: [
          {
            documentIndex: 0,
            line: 5,
            column: 3,
            field: 'metadata.namespace',
            message: `"Team_A" is not a valid namespace: use at most 63 lowercase letters, digits and '-'`,
          },
        ],
      },
    ],
    [
      'unknown top-level field (and so no spec)',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: c1
specification: {}
`),
        errors: [
          { documentIndex: 0, line: 1, column: 1, key: 'Cluster/c1', field: 'spec', message: 'is required' },
          { documentIndex: 0, line: 5, column: 1, key: 'Cluster/c1', field: 'specification', message: 'is not a known field' },
        ],
      },
    ],
    [
      'labels that are not strings',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: c1
  labels:
    tier: 1
spec: {}
`),
        errors: [{ documentIndex: 0, line: 3, column: 1, key: 'Cluster/c1', field: 'metadata', message: 'labels and annotations must map strings to strings' }],
      },
    ],
    [
      'annotations that are a list',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: c1
  labels: {tier: web}
  annotations: [a, b]
spec: {}
`),
        errors: [{ documentIndex: 0, line: 3, column: 1, key: 'Cluster/c1', field: 'metadata', message: 'labels and annotations must map strings to strings' }],
      },
    ],
  ])('%s', (_name, c) => {
    const r = check(c);
    expect(r.objects.size).toBe(0);
  });

  it('a duplicate mapping key refuses its document only: the key is named, the other documents are admitted', () => {
    // A document that parses but is refused (duplicate key, circular alias, alias budget) does not
    // take the rest of the file with it; the file is held all the same.
    const r = check({
      files: alone(`apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: one
spec: {}
---
apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: two
spec: {}
---
apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: three
  name: four
spec: {}
`),
      admitted: ['Cluster/one', 'Cluster/two'],
      errors: [{ documentIndex: 2, line: 17, column: 3, field: 'metadata.name', message: 'YAML syntax error: duplicated mapping key "name"' }],
    });
    expect([...r.objects.keys()]).toEqual(['Cluster/one', 'Cluster/two']);
    expect(formatAdmissionError(r.errors[0]!)).toBe('case.yaml:17:3: document 3: YAML syntax error: metadata.name: duplicated mapping key "name"');
  });

  it('a syntax error holds the whole file: no object of it is admitted, other files are', () => {
    const r = check({
      files: [
        ...alone(`apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: one
spec: {}
---
apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: [two
`),
        { path: 'other.yaml', text: 'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: three\nspec: {}\n' },
      ],
      errors: [{ documentIndex: 1, line: 11, column: 1, field: '(document)', message: 'YAML syntax error' }],
      admitted: ['Cluster/three'],
    });
    expect([...r.objects.keys()]).toEqual(['Cluster/three']);
    expect(r.invalid.size).toBe(0);
  });

  it('skips documents of other API groups and documents with neither apiVersion nor kind', () => {
    const r = check({
      files: [
        ...alone(`apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data: {a: b}
---
apiVersion: apps/v1
kind: Deployment
---
# a credentials file kept next to the manifests
username: admin
password: secret
---
apiVersion: netform.io.example.com/v1alpha1
kind: Network
---
apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: c1
spec: {}
---
{}
`),
      ],
      errors: [],
      admitted: ['Cluster/c1'],
    });
    expect(r.skipped).toEqual([
      { file: 'case.yaml', documentIndex: 0, line: 1, what: 'v1 ConfigMap' },
      { file: 'case.yaml', documentIndex: 1, line: 7, what: 'apps/v1 Deployment' },
      { file: 'case.yaml', documentIndex: 2, line: 11, what: 'a document with neither apiVersion nor kind' },
      { file: 'case.yaml', documentIndex: 3, line: 14, what: 'netform.io.example.com/v1alpha1 Network' },
      { file: 'case.yaml', documentIndex: 5, line: 23, what: 'a document with neither apiVersion nor kind' },
    ]);
    expect([...r.objects.keys()]).toEqual(['Cluster/c1']);
  });

  it('ignores empty documents and comment-only files', () => {
    const r = admit([
      { path: 'a.yaml', text: '---\n---\n# nothing\n---\n' },
      { path: 'b.yaml', text: '# only a comment\n' },
      { path: 'c.yaml', text: '' },
    ]);
    expect(r.errors).toEqual([]);
    expect(r.skipped).toEqual([]);
    expect(r.objects.size).toBe(0);
  });

  it.each<[string, string, string]>([
    ['a Network name of 63 characters', 'Network', 'n'.repeat(63)],
    ['a Network name with digits and dashes', 'Network', '0-web-1'],
    ['a Cluster name with dots', 'Cluster', 'prod.example.net'],
    ['a Host name of 253 characters', 'Host', `${'h'.repeat(126)}.${'h'.repeat(126)}`],
    ['a Provider name of one character', 'Provider', 'p'],
  ])('accepts %s', (_what, kind, name) => {
    const spec = {
      Network: 'spec:\n  physicalNetwork: physnet1\n',
      Cluster: 'spec: {}\n',
      Host: 'spec:\n  cluster: prod\n',
      Provider: 'spec:\n  type: neutron\n  endpoint: http://127.0.0.1:9696\n  neutron: {auth: noauth}\n',
    }[kind];
    const text = `apiVersion: netform.io/v1alpha1\nkind: ${kind}\nmetadata:\n  name: ${name}\n${spec}`;
    const r = admit([{ path: 'a.yaml', text }], { alsoDeclared: new Set(['Cluster/prod']) });
    expect(r.errors).toEqual([]);
    expect([...r.objects.keys()]).toEqual([`${kind}/${name}`]);
  });

  it('puts a VnicAttachment without namespace in namespace default', () => {
    const r = check({
      files: withBase(`apiVersion: netform.io/v1alpha1
kind: VnicAttachment
metadata:
  name: web1-nic1
spec:
  vm:
    name: web1
  interfaceName: nic1
  network: public
  host: hv1
---
apiVersion: netform.io/v1alpha1
kind: VnicAttachment
metadata:
  name: web1-nic1
  namespace: team-a
spec:
  vm:
    name: web1
  interfaceName: nic1
  network: tenant
  host: hv1
`),
      errors: [],
      admitted: ['VnicAttachment/default/web1-nic1', 'VnicAttachment/team-a/web1-nic1'],
    });
    expect(r.objects.get('VnicAttachment/default/web1-nic1')!.object.metadata).toEqual({ name: 'web1-nic1', namespace: 'default' });
    expect(r.objects.get('VnicAttachment/team-a/web1-nic1')!.object.metadata).toEqual({ name: 'web1-nic1', namespace: 'team-a' });
  });

  it('keeps labels and annotations, and drops everything else of metadata and status', () => {
    const r = admit([
      {
        path: 'a.yaml',
        text: `apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: c1
  labels: {tier: web}
  annotations: {note: hello}
  uid: 1234
spec: {}
status:
  hosts: 3
`,
      },
    ]);
    expect(r.errors).toEqual([]);
    expect(r.objects.get('Cluster/c1')).toEqual({
      key: 'Cluster/c1',
      object: {
        apiVersion: 'netform.io/v1alpha1',
        kind: 'Cluster',
        metadata: { name: 'c1', labels: { tier: 'web' }, annotations: { note: 'hello' } },
        spec: { defaultFabric: 'linux-bridge' },
      },
      source: { file: 'a.yaml', documentIndex: 0, line: 1 },
    });
  });
});

describe('schema errors, with field paths and positions', () => {
  /** A Network `n1` whose spec starts on line 6. */
  const net = (spec: string) => `apiVersion: netform.io/v1alpha1
kind: Network
metadata:
  name: n1
spec:
${spec}`;
  const N1 = 'Network/n1';

  it.each<[string, Case]>([
    [
      'missing spec',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: Network
metadata:
  name: n1
`),
        errors: [{ documentIndex: 0, line: 1, column: 1, key: N1, field: 'spec', message: 'is required' }],
      },
    ],
    [
      'spec that is a list',
      {
        files: alone(net('  - physicalNetwork: physnet1\n')),
        errors: [{ documentIndex: 0, line: 5, column: 1, key: N1, field: 'spec', message: 'must be of type object' }],
      },
    ],
    [
      'unknown field in spec',
      {
        files: alone(net('  physicalNetwork: physnet1\n  colour: blue\n')),
        errors: [{ documentIndex: 0, line: 7, column: 3, key: N1, field: 'spec.colour', message: 'is not a known field' }],
      },
    ],
    [
      'unknown field in a list item',
      {
        files: alone(
          net(`  physicalNetwork: physnet1
  subnets:
    - name: a
      cidr: 10.0.0.0/24
    - name: b
      cidr: 10.0.1.0/24
      gw: 10.0.1.1
`),
        ),
        errors: [{ documentIndex: 0, line: 12, column: 7, key: N1, field: 'spec.subnets[1].gw', message: 'is not a known field' }],
      },
    ],
    [
      'enum',
      {
        files: alone(net('  physicalNetwork: physnet1\n  managementPolicy: Sometimes\n')),
        errors: [{ documentIndex: 0, line: 7, column: 3, key: N1, field: 'spec.managementPolicy', message: 'must be one of "Managed", "ObserveOnly"' }],
      },
    ],
    [
      'minimum',
      {
        files: alone(net('  physicalNetwork: physnet1\n  mtu: 67\n')),
        errors: [{ documentIndex: 0, line: 7, column: 3, key: N1, field: 'spec.mtu', message: 'must be >= 68' }],
      },
    ],
    [
      'maximum',
      {
        files: alone(net('  physicalNetwork: physnet1\n  vlan:\n    id: 4095\n')),
        errors: [{ documentIndex: 0, line: 8, column: 5, key: N1, field: 'spec.vlan.id', message: 'must be <= 4094' }],
      },
    ],
    [
      'required',
      {
        files: alone(net('  mtu: 9000\n')),
        errors: [{ documentIndex: 0, line: 5, column: 1, key: N1, field: 'spec.physicalNetwork', message: 'is required' }],
      },
    ],
    [
      'required in a list item',
      {
        files: alone(net('  physicalNetwork: physnet1\n  subnets:\n    - name: a\n')),
        errors: [{ documentIndex: 0, line: 8, column: 7, key: N1, field: 'spec.subnets[0].cidr', message: 'is required' }],
      },
    ],
    [
      'type',
      {
        files: alone(net('  physicalNetwork: physnet1\n  mtu: "9000"\n  shared: yes\n')),
        errors: [
          { documentIndex: 0, line: 7, column: 3, key: N1, field: 'spec.mtu', message: 'must be of type integer' },
          { documentIndex: 0, line: 8, column: 3, key: N1, field: 'spec.shared', message: 'must be of type boolean' },
        ],
      },
    ],
    [
      'vlan with both id and poolRef',
      {
        files: alone(net('  physicalNetwork: physnet1\n  vlan:\n    id: 10\n    poolRef:\n      name: pool\n')),
        errors: [{ documentIndex: 0, line: 7, column: 3, key: N1, field: 'spec.vlan', message: 'must set only one of id, poolRef, not several' }],
      },
    ],
    [
      'vlan with neither id nor poolRef',
      {
        files: alone(net('  physicalNetwork: physnet1\n  vlan: {}\n')),
        errors: [{ documentIndex: 0, line: 7, column: 3, key: N1, field: 'spec.vlan', message: 'needs exactly one of id, poolRef' }],
      },
    ],
    [
      'vlan left empty',
      {
        files: alone(net('  physicalNetwork: physnet1\n  vlan:\n  mtu: 9000\n')),
        errors: [{ documentIndex: 0, line: 7, column: 3, key: N1, field: 'spec.vlan', message: 'must be of type object' }],
      },
    ],
    [
      'unknown fields whose names hold a slash (mis-indented labels), in spec and at the top level',
      {
        files: alone(net('  physicalNetwork: physnet1\n  app.kubernetes.io/name: web\napp.kubernetes.io/part-of: shop\n')),
        errors: [
          { documentIndex: 0, line: 7, column: 3, key: N1, field: 'spec.app.kubernetes.io/name', message: 'is not a known field' },
          { documentIndex: 0, line: 8, column: 1, key: N1, field: 'app.kubernetes.io/part-of', message: 'is not a known field' },
        ],
      },
    ],
    [
      'two subnets with the same name',
      {
        files: alone(
          net(`  physicalNetwork: physnet1
  subnets:
    - name: a
      cidr: 10.0.0.0/24
    - name: a
      cidr: 10.0.1.0/24
`),
        ),
        errors: [{ documentIndex: 0, line: 10, column: 7, key: N1, field: 'spec.subnets[1]', message: 'duplicate entry: name=a already given at index 0' }],
      },
    ],
    [
      'a provider referenced twice',
      {
        files: alone(net('  physicalNetwork: physnet1\n  providerRefs: [{name: os}, {name: os}]\n')),
        errors: [{ documentIndex: 0, line: 7, column: 30, key: N1, field: 'spec.providerRefs[1]', message: 'duplicate entry: name=os already given at index 0' }],
      },
    ],
    [
      'invalid cidr',
      {
        files: alone(net('  physicalNetwork: physnet1\n  subnets:\n    - name: a\n      cidr: 10.0.0.0/33\n')),
        errors: [{ documentIndex: 0, line: 9, column: 7, key: N1, field: 'spec.subnets[0].cidr', message: 'is not a valid cidr' }],
      },
    ],
    [
      'pattern',
      {
        files: alone(net('  physicalNetwork: -physnet1\n')),
        errors: [{ documentIndex: 0, line: 6, column: 3, key: N1, field: 'spec.physicalNetwork', message: 'does not match the pattern' }],
      },
    ],
    [
      'errors of several kinds in one file, in document and line order',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: Provider
metadata:
  name: p1
spec:
  type: openstack
  endpoint: neutron.example.net
---
apiVersion: netform.io/v1alpha1
kind: VlanPool
metadata:
  name: p2
spec:
  ranges: []
---
apiVersion: netform.io/v1alpha1
kind: Host
metadata:
  name: hv9
spec:
  cluster: prod
  bonds:
    - name: bond0
      mode: lacp
      members: []
---
apiVersion: netform.io/v1alpha1
kind: VnicAttachment
metadata:
  name: v1
  namespace: team-a
spec:
  vm: {name: web1}
  interfaceName: nic1
  network: public
  host: hv1
  mac: 56-6f-00-00-00-01
`),
        errors: [
          { documentIndex: 0, line: 6, column: 3, key: 'Provider/p1', field: 'spec.type', message: 'must be one of "neutron", "ucsm"' },
          { documentIndex: 0, line: 7, column: 3, key: 'Provider/p1', field: 'spec.endpoint', message: 'does not match the pattern' },
          { documentIndex: 1, line: 14, column: 3, key: 'VlanPool/p2', field: 'spec.ranges', message: 'must NOT have fewer than 1 items' },
          { documentIndex: 2, line: 24, column: 7, key: 'Host/hv9', field: 'spec.bonds[0].mode', message: 'must be one of "balance-rr"' },
          { documentIndex: 2, line: 25, column: 7, key: 'Host/hv9', field: 'spec.bonds[0].members', message: 'must NOT have fewer than 1 items' },
          { documentIndex: 3, line: 37, column: 3, key: 'VnicAttachment/team-a/v1', field: 'spec.mac', message: 'does not match the pattern' },
          { documentIndex: 3, line: 37, column: 3, key: 'VnicAttachment/team-a/v1', field: 'spec.mac', message: 'is not a valid mac' },
        ],
      },
    ],
  ])('%s', (_name, c) => {
    const r = check(c);
    expect(r.objects.size).toBe(0);
  });

  it('applies schema defaults to admitted objects', () => {
    const r = check({
      files: withBase(`apiVersion: netform.io/v1alpha1
kind: Network
metadata:
  name: web
spec:
  physicalNetwork: physnet2
  vlan:
    id: 21
  subnets:
    - name: web-v4
      cidr: 192.0.2.0/24
    - name: web-v6
      cidr: 2001:db8::/64
      dhcp: false
---
apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: dev
spec:
  networks:
    - name: web
---
apiVersion: netform.io/v1alpha1
kind: Host
metadata:
  name: hv9
spec:
  cluster: dev
---
apiVersion: netform.io/v1alpha1
kind: VnicAttachment
metadata:
  name: v1
spec:
  vm: {name: web1}
  interfaceName: nic1
  network: public
  host: hv1
---
apiVersion: netform.io/v1alpha1
kind: Provider
metadata:
  name: ucs2
spec:
  type: ucsm
  endpoint: https://ucsm2.example.net
  credentials: {file: c.yaml}
  ucsm: {}
  tls: {}
`),
      errors: [],
    });
    expect(r.objects.get('Network/web')!.object.spec).toEqual({
      physicalNetwork: 'physnet2',
      vlan: { id: 21 },
      subnets: [
        { name: 'web-v4', cidr: '192.0.2.0/24', dhcp: true },
        { name: 'web-v6', cidr: '2001:db8::/64', dhcp: false },
      ],
      mtu: 1500,
      shared: false,
      adminStateUp: true,
      portSecurity: true,
      portMirroring: false,
      managementPolicy: 'Managed',
      deletionPolicy: 'Delete',
      allowReplace: false,
      approval: 'Auto',
      external: false,
    });
    expect(r.objects.get('Cluster/dev')!.object.spec).toEqual({ defaultFabric: 'linux-bridge', networks: [{ name: 'web', required: true }] });
    expect(r.objects.get('Host/hv9')!.object.spec).toEqual({ cluster: 'dev', syncPolicy: 'Auto', approval: 'Auto', agentTimeoutSeconds: 180 });
    expect(r.objects.get('VnicAttachment/default/v1')!.object.spec).toEqual({
      vm: { name: 'web1' },
      interfaceName: 'nic1',
      network: 'public',
      host: 'hv1',
      plugged: true,
      linked: true,
      managementPolicy: 'Managed',
      deletionPolicy: 'Delete',
    });
    expect(r.objects.get('Provider/ucs2')!.object.spec).toEqual({
      type: 'ucsm',
      endpoint: 'https://ucsm2.example.net',
      credentials: { file: 'c.yaml' },
      ucsm: { vlanNamePrefix: 'nf-', portProfilePrefix: 'nf-pp-', vnics: ['eth0', 'eth1'], maxPorts: 64 },
      tls: { insecureSkipVerify: false },
      requestTimeoutSeconds: 30,
      maxConcurrency: 4,
      approval: 'Auto',
    });
  });

  it('keeps given values over defaults', () => {
    const r = check({
      files: alone(net('  physicalNetwork: physnet1\n  mtu: 9000\n  managementPolicy: ObserveOnly\n')),
      errors: [],
      admitted: ['Network/n1'],
    });
    expect(r.objects.get('Network/n1')!.object.spec).toMatchObject({ mtu: 9000, managementPolicy: 'ObserveOnly' });
  });
});

describe('semantic errors', () => {
  const NET_HEAD = 'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata:\n  name: n1\nspec:\n';
  /** Network `n1` with the spec lines given; its spec starts on line 6. */
  const net = (spec: string) => NET_HEAD + spec;
  const N1 = 'Network/n1';
  const HOST_HEAD = 'apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata:\n  name: hv2\nspec:\n';
  const HV2 = 'Host/hv2';

  it.each<[string, Case]>([
    // References.
    [
      'Network -> Provider that does not exist',
      {
        files: withBase(net('  physicalNetwork: physnet1\n  providerRefs:\n    - name: nope\n')),
        errors: [{ documentIndex: 0, line: 8, column: 7, key: N1, field: 'spec.providerRefs[0].name', message: 'Provider "nope" does not exist' }],
      },
    ],
    [
      'Network -> VlanPool that does not exist',
      {
        files: withBase(net('  physicalNetwork: physnet1\n  vlan:\n    poolRef:\n      name: nope\n')),
        errors: [{ documentIndex: 0, line: 9, column: 7, key: N1, field: 'spec.vlan.poolRef.name', message: 'VlanPool "nope" does not exist' }],
      },
    ],
    [
      'Network -> VlanPool without a range on its physical network',
      {
        files: withBase(net('  physicalNetwork: physnet3\n  vlan:\n    poolRef:\n      name: pool\n')),
        errors: [
          { documentIndex: 0, line: 9, column: 7, key: N1, field: 'spec.vlan.poolRef.name', message: 'VlanPool "pool" has no range on physical network "physnet3"' },
        ],
      },
    ],
    [
      'Cluster -> Network that does not exist',
      {
        files: withBase(`apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: dev
spec:
  networks:
    - name: mgmt
    - name: nope
`),
        errors: [{ documentIndex: 0, line: 8, column: 7, key: 'Cluster/dev', field: 'spec.networks[1].name', message: 'Network "nope" does not exist' }],
      },
    ],
    [
      'Host -> Cluster that does not exist (placements are then not checked against it)',
      {
        files: withBase(HOST_HEAD + '  cluster: nope\n  nics:\n    - name: eno1\n  networks:\n    - name: lab\n      interface: eno1\n'),
        errors: [{ documentIndex: 0, line: 6, column: 3, key: HV2, field: 'spec.cluster', message: 'Cluster "nope" does not exist' }],
      },
    ],
    [
      'Host placements: not attached, unknown network, unknown interface, enslaved NIC',
      {
        files: withBase(
          HOST_HEAD +
            `  cluster: prod
  nics:
    - name: eno1
    - name: eno2
    - name: eno3
  bonds:
    - name: bond0
      mode: active-backup
      members: [eno1, eno2]
  networks:
    - name: lab
      interface: bond0
    - name: nope
      interface: eth9
    - name: public
      interface: eno1
    - name: mgmt
      interface: eno3
`,
        ),
        errors: [
          { documentIndex: 0, line: 16, column: 7, key: HV2, field: 'spec.networks[0].name', message: 'Network "lab" is not attached to cluster "prod"' },
          { documentIndex: 0, line: 18, column: 7, key: HV2, field: 'spec.networks[1].name', message: 'Network "nope" does not exist' },
          { documentIndex: 0, line: 19, column: 7, key: HV2, field: 'spec.networks[1].interface', message: '"eth9" is neither a NIC nor a bond of this host' },
          {
            documentIndex: 0,
            line: 21,
            column: 7,
            key: HV2,
            field: 'spec.networks[2].interface',
            message: 'NIC "eno1" is a member of bond "bond0"; place the network on the bond',
          },
        ],
      },
    ],
    [
      'Host bonds: member that is not a NIC, NIC in two bonds, bond named like a NIC',
      {
        files: withBase(
          HOST_HEAD +
            `  cluster: prod
  nics:
    - name: eno1
    - name: eno2
    - name: eno3
  bonds:
    - name: bond0
      mode: active-backup
      members: [eno1, eno2, eno4]
    - name: bond1
      mode: 802.3ad
      members: [eno3, eno2]
    - name: eno3
      mode: active-backup
      members: [bond0]
`,
        ),
        errors: [
          { documentIndex: 0, line: 14, column: 29, key: HV2, field: 'spec.bonds[0].members[2]', message: '"eno4" is not a NIC of this host' },
          { documentIndex: 0, line: 17, column: 23, key: HV2, field: 'spec.bonds[1].members[1]', message: 'NIC "eno2" is already a member of bond "bond0"' },
          { documentIndex: 0, line: 18, column: 7, key: HV2, field: 'spec.bonds[2].name', message: '"eno3" is also the name of a NIC' },
          { documentIndex: 0, line: 20, column: 17, key: HV2, field: 'spec.bonds[2].members[0]', message: '"bond0" is not a NIC of this host' },
        ],
      },
    ],
    [
      'Host addresses and probes',
      {
        files: withBase(
          HOST_HEAD +
            `  cluster: prod
  address: hv2.example.net
  nics:
    - name: eno1
  networks:
    - name: public
      interface: eno1
      address: 10.0.0.5
  probes:
    - address: 10.0.0.1
      network: nope
    - address: gateway
`,
        ),
        errors: [
          { documentIndex: 0, line: 7, column: 3, key: HV2, field: 'spec.address', message: '"hv2.example.net" is not an IP address' },
          { documentIndex: 0, line: 13, column: 7, key: HV2, field: 'spec.networks[0].address', message: '"10.0.0.5" is not an address in CIDR notation' },
          { documentIndex: 0, line: 16, column: 7, key: HV2, field: 'spec.probes[0].network', message: 'Network "nope" does not exist' },
          { documentIndex: 0, line: 17, column: 7, key: HV2, field: 'spec.probes[1].address', message: '"gateway" is not an IP address' },
        ],
      },
    ],
    [
      'VnicAttachment -> Network and Host that do not exist',
      {
        files: withBase(`apiVersion: netform.io/v1alpha1
kind: VnicAttachment
metadata:
  name: v1
spec:
  vm: {name: web1}
  interfaceName: nic1
  network: nope
  host: hv9
`),
        errors: [
          { documentIndex: 0, line: 8, column: 3, key: 'VnicAttachment/default/v1', field: 'spec.network', message: 'Network "nope" does not exist' },
          { documentIndex: 0, line: 9, column: 3, key: 'VnicAttachment/default/v1', field: 'spec.host', message: 'Host "hv9" does not exist' },
        ],
      },
    ],
    [
      'VnicAttachment on a network that is not attached to the cluster of its host',
      {
        files: withBase(`apiVersion: netform.io/v1alpha1
kind: VnicAttachment
metadata:
  name: v1
  namespace: team-a
spec:
  vm: {name: web1}
  interfaceName: nic1
  network: lab
  host: hv1
`),
        errors: [
          {
            documentIndex: 0,
            line: 9,
            column: 3,
            key: 'VnicAttachment/team-a/v1',
            field: 'spec.network',
            message: 'Network "lab" is not attached to cluster "prod" of host "hv1"',
          },
        ],
      },
    ],
    // Tenancy.
    [
      'VnicAttachment in a namespace a non-shared network does not allow',
      {
        files: withBase(`apiVersion: netform.io/v1alpha1
kind: VnicAttachment
metadata:
  name: v1
  namespace: team-b
spec:
  vm: {name: web1}
  interfaceName: nic1
  network: tenant
  host: hv1
`),
        errors: [
          {
            documentIndex: 0,
            line: 9,
            column: 3,
            key: 'VnicAttachment/team-b/v1',
            field: 'spec.network',
            message: 'Network "tenant" is neither shared nor open to namespace "team-b"',
          },
        ],
      },
    ],
    [
      'VnicAttachment in the default namespace on a non-shared network',
      {
        files: withBase(`apiVersion: netform.io/v1alpha1
kind: VnicAttachment
metadata:
  name: v1
spec:
  vm: {name: web1}
  interfaceName: nic1
  network: tenant
  host: hv1
`),
        errors: [
          {
            documentIndex: 0,
            line: 8,
            column: 3,
            key: 'VnicAttachment/default/v1',
            field: 'spec.network',
            message: 'Network "tenant" is neither shared nor open to namespace "default"',
          },
        ],
      },
    ],
    [
      'VnicAttachments allowed by allowedNamespaces and by a shared network',
      {
        files: withBase(`apiVersion: netform.io/v1alpha1
kind: VnicAttachment
metadata:
  name: v1
  namespace: team-a
spec:
  vm: {name: web1}
  interfaceName: nic1
  network: tenant
  host: hv1
---
apiVersion: netform.io/v1alpha1
kind: VnicAttachment
metadata:
  name: v2
  namespace: team-b
spec:
  vm: {name: web2}
  interfaceName: nic1
  network: public
  host: hv1
`),
        errors: [],
        admitted: ['VnicAttachment/team-a/v1', 'VnicAttachment/team-b/v2'],
      },
    ],
    // Duplicates.
    [
      'the same name in two files: error on the second, naming the first',
      {
        files: withBase(net('  physicalNetwork: physnet3\n').replace('name: n1', 'name: mgmt')),
        errors: [
          {
            documentIndex: 0,
            line: 4,
            column: 3,
            key: 'Network/mgmt',
            field: 'metadata.name',
            message: 'Network/mgmt is already declared in base.yaml document 5 (line 55)',
          },
        ],
      },
    ],
    [
      'the same name three times: each repetition is reported',
      {
        files: withBase(`apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: prod
spec: {}
---
apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: prod
spec:
  defaultFabric: ovs
`),
        errors: [
          { documentIndex: 0, line: 4, column: 3, key: 'Cluster/prod', field: 'metadata.name', message: 'Cluster/prod is already declared in base.yaml document 9 (line 98)' },
          { documentIndex: 1, line: 10, column: 3, key: 'Cluster/prod', field: 'metadata.name', message: 'Cluster/prod is already declared in base.yaml document 9 (line 98)' },
        ],
      },
    ],
    [
      'a duplicate is reported on the later file in input order, not in name order',
      {
        files: [
          { path: 'z.yaml', text: 'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: c1\nspec: {}\n' },
          { path: 'a.yaml', text: '---\napiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: c1\nspec: {}\n' },
        ],
        errors: [
          { file: 'a.yaml', documentIndex: 0, line: 5, column: 3, key: 'Cluster/c1', field: 'metadata.name', message: 'Cluster/c1 is already declared in z.yaml document 1 (line 1)' },
        ],
      },
    ],
    [
      'the same name in two namespaces is not a duplicate',
      {
        files: withBase(`apiVersion: netform.io/v1alpha1
kind: VnicAttachment
metadata:
  name: v1
  namespace: team-a
spec: {vm: {name: a}, interfaceName: nic1, network: public, host: hv1}
---
apiVersion: netform.io/v1alpha1
kind: VnicAttachment
metadata:
  name: v1
  namespace: team-b
spec: {vm: {name: a}, interfaceName: nic1, network: public, host: hv1}
---
apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: mgmt
spec: {}
`),
        errors: [],
        admitted: ['VnicAttachment/team-a/v1', 'VnicAttachment/team-b/v1', 'Cluster/mgmt'],
      },
    ],
    // VLANs.
    [
      'the same VLAN on the same physical network in another file',
      {
        files: withBase(net('  physicalNetwork: physnet1\n  vlan:\n    id: 10\n')),
        errors: [{ documentIndex: 0, line: 8, column: 5, key: N1, field: 'spec.vlan.id', message: 'VLAN 10 on physnet1 is already claimed by network "mgmt"' }],
      },
    ],
    [
      'the same VLAN twice in one file: error on the later one only',
      {
        files: alone(`${net('  physicalNetwork: physnet1\n  vlan:\n    id: 42\n')}---
apiVersion: netform.io/v1alpha1
kind: Network
metadata:
  name: n2
spec:
  physicalNetwork: physnet1
  vlan:
    id: 42
`),
        errors: [
          { documentIndex: 1, line: 17, column: 5, key: 'Network/n2', field: 'spec.vlan.id', message: 'VLAN 42 on physnet1 is already claimed by network "n1"' },
        ],
        admitted: [N1],
      },
    ],
    [
      'the same VLAN id on another physical network is fine',
      {
        files: withBase(net('  physicalNetwork: physnet2\n  vlan:\n    id: 10\n')),
        errors: [],
        admitted: [N1],
      },
    ],
    [
      'a fixed VLAN reserved by a pool (no physical network restriction)',
      {
        files: withBase(net('  physicalNetwork: physnet1\n  vlan:\n    id: 100\n')),
        errors: [{ documentIndex: 0, line: 8, column: 5, key: N1, field: 'spec.vlan.id', message: 'VLAN 100 on physnet1 is reserved by VlanPool "pool" (native VLAN)' }],
      },
    ],
    [
      'a reservation without restriction applies to every physical network of the pool',
      {
        files: withBase(net('  physicalNetwork: physnet2\n  vlan:\n    id: 100\n')),
        errors: [{ documentIndex: 0, line: 8, column: 5, key: N1, field: 'spec.vlan.id', message: 'VLAN 100 on physnet2 is reserved by VlanPool "pool" (native VLAN)' }],
      },
    ],
    [
      'a fixed VLAN inside a reserved range on its physical network',
      {
        files: withBase(net('  physicalNetwork: physnet1\n  vlan:\n    id: 155\n')),
        errors: [{ documentIndex: 0, line: 8, column: 5, key: N1, field: 'spec.vlan.id', message: 'VLAN 155 on physnet1 is reserved by VlanPool "pool" (storage fabric)' }],
      },
    ],
    [
      'a reservation restricted to physnet1 does not apply to physnet2',
      { files: withBase(net('  physicalNetwork: physnet2\n  vlan:\n    id: 155\n')), errors: [], admitted: [N1] },
    ],
    [
      'a reservation does not apply to a physical network the pool has no range on',
      { files: withBase(net('  physicalNetwork: physnet3\n  vlan:\n    id: 100\n')), errors: [], admitted: [N1] },
    ],
    [
      'a fixed VLAN inside a pool range but neither reserved nor allocated is fine',
      { files: withBase(net('  physicalNetwork: physnet1\n  vlan:\n    id: 120\n')), errors: [], admitted: [N1] },
    ],
    [
      'a fixed VLAN a pool already allocated to another network',
      {
        files: withBase(net('  physicalNetwork: physnet1\n  vlan:\n    id: 101\n')),
        ctx: { allocations: [{ pool: 'pool', network: 'tenant', physicalNetwork: 'physnet1', vlan: 101 }] },
        errors: [
          { documentIndex: 0, line: 8, column: 5, key: N1, field: 'spec.vlan.id', message: 'VLAN 101 on physnet1 is allocated to network "tenant" from pool "pool"' },
        ],
      },
    ],
    [
      'an allocation on another physical network does not block the id',
      {
        files: withBase(net('  physicalNetwork: physnet1\n  vlan:\n    id: 101\n')),
        ctx: { allocations: [{ pool: 'pool', network: 'tenant', physicalNetwork: 'physnet2', vlan: 101 }] },
        errors: [],
        admitted: [N1],
      },
    ],
    [
      'a network may take as fixed VLAN the id the pool had allocated to it',
      {
        files: alone(net('  physicalNetwork: physnet1\n  vlan:\n    id: 101\n')),
        ctx: { allocations: [{ pool: 'pool', network: 'n1', physicalNetwork: 'physnet1', vlan: 101 }] },
        errors: [],
        admitted: [N1],
      },
    ],
    // Subnets.
    [
      'overlapping subnets in one network',
      {
        files: alone(
          net(`  physicalNetwork: physnet1
  subnets:
    - name: a
      cidr: 10.0.0.0/16
    - name: b
      cidr: 10.1.0.0/16
    - name: c
      cidr: 10.0.1.0/24
    - name: d
      cidr: 2001:db8::/64
`),
        ),
        errors: [{ documentIndex: 0, line: 13, column: 7, key: N1, field: 'spec.subnets[2].cidr', message: '10.0.1.0/24 overlaps subnet "a" (10.0.0.0/16)' }],
      },
    ],
    [
      'the same CIDR in two networks is fine',
      {
        files: alone(`${net('  physicalNetwork: physnet1\n  subnets:\n    - {name: a, cidr: 10.0.0.0/24}\n')}---
${NET_HEAD.replace('n1', 'n2')}  physicalNetwork: physnet1
  subnets:
    - {name: a, cidr: 10.0.0.0/24}
`),
        errors: [],
        admitted: [N1, 'Network/n2'],
      },
    ],
    [
      'gateway outside its CIDR',
      {
        files: alone(net('  physicalNetwork: physnet1\n  subnets:\n    - name: a\n      cidr: 10.0.0.0/24\n      gateway: 10.0.1.1\n')),
        errors: [{ documentIndex: 0, line: 10, column: 7, key: N1, field: 'spec.subnets[0].gateway', message: 'gateway 10.0.1.1 is outside 10.0.0.0/24' }],
      },
    ],
    [
      'gateway of the other IP version',
      {
        files: alone(net('  physicalNetwork: physnet1\n  subnets:\n    - name: a\n      cidr: 10.0.0.0/24\n      gateway: 2001:db8::1\n')),
        errors: [{ documentIndex: 0, line: 10, column: 7, key: N1, field: 'spec.subnets[0].gateway', message: 'gateway 2001:db8::1 is outside 10.0.0.0/24' }],
      },
    ],
    [
      'gateway that is not an address',
      {
        files: alone(net('  physicalNetwork: physnet1\n  subnets:\n    - name: a\n      cidr: 10.0.0.0/24\n      gateway: router\n')),
        errors: [{ documentIndex: 0, line: 10, column: 7, key: N1, field: 'spec.subnets[0].gateway', message: '"router" is not an IP address' }],
      },
    ],
    [
      'gateway: none, and gateways at the edges of the CIDR: IPv4 network and broadcast addresses are refused (as Neutron does), IPv6 subnet-router anycast is not',
      {
        files: alone(
          net(`  physicalNetwork: physnet1
  subnets:
    - {name: a, cidr: 10.0.0.0/24, gateway: none}
    - {name: b, cidr: 10.0.1.0/24, gateway: 10.0.1.255}
    - {name: c, cidr: 2001:db8::/64, gateway: "2001:db8::"}
    - {name: d, cidr: 10.0.2.0/24, gateway: 10.0.2.0}
    - {name: e, cidr: 10.0.3.0/24, gateway: 10.0.3.254}
`),
        ),
        errors: [
          { documentIndex: 0, line: 9, column: 36, key: N1, field: 'spec.subnets[1].gateway', message: '10.0.1.255 is the broadcast address of 10.0.1.0/24' },
          { documentIndex: 0, line: 11, column: 36, key: N1, field: 'spec.subnets[3].gateway', message: '10.0.2.0 is the network address of 10.0.2.0/24' },
        ],
      },
    ],
    [
      'host bits set in a CIDR',
      {
        files: alone(
          net(`  physicalNetwork: physnet1
  subnets:
    - name: a
      cidr: 10.0.0.1/24
    - name: b
      cidr: 2001:db8::1/64
`),
        ),
        errors: [
          { documentIndex: 0, line: 9, column: 7, key: N1, field: 'spec.subnets[0].cidr', message: '"10.0.0.1/24" has host bits set; the prefix is 10.0.0.0/24' },
          { documentIndex: 0, line: 11, column: 7, key: N1, field: 'spec.subnets[1].cidr', message: '"2001:db8::1/64" has host bits set; the prefix is 2001:db8::/64' },
        ],
      },
    ],
    [
      'ipVersion that does not match the CIDR',
      {
        files: alone(
          net(`  physicalNetwork: physnet1
  subnets:
    - name: a
      cidr: 10.0.0.0/24
      ipVersion: 6
    - name: b
      cidr: 2001:db8::/64
      ipVersion: 4
    - name: c
      cidr: 10.0.1.0/24
      ipVersion: 4
`),
        ),
        errors: [
          { documentIndex: 0, line: 10, column: 7, key: N1, field: 'spec.subnets[0].ipVersion', message: 'is 6 but 10.0.0.0/24 is an IPv4 prefix' },
          { documentIndex: 0, line: 13, column: 7, key: N1, field: 'spec.subnets[1].ipVersion', message: 'is 4 but 2001:db8::/64 is an IPv6 prefix' },
        ],
      },
    ],
    [
      'allocation pools: outside the CIDR, reversed, containing the gateway, not an address',
      {
        files: alone(
          net(`  physicalNetwork: physnet1
  subnets:
    - name: a
      cidr: 10.0.0.0/24
      gateway: 10.0.0.1
      allocationPools:
        - start: 10.0.0.10
          end: 10.0.1.20
        - start: 10.0.0.100
          end: 10.0.0.50
        - start: 10.0.0.1
          end: 10.0.0.9
        - start: ten
          end: 10.0.0.250
        - start: 10.0.0.200
          end: 10.0.0.210
`),
        ),
        errors: [
          { documentIndex: 0, line: 13, column: 11, key: N1, field: 'spec.subnets[0].allocationPools[0].end', message: 'end 10.0.1.20 is outside 10.0.0.0/24' },
          { documentIndex: 0, line: 15, column: 11, key: N1, field: 'spec.subnets[0].allocationPools[1].end', message: '10.0.0.50 comes before start 10.0.0.100' },
          { documentIndex: 0, line: 16, column: 11, key: N1, field: 'spec.subnets[0].allocationPools[2]', message: 'contains the gateway 10.0.0.1' },
          { documentIndex: 0, line: 18, column: 11, key: N1, field: 'spec.subnets[0].allocationPools[3].start', message: '"ten" is not an IP address' },
        ],
      },
    ],
    [
      'IPv6 modes on an IPv4 subnet (and on an IPv6 subnet, fine)',
      {
        files: alone(
          net(`  physicalNetwork: physnet1
  subnets:
    - name: a
      cidr: 10.0.0.0/24
      ipv6AddressMode: slaac
    - name: b
      cidr: 10.0.1.0/24
      ipv6RaMode: slaac
    - name: c
      cidr: 2001:db8::/64
      ipv6AddressMode: dhcpv6-stateful
      ipv6RaMode: dhcpv6-stateful
`),
        ),
        errors: [
          { documentIndex: 0, line: 10, column: 7, key: N1, field: 'spec.subnets[0].ipv6AddressMode', message: 'is only for IPv6 subnets' },
          { documentIndex: 0, line: 13, column: 7, key: N1, field: 'spec.subnets[1].ipv6RaMode', message: 'is only for IPv6 subnets' },
        ],
      },
    ],
    [
      'DNS server that is not an address',
      {
        files: alone(
          net(`  physicalNetwork: physnet1
  subnets:
    - name: a
      cidr: 10.0.0.0/24
      dnsServers: [10.0.0.53, 2001:db8::53, dns.example.net]
`),
        ),
        errors: [
          // Neutron refuses a DNS server of the other IP version (_validate_subnet).
          { documentIndex: 0, line: 10, column: 31, key: N1, field: 'spec.subnets[0].dnsServers[1]', message: 'is IPv6 but the subnet is IPv4' },
          { documentIndex: 0, line: 10, column: 45, key: N1, field: 'spec.subnets[0].dnsServers[2]', message: '"dns.example.net" is not an IP address' },
        ],
      },
    ],
    [
      'host routes: nexthop of the other IP version, nexthop that is not an address',
      {
        files: alone(
          net(`  physicalNetwork: physnet1
  subnets:
    - name: a
      cidr: 10.0.0.0/24
      hostRoutes:
        - destination: 192.0.2.0/24
          nexthop: 2001:db8::1
        - destination: 198.51.100.0/24
          nexthop: router
        - destination: 203.0.113.0/24
          nexthop: 10.0.0.254
`),
        ),
        errors: [
          { documentIndex: 0, line: 12, column: 11, key: N1, field: 'spec.subnets[0].hostRoutes[0].nexthop', message: 'is IPv6 but the destination is IPv4' },
          { documentIndex: 0, line: 14, column: 11, key: N1, field: 'spec.subnets[0].hostRoutes[1].nexthop', message: '"router" is not an IP address' },
        ],
      },
    ],
    // Pools.
    [
      'pool ranges: min above max, overlapping ranges; reserved: min above max, unknown physical network',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: VlanPool
metadata:
  name: p2
spec:
  ranges:
    - physicalNetwork: physnet1
      min: 300
      max: 200
    - physicalNetwork: physnet1
      min: 400
      max: 499
    - physicalNetwork: physnet1
      min: 450
      max: 550
    - physicalNetwork: physnet2
      min: 400
      max: 499
  reserved:
    - min: 420
      max: 410
    - min: 430
      physicalNetwork: physnet9
    - min: 440
      physicalNetwork: physnet2
`),
        errors: [
          { documentIndex: 0, line: 9, column: 7, key: 'VlanPool/p2', field: 'spec.ranges[0].max', message: '200 is below min 300' },
          { documentIndex: 0, line: 13, column: 7, key: 'VlanPool/p2', field: 'spec.ranges[2]', message: 'overlaps range 1 (400-499) on physnet1' },
          { documentIndex: 0, line: 21, column: 7, key: 'VlanPool/p2', field: 'spec.reserved[0].max', message: '410 is below min 420' },
          { documentIndex: 0, line: 23, column: 7, key: 'VlanPool/p2', field: 'spec.reserved[1].physicalNetwork', message: 'the pool has no range on physical network "physnet9"' },
        ],
      },
    ],
    [
      'adjacent pool ranges do not overlap',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: VlanPool
metadata:
  name: p2
spec:
  ranges:
    - {physicalNetwork: physnet1, min: 100, max: 199}
    - {physicalNetwork: physnet1, min: 200, max: 200}
    - {physicalNetwork: physnet2, min: 100, max: 199}
`),
        errors: [],
        admitted: ['VlanPool/p2'],
      },
    ],
    // Clusters.
    [
      'cluster with two migration networks and two management networks (display once is fine)',
      {
        files: withBase(`apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: dev
spec:
  networks:
    - name: mgmt
      roles: [migration, management]
    - name: lab
      roles: [vm, migration]
    - name: public
      roles: [vm, display]
    - name: tenant
      roles: [management]
`),
        errors: [
          {
            documentIndex: 0,
            line: 10,
            column: 7,
            key: 'Cluster/dev',
            field: 'spec.networks[1].roles',
            message: 'role migration is already held by network "mgmt"; a cluster has one',
          },
          {
            documentIndex: 0,
            line: 14,
            column: 7,
            key: 'Cluster/dev',
            field: 'spec.networks[3].roles',
            message: 'role management is already held by network "mgmt"; a cluster has one',
          },
        ],
      },
    ],
    // Providers.
    [
      'network with two neutron providers, a provider restricted to another physnet, and one that does not exist',
      {
        files: withBase(
          net(`  physicalNetwork: physnet2
  providerRefs:
    - name: neutron-a
    - name: neutron-b
    - name: ucs
    - name: nope
`),
        ),
        errors: [
          { documentIndex: 0, line: 9, column: 7, key: N1, field: 'spec.providerRefs[1]', message: 'a network can be carried by at most one neutron provider' },
          { documentIndex: 0, line: 10, column: 7, key: N1, field: 'spec.providerRefs[2].name', message: 'Provider "ucs" does not serve physical network "physnet2"' },
          { documentIndex: 0, line: 10, column: 7, key: N1, field: 'spec.providerRefs[2].name', message: 'Provider "ucs" is a UCS Manager domain, which carries only VLANs; the network is untagged' },
          { documentIndex: 0, line: 11, column: 7, key: N1, field: 'spec.providerRefs[3].name', message: 'Provider "nope" does not exist' },
        ],
      },
    ],
    [
      'keystone auth (the default) without credentials or authUrl, and an endpoint with user:password',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: Provider
metadata:
  name: p1
spec:
  type: neutron
  endpoint: https://admin:secret@neutron.example.net:9696
`),
        errors: [
          { documentIndex: 0, line: 5, column: 1, key: 'Provider/p1', field: 'spec.credentials', message: 'is required with neutron.auth keystone' },
          { documentIndex: 0, line: 5, column: 1, key: 'Provider/p1', field: 'spec.neutron.authUrl', message: 'is required with neutron.auth keystone' },
          { documentIndex: 0, line: 7, column: 3, key: 'Provider/p1', field: 'spec.endpoint', message: 'must not carry credentials; use spec.credentials' },
        ],
      },
    ],
    [
      'explicit keystone auth without authUrl',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: Provider
metadata:
  name: p1
spec:
  type: neutron
  endpoint: https://neutron.example.net:9696
  credentials: {file: c.yaml}
  neutron:
    auth: keystone
`),
        errors: [{ documentIndex: 0, line: 9, column: 3, key: 'Provider/p1', field: 'spec.neutron.authUrl', message: 'is required with neutron.auth keystone' }],
      },
    ],
    [
      'endpoint with only a user name',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: Provider
metadata:
  name: p1
spec:
  type: neutron
  endpoint: http://admin@127.0.0.1:9696
  neutron: {auth: noauth}
`),
        errors: [{ documentIndex: 0, line: 7, column: 3, key: 'Provider/p1', field: 'spec.endpoint', message: 'must not carry credentials' }],
      },
    ],
    [
      'options of the other provider type, ucsm without credentials',
      {
        files: alone(`apiVersion: netform.io/v1alpha1
kind: Provider
metadata:
  name: p1
spec:
  type: neutron
  endpoint: http://127.0.0.1:9696
  neutron: {auth: noauth}
  ucsm: {}
---
apiVersion: netform.io/v1alpha1
kind: Provider
metadata:
  name: p2
spec:
  type: ucsm
  endpoint: https://ucsm.example.net
  neutron: {}
`),
        errors: [
          { documentIndex: 0, line: 9, column: 3, key: 'Provider/p1', field: 'spec.ucsm', message: 'is only for providers of type ucsm' },
          { documentIndex: 1, line: 15, column: 1, key: 'Provider/p2', field: 'spec.credentials', message: 'is required for type ucsm' },
          { documentIndex: 1, line: 18, column: 3, key: 'Provider/p2', field: 'spec.neutron', message: 'is only for providers of type neutron' },
        ],
      },
    ],
  ])('%s', (_name, c) => {
    check(c);
  });

  it('an error in one object never stops the valid ones, in the same file or in others', () => {
    const r = check({
      files: [
        ...alone(`apiVersion: netform.io/v1alpha1
kind: Network
metadata:
  name: good
spec:
  physicalNetwork: physnet1
---
apiVersion: netform.io/v1alpha1
kind: Network
metadata:
  name: bad
spec:
  physicalNetwork: physnet1
  mtu: 1
---
apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: dangling
spec:
  networks:
    - name: gone
---
apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: c1
spec:
  networks:
    - name: good
    - name: bad
`),
        { path: 'other.yaml', text: 'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: c2\nspec:\n  networks: [{name: good}]\n' },
      ],
      errors: [
        { documentIndex: 1, line: 14, column: 3, key: 'Network/bad', field: 'spec.mtu', message: 'must be >= 68' },
        { documentIndex: 2, line: 22, column: 7, key: 'Cluster/dangling', field: 'spec.networks[0].name', message: 'Network "gone" does not exist' },
      ],
      admitted: ['Network/good', 'Cluster/c1', 'Cluster/c2'],
    });
    // A reference to an invalid object is not dangling: `c1` names `bad` and is admitted.
    expect([...r.objects.keys()]).toEqual(['Network/good', 'Cluster/c1', 'Cluster/c2']);
    expect([...r.invalid.keys()]).toEqual(['Network/bad', 'Cluster/dangling']);
    expect(r.objects.get('Cluster/c2')!.source).toEqual({ file: 'other.yaml', documentIndex: 0, line: 1 });
    expect(r.objects.get('Cluster/c1')!.source).toEqual({ file: 'case.yaml', documentIndex: 3, line: 24 });
    expect([...r.heldFiles]).toEqual(['case.yaml']);
  });

  it('a duplicate holds both declarations: the key is invalid, not admitted', () => {
    const r = check({
      files: withBase('apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: prod\nspec: {}\n'),
      errors: [{ documentIndex: 0, line: 4, column: 3, key: 'Cluster/prod', field: 'metadata.name', message: 'already declared in base.yaml document 9' }],
    });
    expect(r.objects.has('Cluster/prod')).toBe(false);
    // The host that names the cluster is not dangling.
    expect(r.objects.has('Host/hv1')).toBe(true);
    expect([...r.heldFiles]).toEqual(['case.yaml']);
  });
});

describe('objects of held files (ctx.knownSources) and ctx.alsoDeclared', () => {
  const broken: ManifestFile = { path: 'nets.yaml', text: 'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata:\n  name: [legacy\n' };
  const cluster = `apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: c1
spec:
  networks:
    - name: legacy
`;

  it.each<[string, Case]>([
    [
      'a reference to an object of a held file is not dangling',
      {
        files: [broken, ...alone(cluster)],
        ctx: { knownSources: new Map([['Network/legacy', 'nets.yaml']]) },
        errors: [{ file: 'nets.yaml', documentIndex: 0, line: 5, column: 1, field: '(document)', message: 'YAML syntax error' }],
        admitted: ['Cluster/c1'],
      },
    ],
    [
      'without knownSources the same reference is dangling',
      {
        files: [broken, ...alone(cluster)],
        errors: [
          { documentIndex: 0, line: 7, column: 7, key: 'Cluster/c1', field: 'spec.networks[0].name', message: 'Network "legacy" does not exist' },
          { file: 'nets.yaml', documentIndex: 0, line: 5, column: 1, field: '(document)', message: 'YAML syntax error' },
        ],
      },
    ],
    [
      'an object known from a file that is not held (it was removed from it) is gone',
      {
        files: alone(cluster),
        ctx: { knownSources: new Map([['Network/legacy', 'nets.yaml']]) },
        errors: [{ documentIndex: 0, line: 7, column: 7, key: 'Cluster/c1', field: 'spec.networks[0].name', message: 'Network "legacy" does not exist' }],
      },
    ],
    [
      'alsoDeclared keys are not dangling',
      {
        files: alone(cluster),
        ctx: { alsoDeclared: new Set(['Network/legacy']) },
        errors: [],
        admitted: ['Cluster/c1'],
      },
    ],
  ])('%s', (_name, c) => {
    check(c);
  });
});

describe('error order', () => {
  it('sorts errors by file, then document, then line', () => {
    const r = admit([
      {
        path: 'a.yaml',
        text: `apiVersion: netform.io/v1alpha1
kind: Cluster
metadata:
  name: c1
spec:
  networks: [{name: gone}]
---
apiVersion: netform.io/v1alpha1
kind: Network
metadata:
  name: n1
spec:
  physicalNetwork: physnet1
  mtu: 1
  shared: maybe
`,
      },
      { path: 'b.yaml', text: 'apiVersion: netform.io/v1alpha1\nkind: Nope\n' },
    ]);
    expect(r.errors.map((e) => [e.file, e.documentIndex, e.line, e.field])).toEqual([
      ['a.yaml', 0, 6, 'spec.networks[0].name'],
      ['a.yaml', 1, 14, 'spec.mtu'],
      ['a.yaml', 1, 15, 'spec.shared'],
      ['b.yaml', 0, 2, 'kind'],
    ]);
  });
});

describe('formatAdmissionError', () => {
  it.each<[string, AdmissionError, string]>([
    [
      'everything',
      { file: 'nets.yaml', documentIndex: 1, line: 14, column: 3, key: 'Network/web', field: 'spec.mtu', message: 'must be >= 68' },
      'nets.yaml:14:3: document 2 (Network/web): spec.mtu: must be >= 68',
    ],
    [
      'no column',
      { file: 'nets.yaml', documentIndex: 0, line: 14, key: 'Network/web', field: 'spec.mtu', message: 'must be >= 68' },
      'nets.yaml:14: document 1 (Network/web): spec.mtu: must be >= 68',
    ],
    [
      'no key',
      { file: 'nets.yaml', documentIndex: 2, line: 4, column: 3, field: 'metadata.name', message: 'is required' },
      'nets.yaml:4:3: document 3: metadata.name: is required',
    ],
    [
      'no key, no field',
      { file: 'a.yaml', documentIndex: 0, line: 1, column: 1, message: 'a document must be a mapping' },
      'a.yaml:1:1: document 1: a document must be a mapping',
    ],
    [
      'no document index',
      { file: 'a.yaml', line: 3, column: 7, message: 'YAML syntax error: bad indentation' },
      'a.yaml:3:7: YAML syntax error: bad indentation',
    ],
    [
      'a namespaced key',
      { file: 'v.yaml', documentIndex: 0, line: 9, column: 3, key: 'VnicAttachment/team-b/v1', field: 'spec.network', message: 'x' },
      'v.yaml:9:3: document 1 (VnicAttachment/team-b/v1): spec.network: x',
    ],
  ])('%s', (_name, e, text) => {
    expect(formatAdmissionError(e)).toBe(text);
  });

  it('formats what admit reports', () => {
    const r = admit([{ path: 'dir/n.yaml', text: '---\napiVersion: netform.io/v1alpha1\nkind: Network\nmetadata:\n  name: n1\nspec:\n  physicalNetwork: physnet1\n  subnets:\n    - {name: a, cidr: 10.0.0.0/24}\n    - {name: a, cidr: 10.0.1.0/24}\n' }]);
    expect(r.errors.map(formatAdmissionError)).toEqual([
      'dir/n.yaml:10:7: document 1 (Network/n1): spec.subnets[1]: duplicate entry: name=a already given at index 0',
    ]);
  });
});

describe('fieldPath', () => {
  it.each([
    ['', '(document)'],
    ['/spec', 'spec'],
    ['/spec/subnets/1/cidr', 'spec.subnets[1].cidr'],
    ['/spec/subnets/0', 'spec.subnets[0]'],
    ['/spec/bonds/2/members/10', 'spec.bonds[2].members[10]'],
    ['/spec/subnets/1/allocationPools/0/end', 'spec.subnets[1].allocationPools[0].end'],
    ['/metadata/labels/app.kubernetes.io~1name', 'metadata.labels.app.kubernetes.io/name'],
    ['/metadata/annotations/a~0b', 'metadata.annotations.a~b'],
    ['/metadata/annotations/~01', 'metadata.annotations.~1'],
    ['/0', '[0]'],
    ['/0/name', '[0].name'],
  ])('%j -> %s', (pointer, path) => {
    expect(fieldPath(pointer)).toBe(path);
  });
});

// ---------------------------------------------------------------------------
// Issue 9: bad input never crashes, hangs or slips through. Each case failed before its fix.

describe('bad input: aliases, nesting, size', () => {
  const HEAD = 'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: n1}\nspec:\n  physicalNetwork: physnet1\n';
  const GOOD = 'apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: ok}\nspec: {}\n';

  it('a billion-laughs alias bomb in a field the schema walks is refused in milliseconds, naming the alias', () => {
    let bomb = 'x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
    for (let i = 1; i < 9; i++) bomb += `x${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]\n`;
    // The subnet's name is used as a list-map key: it used to be JSON.stringify'd, 9^9 strings long.
    const text = `${GOOD}---\n${bomb}${HEAD.replace('physicalNetwork: physnet1\n', 'physicalNetwork: physnet1\n  subnets:\n    - name: *a8\n      cidr: 10.0.0.0/24\n')}`;
    const started = performance.now();
    const r = check({
      files: alone(text),
      admitted: ['Cluster/ok'],
      errors: [{ documentIndex: 1, line: 11, column: 10, field: 'x5[0]', message: 'aliases may add at most 100000 nodes to a file; *a4 (66430 nodes) goes past that' }],
    });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(formatAdmissionError(r.errors[0]!)).toMatch(/^case\.yaml:11:\d+: document 2: x5\[0\]: aliases may add/);
  });

  it.each([
    ['an alias inside its own anchor, as a list-map key', '  subnets:\n    - name: &s [*s]\n      cidr: 10.0.0.0/24\n', 'spec.subnets[0].name[0]', 7],
    ['the subnets list inside itself', '  subnets: &s\n    - name: *s\n      cidr: 10.0.0.0/24\n', 'spec.subnets[0].name', 7],
    ['spec inside itself', '  self: *s\n', 'spec.self', 6],
  ])('a circular value (%s) is refused, not a crash (it threw "Converting circular structure to JSON")', (_name, lines, field, line) => {
    const text = `${GOOD}---\n${HEAD.replace('spec:\n', lines.includes('self') ? 'spec: &s\n' : 'spec:\n')}${lines}`;
    const r = check({
      files: alone(text),
      admitted: ['Cluster/ok'],
      errors: [{ documentIndex: 1, line: 5 + line, field, message: 'is inside the node it refers to: a circular value' }],
    });
    expect(r.errors[0]!.message).toMatch(/^the alias \*s is inside the node it refers to: a circular value$/);
  });

  it('nesting deeper than 64 levels is refused without running out of stack', () => {
    const r = check({
      files: alone(`${HEAD}  x: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`),
      errors: [{ documentIndex: 0, line: 6, field: 'spec.x', message: 'nesting is deeper than 64 levels' }],
    });
    expect(r.errors[0]!.message).toBe('nesting is deeper than 64 levels');
  });

  it('a file over 1 MiB is refused unparsed, naming the file and the limit (a 20 MB file took over 30 s)', () => {
    const doc = (i: number) => `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c${i}}\nspec: {}\n`;
    const big = Array.from({ length: 300_000 }, (_, i) => doc(i)).join('---\n'); // about 22 MB
    const started = performance.now();
    const r = check({
      files: [{ path: 'big.yaml', text: big }, { path: 'case.yaml', text: GOOD }],
      admitted: ['Cluster/ok'],
      errors: [{ file: 'big.yaml', line: 1, field: '(file)', message: `is ${Buffer.byteLength(big)} bytes; a manifest file may be at most 1048576 bytes (1 MiB): split it` }],
    });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(formatAdmissionError(r.errors[0]!)).toBe(`big.yaml:1: (file): is ${Buffer.byteLength(big)} bytes; a manifest file may be at most 1048576 bytes (1 MiB): split it`);
    // The size a reader found (it did not read the text) counts too.
    expect(admit([{ path: 'huge.yaml', text: '', size: 20_000_000 }]).errors).toEqual([
      { file: 'huge.yaml', line: 1, field: '(file)', message: 'is 20000000 bytes; a manifest file may be at most 1048576 bytes (1 MiB): split it' },
    ]);
    expect(admit([{ path: 'limit.yaml', text: `${GOOD}#${'x'.repeat(MAX_MANIFEST_BYTES - GOOD.length - 2)}\n` }]).errors).toEqual([]);
  });
});

describe('bad input: values the backends would refuse later', () => {
  const NET = 'apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata:\n  name: n1\nspec:\n  physicalNetwork: physnet1\n';
  const N1 = 'Network/n1';
  const subnet = (lines: string) => alone(`${NET}  subnets:\n${lines}`);

  it.each<[string, Case]>([
    [
      'allocation pools overlapping each other, and reaching the network or broadcast address',
      {
        files: subnet(`    - name: a
      cidr: 10.0.0.0/24
      gateway: 10.0.0.1
      allocationPools:
        - {start: 10.0.0.10, end: 10.0.0.20}
        - {start: 10.0.0.15, end: 10.0.0.30}
        - {start: 10.0.0.0, end: 10.0.0.5}
        - {start: 10.0.0.200, end: 10.0.0.255}
`),
        errors: [
          { documentIndex: 0, line: 13, column: 11, key: N1, field: 'spec.subnets[0].allocationPools[1]', message: 'overlaps allocation pool 0 (10.0.0.10-10.0.0.20)' },
          { documentIndex: 0, line: 14, column: 12, key: N1, field: 'spec.subnets[0].allocationPools[2].start', message: '10.0.0.0 is the network address of 10.0.0.0/24' },
          { documentIndex: 0, line: 14, column: 11, key: N1, field: 'spec.subnets[0].allocationPools[2]', message: 'contains the gateway 10.0.0.1' },
          { documentIndex: 0, line: 15, column: 31, key: N1, field: 'spec.subnets[0].allocationPools[3].end', message: '10.0.0.255 is the broadcast address of 10.0.0.0/24' },
        ],
      },
    ],
    [
      'DNS servers: not addresses, of the other IP version, given twice',
      {
        files: subnet(`    - name: a
      cidr: 2001:db8::/64
      dnsServers: [2001:db8::53, 192.0.2.53, "2001:DB8::53", 8.8.8.8.8]
`),
        errors: [
          { documentIndex: 0, line: 10, column: 34, key: N1, field: 'spec.subnets[0].dnsServers[1]', message: 'is IPv4 but the subnet is IPv6' },
          { documentIndex: 0, line: 10, column: 46, key: N1, field: 'spec.subnets[0].dnsServers[2]', message: '2001:DB8::53 is already given at index 0' },
          { documentIndex: 0, line: 10, column: 62, key: N1, field: 'spec.subnets[0].dnsServers[3]', message: '"8.8.8.8.8" is not an IP address' },
        ],
      },
    ],
    [
      'host routes: destination with host bits or of the other IP version, nexthop of the other version, a route given twice',
      {
        files: subnet(`    - name: a
      cidr: 10.0.0.0/24
      hostRoutes:
        - {destination: 192.0.2.1/24, nexthop: 10.0.0.254}
        - {destination: "2001:db8::/32", nexthop: "2001:db8::1"}
        - {destination: 198.51.100.0/24, nexthop: 10.0.0.254}
        - {destination: 198.51.100.0/24, nexthop: 10.0.0.254}
`),
        errors: [
          { documentIndex: 0, line: 11, column: 12, key: N1, field: 'spec.subnets[0].hostRoutes[0].destination', message: '"192.0.2.1/24" has host bits set; the prefix is 192.0.2.0/24' },
          { documentIndex: 0, line: 12, column: 12, key: N1, field: 'spec.subnets[0].hostRoutes[1].destination', message: 'is IPv6 but the subnet is IPv4' },
          { documentIndex: 0, line: 12, column: 42, key: N1, field: 'spec.subnets[0].hostRoutes[1].nexthop', message: 'is IPv6 but the subnet is IPv4' },
          { documentIndex: 0, line: 14, column: 11, key: N1, field: 'spec.subnets[0].hostRoutes[3]', message: 'the same route is already given at index 2' },
        ],
      },
    ],
    [
      'IPv6 modes: both on an IPv4 subnet, different from each other, SLAAC on a prefix that is not /64',
      {
        files: subnet(`    - {name: a, cidr: 10.0.0.0/24, ipv6RaMode: slaac, ipv6AddressMode: slaac}
    - {name: b, cidr: "2001:db8:1::/64", ipv6RaMode: slaac, ipv6AddressMode: dhcpv6-stateful}
    - {name: c, cidr: "2001:db8:2::/56", ipv6AddressMode: slaac}
`),
        errors: [
          { documentIndex: 0, line: 8, column: 55, key: N1, field: 'spec.subnets[0].ipv6AddressMode', message: 'is only for IPv6 subnets' },
          { documentIndex: 0, line: 8, column: 36, key: N1, field: 'spec.subnets[0].ipv6RaMode', message: 'is only for IPv6 subnets' },
          { documentIndex: 0, line: 9, column: 42, key: N1, field: 'spec.subnets[1].ipv6RaMode', message: 'is slaac but ipv6AddressMode is dhcpv6-stateful; when both are given they must be the same' },
          { documentIndex: 0, line: 10, column: 17, key: N1, field: 'spec.subnets[2].cidr', message: 'slaac addresses (EUI-64) need a /64 prefix, not /56' },
        ],
      },
    ],
    [
      'a prefix length with a leading zero is not CIDR notation',
      {
        files: subnet(`    - {name: a, cidr: 10.0.0.0/024}
`),
        errors: [{ documentIndex: 0, line: 8, column: 17, key: N1, field: 'spec.subnets[0].cidr', message: 'is not a valid cidr' }],
      },
    ],
  ])('%s', (_name, c) => {
    check(c);
  });

  const UCS = `apiVersion: netform.io/v1alpha1
kind: Provider
metadata: {name: ucs}
spec: {type: ucsm, endpoint: "https://ucsm.example.net", credentials: {file: c.yaml}}
---
apiVersion: netform.io/v1alpha1
kind: Provider
metadata: {name: neutron}
spec: {type: neutron, endpoint: "http://127.0.0.1:9696", neutron: {auth: noauth}}
---
apiVersion: netform.io/v1alpha1
kind: VlanPool
metadata: {name: pool}
spec: {ranges: [{physicalNetwork: physnet1, min: 3900, max: 3999}]}
`;
  /** Network `name` on the given providers with the given vlan (flow style); its vlan is on line 19. */
  const onProviders = (name: string, vlan: string | undefined, providers: string[]) => `---
apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: ${name}}
spec:
  physicalNetwork: physnet1
${vlan === undefined ? '  mtu: 1500' : `  vlan: ${vlan}`}
  providerRefs: [${providers.map((p) => `{name: ${p}}`).join(', ')}]
`;

  it.each([
    [3915, "VLAN 3915 is in UCS Manager's reserved block 3915-4042"],
    [4042, "VLAN 4042 is in UCS Manager's reserved block 3915-4042"],
    [4043, "VLAN 4043 is outside UCS Manager's ranges (1-4042, 4048-4093)"],
    [4047, "VLAN 4047 is outside UCS Manager's ranges (1-4042, 4048-4093)"],
    [4094, "VLAN 4094 is outside UCS Manager's ranges (1-4042, 4048-4093)"],
  ])('VLAN %i on a UCS Manager provider is refused; on Neutron alone it is fine', (id, message) => {
    check({
      files: alone(UCS + onProviders('on-ucs', `{id: ${id}}`, ['ucs']) + onProviders('on-neutron', `{id: ${id}}`, ['neutron']).replace('physnet1', 'physnet2')),
      admitted: ['Provider/ucs', 'Provider/neutron', 'VlanPool/pool', 'Network/on-neutron'],
      errors: [{ documentIndex: 3, line: 21, column: 10, key: 'Network/on-ucs', field: 'spec.vlan.id', message: `${message} (Provider "ucs")` }],
    });
  });

  it.each([1, 3914, 4048, 4093])('VLAN %i on a UCS Manager provider is admitted', (id) => {
    check({ files: alone(UCS + onProviders('on-ucs', `{id: ${id}}`, ['ucs'])), errors: [], admitted: ['Network/on-ucs'] });
  });

  it('an untagged network on a UCS Manager provider, and a pool allocation in its reserved block, are refused', () => {
    check({
      files: alone(UCS + onProviders('flat', undefined, ['neutron', 'ucs']) + onProviders('pooled', '{poolRef: {name: pool}}', ['ucs']).replace('physnet1', 'physnet1')),
      ctx: { allocations: [{ pool: 'pool', network: 'pooled', physicalNetwork: 'physnet1', vlan: 3950 }] },
      errors: [
        { documentIndex: 3, line: 22, column: 36, key: 'Network/flat', field: 'spec.providerRefs[1].name', message: 'Provider "ucs" is a UCS Manager domain, which carries only VLANs; the network is untagged' },
        { documentIndex: 4, line: 29, column: 20, key: 'Network/pooled', field: 'spec.vlan.poolRef.name', message: `the VLAN allocated from pool "pool": VLAN 3950 is in UCS Manager's reserved block 3915-4042 (Provider "ucs")` },
      ],
    });
  });
});

describe('MacPool references and ranges', () => {
  const pool = (range: string) => `apiVersion: netform.io/v1alpha1\nkind: MacPool\nmetadata: {name: macs}\nspec: {ranges: [${range}]}`;
  const cluster = (ref: string) => `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: {macPoolRef: {name: ${ref}}}`;
  const errorsOf = (...docs: string[]) => admit([{ path: 'm.yaml', text: docs.join('\n---\n') }]).errors.map((e) => [e.documentIndex, e.field, e.message]);

  it('a valid pool named by its cluster is admitted', () => {
    expect(errorsOf(pool('{start: "56:6f:00:00:00:00", end: "56:6f:00:00:00:ff"}'), cluster('macs'))).toEqual([]);
  });
  it('a range ending below its start is refused, naming the field', () => {
    expect(errorsOf(pool('{start: "56:6f:00:00:01:00", end: "56:6f:00:00:00:ff"}'))).toEqual([[0, 'spec.ranges[0].end', '56:6f:00:00:00:ff is below start 56:6f:00:00:01:00']]);
  });
  it('a cluster naming a pool that does not exist is refused', () => {
    expect(errorsOf(cluster('nope'))).toEqual([[0, 'spec.macPoolRef.name', 'MacPool "nope" does not exist']]);
  });
});

describe('VnicProfile checks and references', () => {
  const net = (name: string, extra = '') => `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: ${name}}\nspec: {physicalNetwork: p, shared: true${extra}}`;
  const host = `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: {networks: [{name: a}, {name: b}]}\n---\napiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: h}\nspec: {cluster: c}`;
  const profile = (ns: string, spec: string) => `apiVersion: netform.io/v1alpha1\nkind: VnicProfile\nmetadata: {name: p, namespace: ${ns}}\nspec: ${spec}`;
  const vnic = (ns: string, ref: string) => `apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: v, namespace: ${ns}}\nspec: {vm: {name: vm}, interfaceName: nic1, network: a, host: h, profileRef: ${ref}}`;
  const errorsOf = (...docs: string[]) => admit([{ path: 'm.yaml', text: [net('a'), net('b'), host, ...docs].join('\n---\n') }]).errors.map((e) => [(e.documentIndex ?? 0) - 4, e.field, e.message]);

  it('a valid profile used in its own namespace, and from another it is open to, is admitted', () => {
    const p = profile('t1', '{network: a, qos: {inbound: {averageKbps: 1000, peakKbps: 2000}}, portSecurity: {enabled: true, allowedAddressPairs: [{ipAddress: 10.0.0.1}, {ipAddress: "fd00::/64"}]}, allowedNamespaces: [t2]}');
    expect(errorsOf(p, vnic('t1', '{name: p}'), vnic('t2', '{name: p, namespace: t1}').replace('name: v,', 'name: w,'))).toEqual([]);
  });
  it('a peak below the average, an address that is not one, pairs without port security, a bad namespace: each refused at its field', () => {
    expect(errorsOf(profile('t1', '{network: a, qos: {outbound: {averageKbps: 1000, peakKbps: 500}}}'))).toEqual([[0, 'spec.qos.outbound.peakKbps', '500 is below averageKbps 1000']]);
    expect(errorsOf(profile('t1', '{network: a, portSecurity: {enabled: true, allowedAddressPairs: [{ipAddress: 10.0.0.300}]}}'))).toEqual([
      [0, 'spec.portSecurity.allowedAddressPairs[0].ipAddress', '"10.0.0.300" is neither an IP address nor a CIDR'],
    ]);
    expect(errorsOf(profile('t1', '{network: a, portSecurity: {enabled: false, allowedAddressPairs: [{ipAddress: 10.0.0.1}]}}'))).toEqual([
      [0, 'spec.portSecurity.allowedAddressPairs', 'allowed address pairs need port security enabled (they widen what it lets through)'],
    ]);
    expect(errorsOf(profile('t1', '{network: zz}'))).toEqual([[0, 'spec.network', 'Network "zz" does not exist']]);
    expect(errorsOf(profile('t1', '{network: a, allowedNamespaces: ["*", Bad_NS]}'))[0]).toEqual([0, 'spec.allowedNamespaces[1]', expect.stringContaining('not a valid namespace')]);
  });
  it('a vNIC naming a missing profile, a profile of another network, or one not open to its namespace is refused', () => {
    expect(errorsOf(vnic('t1', '{name: nope}'))).toEqual([[0, 'spec.profileRef.name', 'VnicProfile "t1/nope" does not exist']]);
    expect(errorsOf(profile('t1', '{network: b}'), vnic('t1', '{name: p}'))).toEqual([[1, 'spec.profileRef.name', 'VnicProfile "t1/p" belongs to network "b", not "a"']]);
    expect(errorsOf(profile('t1', '{network: a}'), vnic('t2', '{name: p, namespace: t1}'))).toEqual([
      [1, 'spec.profileRef.namespace', 'VnicProfile "t1/p" is not open to namespace "t2" (its allowedNamespaces)'],
    ]);
  });
});

describe('VnicAttachment fixed IPs', () => {
  const net = `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: a}\nspec: {physicalNetwork: p, shared: true, subnets: [{name: v4, cidr: 10.9.0.0/24}, {name: v6, cidr: "fd00:9::/64"}]}`;
  const host = `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: {networks: [{name: a}]}\n---\napiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: h}\nspec: {cluster: c}`;
  const vnic = (name: string, ips: string) => `apiVersion: netform.io/v1alpha1\nkind: VnicAttachment\nmetadata: {name: ${name}, namespace: t}\nspec: {vm: {name: ${name}}, interfaceName: nic1, network: a, host: h, fixedIps: ${ips}}`;
  const errorsOf = (...docs: string[]) => admit([{ path: 'm.yaml', text: [net, host, ...docs].join('\n---\n') }]).errors.map((e) => [(e.documentIndex ?? 0) - 3, e.field, e.message]);

  it('an address on a subnet of the network, and an entry without one, are admitted', () => {
    expect(errorsOf(vnic('v1', '[{subnet: v4, ipAddress: 10.9.0.10}, {subnet: v6}]'))).toEqual([]);
  });
  it('an unknown subnet, an address outside its subnet, a non-address, and an address held by another vNIC are refused at their field', () => {
    expect(errorsOf(vnic('v1', '[{subnet: v5}]'))).toEqual([[0, 'spec.fixedIps[0].subnet', 'Network "a" has no subnet "v5"']]);
    expect(errorsOf(vnic('v1', '[{subnet: v4, ipAddress: 10.9.1.10}]'))).toEqual([[0, 'spec.fixedIps[0].ipAddress', '10.9.1.10 is outside subnet v4 (10.9.0.0/24)']]);
    expect(errorsOf(vnic('v1', '[{subnet: v4, ipAddress: ten}]'))).toEqual([[0, 'spec.fixedIps[0].ipAddress', '"ten" is not an IP address']]);
    expect(errorsOf(vnic('v1', '[{subnet: v4, ipAddress: 10.9.0.10}]'), vnic('v2', '[{subnet: v6}, {subnet: v4, ipAddress: 10.9.0.10}]'))).toEqual([
      [1, 'spec.fixedIps[1].ipAddress', '10.9.0.10 is already the address of VnicAttachment t/v1'],
    ]);
  });
});

describe('Host interfaces and the physical networks they reach', () => {
  const docs = (placement: string) =>
    [
      `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: st}\nspec: {physicalNetwork: physnet2, vlan: {id: 10}}`,
      `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: {networks: [{name: st}]}`,
      `apiVersion: netform.io/v1alpha1\nkind: Host\nmetadata: {name: h}\nspec: {cluster: c, nics: [{name: eth1, physicalNetworks: [physnet1]}, {name: eth2}], networks: [${placement}]}`,
    ].join('\n---\n');
  const errorsOf = (placement: string) => admit([{ path: 'm.yaml', text: docs(placement) }]).errors.map((e) => [e.field, e.message]);

  it('a network placed on a NIC that does not reach its physical network is refused; one that declares none reaches every one', () => {
    expect(errorsOf('{name: st, interface: eth1}')).toEqual([['spec.networks[0].interface', '"eth1" reaches physnet1, not physnet2 (Network "st")']]);
    expect(errorsOf('{name: st, interface: eth2}')).toEqual([]);
  });
});

describe('A cluster and its external network providers (seed 002)', () => {
  const prov = (name: string, type: string) =>
    type === 'neutron'
      ? `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: ${name}}\nspec: {type: neutron, endpoint: "https://${name}.example.net", neutron: {auth: noauth}}`
      : `apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: ${name}}\nspec: {type: ucsm, endpoint: "https://${name}.example.net", credentials: {file: creds.yaml}}`;
  const net = (name: string, vlan: number, refs: string[]) =>
    `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: ${name}}\nspec: {physicalNetwork: physnet1, vlan: {id: ${vlan}}, providerRefs: [${refs.map((r) => `{name: ${r}}`).join(', ')}]}`;
  const cluster = (nets: string[]) => `apiVersion: netform.io/v1alpha1\nkind: Cluster\nmetadata: {name: c}\nspec: {networks: [${nets.map((n) => `{name: ${n}}`).join(', ')}]}`;
  const errorsOf = (...docs: string[]) => admit([{ path: 'm.yaml', text: docs.join('\n---\n') }]).errors.map((e) => [e.key, e.field, e.message]);

  it('native networks, one Neutron provider and UCS Manager domains under it are admitted', () => {
    expect(errorsOf(prov('os', 'neutron'), prov('ucs1', 'ucsm'), prov('ucs2', 'ucsm'), net('a', 10, ['os', 'ucs1']), net('b', 11, ['ucs2']), net('c', 12, []), cluster(['a', 'b', 'c']))).toEqual([]);
  });
  it('a second Neutron provider in one cluster is refused at the network that brings it; each provider alone is fine', () => {
    expect(errorsOf(prov('os', 'neutron'), prov('os2', 'neutron'), net('a', 10, ['os']), net('b', 11, ['os2']), cluster(['a', 'b']))).toEqual([
      ['Cluster/c', 'spec.networks[1].name', 'Network "b" is on Neutron provider "os2" while the cluster\'s other networks are on "os": a cluster may mix its hosts\' native fabric with one external network provider only'],
    ]);
    expect(errorsOf(prov('os', 'neutron'), prov('os2', 'neutron'), net('a', 10, ['os']), net('b', 11, ['os2']), cluster(['a']))).toEqual([]);
  });
});
