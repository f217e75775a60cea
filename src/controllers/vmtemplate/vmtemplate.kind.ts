// VmNetworkTemplate and VmNetworkBinding. Admission expands each binding into one VnicAttachment per
// vNIC of its template (state/templates.ts); those are reconciled as any vNIC. The template reports
// how many VMs use it; the binding reports its VM's vNICs, and in a plan names the VM a template or
// binding edit reaches.
import { createHash } from 'node:crypto';
import { isReady } from '../../api/conditions.ts';
import { objectKey } from '../../api/kinds.ts';
import { BINDING_LABEL } from '../../state/templates.ts';
import { defineKind } from '../runtime/kind.ts';

export const vmTemplateKind = defineKind({
  kind: 'VmNetworkTemplate',

  keyFigure: (r) => (r.status.vms === undefined ? '' : `${String(r.status.vms)} VMs`),

  usedBy: (rt, key) => ({ users: rt.store.referrers(key), waitingFor: 'waiting for the VmNetworkBindings that use it to go' }),

  summarize({ rt, key, object: t, rec }) {
    rec.status.vms = rt.store.referrers(key).filter((k) => k.startsWith('VmNetworkBinding/')).length;
    return {
      outcome: {
        ready: { status: 'True', reason: 'Available', message: `${t.spec.vnics.length} vNICs, used by ${String(rec.status.vms)} VMs` },
        synced: { status: 'True', reason: 'ReconcileSuccess' },
      },
    };
  },
});

interface AttachmentRow {
  name: string;
  vnic: string;
  ready: boolean;
  mac?: string;
  message?: string;
  digest: string;
}

export const vmBindingKind = defineKind({
  kind: 'VmNetworkBinding',

  keyFigure: (r) => {
    const rows = (r.status.attachments as AttachmentRow[] | undefined) ?? [];
    return rows.length ? `${rows.filter((a) => a.ready).length}/${rows.length} vNICs` : '';
  },

  references: (b) => [objectKey('VmNetworkTemplate', b.spec.templateRef.name, b.metadata.namespace)],

  summarize({ rt, key, object: b, rec }) {
    const ns = b.metadata.namespace ?? 'default';
    const mine = rt.store.list('VnicAttachment').filter((v) => (v.metadata.namespace ?? 'default') === ns && v.metadata.labels?.[BINDING_LABEL] === b.metadata.name);
    const before = new Map(((rec.status.attachments as AttachmentRow[] | undefined) ?? []).map((a) => [a.vnic, a]));
    const rows: AttachmentRow[] = mine
      .map((v) => {
        const r = rt.records.get(objectKey('VnicAttachment', v.metadata.name, ns));
        const ready = isReady(r?.status);
        const row: AttachmentRow = { name: v.metadata.name, vnic: v.spec.interfaceName, ready, digest: createHash('sha256').update(JSON.stringify(v.spec)).digest('hex').slice(0, 16) };
        const mac = r?.status.mac as string | undefined;
        if (mac) row.mac = mac;
        const why = r?.status.conditions?.find((c) => c.type === 'Ready' && c.status !== 'True')?.message;
        if (!ready) row.message = why ?? 'not reconciled yet';
        return row;
      })
      .sort((x, y) => (x.vnic < y.vnic ? -1 : 1));
    if (rt.dryRun) {
      // A template or binding edit: name the VM it reaches and how.
      const changed = [
        ...rows.filter((r) => before.get(r.vnic)?.digest !== r.digest).map((r) => (before.has(r.vnic) ? `${r.vnic} changes` : `${r.vnic} is added`)),
        ...[...before.keys()].filter((v) => !rows.some((r) => r.vnic === v)).map((v) => `${v} is removed`),
      ];
      if (changed.length && before.size) {
        rt.plan.push({ object: key, target: 'netform', resource: 'vm', action: 'update', message: `VM ${b.spec.vm.name} on ${b.spec.host} (template ${b.spec.templateRef.name}): ${changed.join(', ')}` });
      }
      return {};
    }
    rec.status.attachments = rows;
    const waiting = rows.filter((r) => !r.ready);
    return {
      outcome: waiting.length
        ? {
            ready: { status: 'False', reason: 'WaitingForDependencies', message: waiting.map((r) => `${r.vnic}: ${r.message ?? ''}`).join('; ') },
            synced: { status: 'True', reason: 'ReconcileSuccess' },
            progressing: true,
          }
        : {
            ready: { status: 'True', reason: 'Available', message: `${rows.length} vNICs of VM ${b.spec.vm.name} Ready on ${b.spec.host}` },
            synced: { status: 'True', reason: 'ReconcileSuccess' },
          },
      requeue: waiting.length ? 'wait' : 'resync',
    };
  },
});
