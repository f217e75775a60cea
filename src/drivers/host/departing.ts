// vNICs whose VM migrated away (HostVnicModel.departing): the device stays while a process still holds
// it - the VM on this host until the hypervisor's switch-over ends it; a tap has carrier (operstate UP)
// only while a process has it open - and goes once it is released. A departing vNIC whose device is
// gone is not made again. Pure.
import { vnicDeviceName, type HostModel } from '../host-driver.ts';
import type { ObservedHost } from './model.ts';

/** The model with each departing vNIC either kept as it is (its device still held) or left out. */
export function settleDeparting(m: HostModel, observed: ObservedHost): HostModel {
  if (!m.vnics.some((v) => v.departing)) return m;
  const held = (key: string) => observed.links.find((l) => l.name === vnicDeviceName(key))?.operstate === 'UP';
  return {
    ...m,
    vnics: m.vnics.flatMap((v) => {
      if (!v.departing) return [v];
      if (!v.plugged || !held(v.key)) return [];
      const { departing: _d, ...kept } = v;
      return [kept];
    }),
  };
}
