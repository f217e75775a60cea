import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import type { PlanItem } from '../runtime/plan.ts';
import { exitCodeOf, planDigest, planDocument } from './document.ts';

const ITEMS: PlanItem[] = [
  { object: 'Network/web', target: 'neutron:os', resource: 'network', action: 'update', externalId: 'n1', changes: [{ path: 'mtu', from: 1500, to: 9000 }] },
  { object: 'Network/web', target: 'host:h1', resource: 'bridge', action: 'update', externalId: 'nfb-web', details: ['mtu 1500→9000'], asOf: '2026-12-04T10:00:00.000Z' },
  { object: 'Network/db', target: 'neutron:os', resource: 'network', action: 'noop' },
];

describe('planDigest', () => {
  it('is independent of order, report times and messages; changes with the changes', () => {
    const d = planDigest(ITEMS);
    expect(d).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(planDigest([...ITEMS].reverse())).toBe(d);
    expect(planDigest(ITEMS.map((i) => ({ ...i, asOf: '2026-12-05T00:00:00.000Z', message: 'x' })))).toBe(d);
    expect(planDigest([ITEMS[0]!, { ...ITEMS[1]!, details: ['mtu 1500→9001'] }])).not.toBe(d);
    expect(planDigest([{ ...ITEMS[0]!, changes: [{ path: 'mtu', from: 1500, to: 9001 }] }, ITEMS[1]!])).not.toBe(d);
    // No-ops and waits are not changes.
    expect(planDigest([...ITEMS, { object: 'Network/x', target: 'netform', resource: 'network', action: 'wait' }])).toBe(d);
  });
});

describe('exitCodeOf (like terraform plan -detailed-exitcode)', () => {
  const item = (action: PlanItem['action']): PlanItem => ({ object: 'Network/a', target: 'neutron:os', resource: 'network', action });
  it.each([
    { name: 'no changes', items: [item('noop')], errors: 0, want: 0 },
    { name: 'changes', items: [item('update')], errors: 0, want: 2 },
    { name: 'an unreachable backend', items: [item('update'), item('unknown')], errors: 0, want: 1 },
    { name: 'a blocked change', items: [item('blocked')], errors: 0, want: 1 },
    { name: 'invalid manifests', items: [item('update')], errors: 1, want: 1 },
    { name: 'an unreported host', items: [item('unreported')], errors: 0, want: 0 },
    { name: 'an unreported host with --require-host-reports', items: [item('unreported')], errors: 0, want: 1, require: true },
  ])('$name → $want', ({ items, errors, want, require }) => {
    expect(exitCodeOf(items, errors, { requireHostReports: require })).toBe(want);
  });
});

describe('planDocument', () => {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats.default(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(new URL('../../../schemas/plan.v1.json', import.meta.url), 'utf8')) as object);

  it('carries the summary, the hosts and the items without no-ops, and validates against schemas/plan.v1.json', () => {
    const doc = planDocument(ITEMS, ['h2', 'h1'], [{ file: 'a.yaml', line: 3, documentIndex: 0, key: 'Network/x', field: 'spec.mtu', message: 'bad' }], { now: new Date('2026-12-04T11:00:00Z') });
    expect(validate(doc)).toBe(true);
    expect(doc).toMatchObject({
      apiVersion: 'plan.netform.io/v1',
      kind: 'Plan',
      generatedAt: '2026-12-04T11:00:00.000Z',
      summary: { update: 2, vms: { replug: 0, connectivityLoss: 0, linkFlap: 0, blocking: 0 }, impact: 'no VM is affected' },
      hosts: [
        { name: 'h1', reported: true, asOf: '2026-12-04T10:00:00.000Z' },
        { name: 'h2', reported: false },
      ],
      errors: [{ file: 'a.yaml', line: 3, document: 1, object: 'Network/x', field: 'spec.mtu', message: 'bad' }],
      exitCode: 1,
    });
    expect(doc.items.map((i) => i.action)).toEqual(['update', 'update']);
    // No endpoint reached: the summary is as it was before endpoints were counted.
    expect('endpoints' in doc.summary).toBe(false);
  });

  it('names the service endpoints a change reaches, counts them in summary.endpoints, and still validates', () => {
    const items: PlanItem[] = [
      {
        object: 'Network/web',
        target: 'neutron:os',
        resource: 'network',
        action: 'update',
        externalId: 'n1',
        changes: [{ path: 'mtu', from: 1500, to: 9000 }],
        impact: [
          { kind: 'replug', vnic: 'shop/vm1-nic0', vm: 'shop/vm1', host: 'h1', network: 'web', reason: 'r' },
          { kind: 'replug', endpoint: 'edge/fw', service: 'firewall', host: 'h1', network: 'web', reason: 'r' },
        ],
      },
      { object: 'ServiceEndpoint/edge/vip', target: 'neutron:os', resource: 'port', action: 'replace', impact: [{ kind: 'connectivity-loss', endpoint: 'edge/vip', service: 'loadbalancer', network: 'web', reason: "the endpoint's port is re-made" }] },
    ];
    const doc = planDocument(items, [], []);
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(doc.summary).toMatchObject({
      vms: { replug: 1, connectivityLoss: 0, linkFlap: 0, blocking: 0 },
      endpoints: { replug: 1, connectivityLoss: 1, linkFlap: 0, blocking: 0 },
      impact: '1 service endpoint loses connectivity during the change, 1 VM needs a re-plug, 1 service endpoint needs a re-plug',
    });
    // The endpoint is named, not empty; the counts are whole numbers.
    const bad = structuredClone(doc);
    bad.items[0]!.impact![1]!.endpoint = '';
    expect(validate(bad)).toBe(false);
    expect(validate({ ...doc, summary: { ...doc.summary, endpoints: { ...doc.summary.endpoints!, replug: -1 } } })).toBe(false);
  });

  it('the schema refuses what is not a plan', () => {
    const doc = planDocument(ITEMS, [], []);
    expect(validate({ ...doc, apiVersion: 'plan.netform.io/v2' })).toBe(false);
    expect(validate({ ...doc, items: [{ ...doc.items[0], action: 'explode' }] })).toBe(false);
    expect(validate({ ...doc, exitCode: 3 })).toBe(false);
    expect(validate({ ...doc, extra: 1 })).toBe(false);
  });
});
