// Cisco VIC dynamic vNICs: a vNIC on a network carried by a UCS Manager domain takes one dynamic vNIC
// of its host's VIC (VM-FEX). The host agent reports how many the VIC has; netform counts how many the
// host's attachments take, so a host is refused before its VIC runs out, not after. Reads the store,
// the records and the agents' reports only.
import { objectKey } from '../../api/kinds.ts';
import type { HostReport } from '../../drivers/host-driver.ts';
import type { Runtime } from '../runtime/runtime.ts';

type View = Pick<Runtime, 'store' | 'records' | 'reports'>;

/** Whether a vNIC on the network takes a dynamic vNIC: the network rides a UCS Manager domain. */
export function needsDynamicVnic(rt: Pick<Runtime, 'store'>, network: string): boolean {
  return (rt.store.object('Network', network)?.spec.providerRefs ?? []).some((ref) => rt.store.object('Provider', ref.name)?.spec.type === 'ucsm');
}

/** The VIC's dynamic vNICs as the host's agent last reported them; undefined before any report. */
export function dynamicVnicTotal(rt: Pick<Runtime, 'reports'>, host: string): number | undefined {
  return (rt.reports.get(objectKey('Host', host)) as HostReport | undefined)?.dynamicVnics.total;
}

/**
 * The attachments that hold the host's dynamic vNICs, in the order they get them: those already bound
 * to the host first (a new attachment never takes a slot from one that has it), then by key.
 */
export function dynamicVnicHolders(rt: View, host: string): string[] {
  const bound = (key: string) => rt.records.get(key)?.status.host === host;
  return rt.store
    .list('VnicAttachment')
    .filter((v) => v.spec.host === host && v.spec.plugged && needsDynamicVnic(rt, v.spec.network))
    .map((v) => objectKey('VnicAttachment', v.metadata.name, v.metadata.namespace))
    .sort((a, b) => (bound(a) === bound(b) ? (a < b ? -1 : a > b ? 1 : 0) : bound(a) ? -1 : 1));
}

/** Why the attachment cannot have a dynamic vNIC on its host; undefined when it can (or needs none, or
 *  the host's VIC is not known yet). */
export function capacityProblem(rt: View, key: string, host: string, network: string, plugged: boolean): string | undefined {
  if (!plugged || !needsDynamicVnic(rt, network)) return undefined;
  const total = dynamicVnicTotal(rt, host);
  if (total === undefined) return undefined;
  const holders = dynamicVnicHolders(rt, host);
  const rank = holders.indexOf(key);
  if (rank < total) return undefined;
  const taken = holders.slice(0, total).map((k) => k.slice('VnicAttachment/'.length));
  const named = taken.length > 5 ? `${taken.slice(0, 5).join(', ')} and ${taken.length - 5} more` : taken.join(', ');
  return total === 0 ? `host ${host} has no free dynamic vNIC: its VIC has none` : `host ${host} has no free dynamic vNIC: its VIC has ${total}, all taken (${named})`;
}
