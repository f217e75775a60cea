// VM network templates: each VmNetworkBinding is expanded into one VnicAttachment per vNIC of the
// template it names, `<binding>-<vnic>` in the binding's namespace, labelled with both. The generated
// attachments are desired state like declared ones (admission checks them, the engine reconciles
// them) and are netform's own: they change with the template and the binding and go with the
// binding. Pure.
import { keyOf, objectKey, type AnyResource, type VmNetworkBinding, type VmNetworkTemplate, type VnicAttachment } from '../api/kinds.ts';
import { GROUP_VERSION } from '../api/crds.ts';
import { validateSpec } from '../api/validate.ts';

export const BINDING_LABEL = 'netform.io/vm-network-binding';
export const TEMPLATE_LABEL = 'netform.io/vm-network-template';

export interface Generated {
  object: VnicAttachment;
  /** The key of the binding it was expanded from. */
  from: string;
  /** The template's vNIC it realizes. */
  vnic: string;
}

export interface ExpansionProblem {
  /** The binding's key. */
  key: string;
  pointer: string;
  message: string;
}

/** The name of the attachment a binding's vNIC becomes. */
export const generatedName = (binding: string, vnic: string) => `${binding}-${vnic}`;

export function expandTemplates(objects: readonly AnyResource[]): { generated: Generated[]; problems: ExpansionProblem[] } {
  const templates = new Map<string, VmNetworkTemplate>();
  const profiles = new Map<string, string>();
  const declared = new Set(objects.map(keyOf));
  for (const o of objects) {
    if (o.kind === 'VmNetworkTemplate') templates.set(keyOf(o), o);
    if (o.kind === 'VnicProfile') profiles.set(keyOf(o), o.spec.network);
  }
  const generated: Generated[] = [];
  const problems: ExpansionProblem[] = [];
  for (const b of objects.filter((o): o is VmNetworkBinding => o.kind === 'VmNetworkBinding')) {
    const ns = b.metadata.namespace ?? 'default';
    const key = keyOf(b);
    const t = templates.get(objectKey('VmNetworkTemplate', b.spec.templateRef.name, ns));
    if (!t) {
      problems.push({ key, pointer: '/spec/templateRef/name', message: `VmNetworkTemplate "${ns}/${b.spec.templateRef.name}" does not exist` });
      continue;
    }
    const macs = new Map((b.spec.macs ?? []).map((m) => [m.vnic, m.mac]));
    (b.spec.macs ?? []).forEach((m, i) => {
      if (!t.spec.vnics.some((v) => v.name === m.vnic)) problems.push({ key, pointer: `/spec/macs/${i}/vnic`, message: `template ${t.metadata.name} has no vNIC "${m.vnic}"` });
    });
    for (const v of t.spec.vnics) {
      const network = v.network ?? (v.profile ? profiles.get(objectKey('VnicProfile', v.profile, ns)) : undefined);
      const name = generatedName(b.metadata.name, v.name);
      const at = `template ${t.metadata.name}, vNIC ${v.name}`;
      if (!network) {
        problems.push({ key, pointer: '/spec/templateRef/name', message: `${at}: ${v.profile ? `VnicProfile "${ns}/${v.profile}" does not exist` : 'names neither a profile nor a network'}` });
        continue;
      }
      if (declared.has(objectKey('VnicAttachment', name, ns))) {
        problems.push({ key, pointer: '/metadata/name', message: `${at} would become VnicAttachment ${ns}/${name}, which is declared already` });
        continue;
      }
      const spec: Record<string, unknown> = {
        vm: b.spec.vm.uid ? { name: b.spec.vm.name, uid: b.spec.vm.uid } : { name: b.spec.vm.name },
        interfaceName: v.name,
        network,
        host: b.spec.host,
        plugged: b.spec.plugged,
        linked: v.linked,
      };
      if (v.profile) spec.profileRef = { name: v.profile };
      const mac = macs.get(v.name);
      if (mac) spec.mac = mac;
      const checked = validateSpec<VnicAttachment['spec']>('VnicAttachment', spec);
      if (checked.violations.length) {
        problems.push({ key, pointer: '/spec/templateRef/name', message: `${at}: ${checked.violations.map((x) => `${x.pointer} ${x.message}`).join('; ')}` });
        continue;
      }
      generated.push({
        from: key,
        vnic: v.name,
        object: {
          apiVersion: GROUP_VERSION,
          kind: 'VnicAttachment',
          metadata: { name, namespace: ns, labels: { [BINDING_LABEL]: b.metadata.name, [TEMPLATE_LABEL]: t.metadata.name } },
          spec: checked.spec,
        } as VnicAttachment,
      });
    }
  }
  return { generated, problems };
}
