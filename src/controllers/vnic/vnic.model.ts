// From a VnicAttachment to the model drivers receive. Pure.
import type { VnicAttachment } from '../../api/kinds.ts';
import type { VnicModel } from '../../drivers/model.ts';

export function toVnicModel(v: VnicAttachment, networkExternalId: string): VnicModel {
  const m: VnicModel = {
    name: `${v.metadata.namespace ?? 'default'}/${v.metadata.name}`,
    vmName: v.spec.vm.name,
    interfaceName: v.spec.interfaceName,
    host: v.spec.host,
    network: v.spec.network,
    networkExternalId,
    plugged: v.spec.plugged,
    linked: v.spec.linked,
  };
  if (v.spec.vm.uid) m.vmUid = v.spec.vm.uid;
  if (v.spec.mac) m.mac = v.spec.mac.toLowerCase();
  return m;
}
