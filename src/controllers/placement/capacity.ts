// Cisco VIC dynamic vNICs: a vNIC on a network carried by a UCS Manager domain takes one dynamic vNIC
// of its host's VIC (VM-FEX), and so does a service endpoint on such a network that names the host
// (its device is there, like a vNIC's). The host agent reports how many the VIC has; netform counts
// how many the host's attachments and endpoints take, so a host is refused before its VIC runs out,
// not after. Reads the store, the records and the agents' reports only.
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
 * The attachments and service endpoints that hold the host's dynamic vNICs (their keys), in the order
 * they get them: those already bound to the host first (their status records it: a newcomer never takes
 * a slot from one that has it), then by key.
 */
export function dynamicVnicHolders(rt: View, host: string): string[] {
  const bound = (key: string) => rt.records.get(key)?.status.host === host;
  const vnics = rt.store
    .list('VnicAttachment')
    .filter((v) => v.spec.host === host && v.spec.plugged && needsDynamicVnic(rt, v.spec.network))
    .map((v) => objectKey('VnicAttachment', v.metadata.name, v.metadata.namespace));
  const endpoints = rt.store
    .list('ServiceEndpoint')
    .filter((e) => e.spec.host === host && needsDynamicVnic(rt, e.spec.network))
    .map((e) => objectKey('ServiceEndpoint', e.metadata.name, e.metadata.namespace));
  return [...vnics, ...endpoints].sort((a, b) => (bound(a) === bound(b) ? (a < b ? -1 : a > b ? 1 : 0) : bound(a) ? -1 : 1));
}

/** Holders in words: a vNIC as `<namespace>/<name>`, an endpoint as `service endpoint <namespace>/<name>`;
 *  past five, "and N more". */
export function holderNames(keys: readonly string[]): string {
  const name = (k: string) => (k.startsWith('ServiceEndpoint/') ? `service endpoint ${k.slice('ServiceEndpoint/'.length)}` : k.slice(k.indexOf('/') + 1));
  const named = keys.slice(0, 5).map(name).join(', ');
  return keys.length > 5 ? `${named} and ${keys.length - 5} more` : named;
}

/** Why the attachment (or service endpoint) cannot have a dynamic vNIC on its host; undefined when it
 *  can (or needs none, or the host's VIC is not known yet). */
export function capacityProblem(rt: View, key: string, host: string, network: string, plugged: boolean): string | undefined {
  if (!plugged || !needsDynamicVnic(rt, network)) return undefined;
  const total = dynamicVnicTotal(rt, host);
  if (total === undefined) return undefined;
  const holders = dynamicVnicHolders(rt, host);
  const rank = holders.indexOf(key);
  if (rank < total) return undefined;
  return total === 0
    ? `host ${host} has no free dynamic vNIC: its VIC has none`
    : `host ${host} has no free dynamic vNIC: its VIC has ${total}, all taken (${holderNames(holders.slice(0, total))})`;
}
