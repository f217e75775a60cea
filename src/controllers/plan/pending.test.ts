import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import type { ObjectRecord } from '../../state/records.ts';
import { planDocument } from './document.ts';
import { pendingApprovals, renderPendingApprovals } from './pending.ts';

const D1 = `sha256:${'a'.repeat(64)}`;
const D2 = `sha256:${'b'.repeat(64)}`;
const rec = (key: string, status: Record<string, unknown>): ObjectRecord =>
  ({ key, kind: key.split('/')[0], name: key.split('/').at(-1), uid: 'u', generation: 1, specHash: 'h', createdAt: '', spec: {}, status }) as unknown as ObjectRecord;

const RECORDS = [
  rec('Network/web', { pendingPlan: { digest: D1, computedAt: '2026-12-04T10:00:00Z', summary: '1 to update', impact: '2 VMs need a re-plug', changes: ['~ Network/web  neutron:os network  (update)', '    mtu: 1500 → 9000'] } }),
  rec('Host/hv1', { pendingPlan: { digest: D2, computedAt: '2026-12-04T10:01:00Z', asOf: '2026-12-04T09:59:00Z' } }),
  rec('Network/db', {}),
  rec('Network/odd', { pendingPlan: { digest: 'not-a-digest', computedAt: 'x' } }),
];

describe('pendingApprovals', () => {
  it('lists the objects whose status holds a plan, by key, leaving out those without one or with a malformed digest', () => {
    expect(pendingApprovals(RECORDS)).toEqual([
      { object: 'Host/hv1', digest: D2, computedAt: '2026-12-04T10:01:00Z', asOf: '2026-12-04T09:59:00Z' },
      { object: 'Network/web', digest: D1, computedAt: '2026-12-04T10:00:00Z', summary: '1 to update', impact: '2 VMs need a re-plug', changes: ['~ Network/web  neutron:os network  (update)', '    mtu: 1500 → 9000'] },
    ]);
  });

  it('renders each with its digest, when, summary, impact, changes and how to approve it', () => {
    const text = renderPendingApprovals(pendingApprovals(RECORDS), (p) => `approve ${p.object} --plan ${p.digest}`);
    expect(text.split('\n')).toEqual([
      `pending approval: Host/hv1  ${D2}  (computed at 2026-12-04T10:01:00Z, as of the report taken at 2026-12-04T09:59:00Z)`,
      `    approve: approve Host/hv1 --plan ${D2}`,
      `pending approval: Network/web  ${D1}  (computed at 2026-12-04T10:00:00Z)`,
      '    1 to update; impact: 2 VMs need a re-plug',
      '    ~ Network/web  neutron:os network  (update)',
      '        mtu: 1500 → 9000',
      `    approve: approve Network/web --plan ${D1}`,
    ]);
  });

  it('a plan document carrying them validates against schemas/plan.v1.json; a malformed one does not', () => {
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    addFormats.default(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(new URL('../../../schemas/plan.v1.json', import.meta.url), 'utf8')) as object);
    const doc = { ...planDocument([], [], []), pendingApprovals: pendingApprovals(RECORDS) };
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...doc, pendingApprovals: [{ object: 'Network/web', digest: 'sha256:x', computedAt: '' }] })).toBe(false);
    expect(validate({ ...doc, pendingApprovals: [{ object: 'Network/web', digest: D1 }] })).toBe(false);
    expect(validate({ ...doc, pendingApprovals: [{ object: 'Network/web', digest: D1, computedAt: '', extra: 1 }] })).toBe(false);
  });
});
