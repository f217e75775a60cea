// Service endpoints on Neutron ⇄ netform's model: the port bodies, the diff. A service endpoint is a
// port like a vNIC's (normalizePort reads both) whose device_owner names the service. Pure.
import type { FieldChange, Owner } from '../driver.ts';
import type { ServiceEndpointModel } from '../model.ts';
import { addressPairsBody, canonicalCidr, canonicalIp, changeList, fixedIpsBody, fixedIpsMatch, pendingMarker, sortedPairs, type PortState } from './mapping.ts';

/**
 * The device_owner of an endpoint's port. Neutron gives meaning to a few prefixes: `network:` marks
 * its own ports (trusted: no port security or security groups applied, and only an admin may set it),
 * `compute:` a VM's, `neutron:` its old load balancers' (also exempt from security groups), and
 * `baremetal:` Ironic's. `netform:` is none of them, so the port is filtered like any other.
 */
export const deviceOwnerOf = (service: string) => `netform:${service}`;

/** An address or a CIDR as compared: canonical where it parses (Neutron keeps what it was sent). */
function canonicalPairAddress(text: string): string {
  return text.includes('/') ? canonicalCidr(text) : (canonicalIp(text) ?? text);
}

/** The pairs a port should carry (a pair without a MAC uses the port's `mac`), sorted, canonical. */
export function wantedPairs(m: ServiceEndpointModel, mac: string): { ipAddress: string; macAddress: string }[] {
  if (m.promiscuous) return [];
  return sortedPairs(m.allowedAddressPairs.map((a) => ({ ipAddress: canonicalPairAddress(a.ipAddress), macAddress: (a.macAddress ?? mac).toLowerCase() })));
}

function observedPairs(s: PortState): { ipAddress: string; macAddress: string }[] {
  return sortedPairs(s.allowedAddressPairs.map((a) => ({ ipAddress: canonicalPairAddress(a.ipAddress), macAddress: a.macAddress })));
}

/**
 * The attributes an update writes, for a port this owner made (`ours`) or one it imported (which
 * keeps its own name, description and device_owner, and its binding unless the model names a host).
 * Promiscuous: port security off, no pairs, no groups (Neutron refuses either without port
 * security). Otherwise the groups the model names; naming none, the groups are left as they are —
 * except when port security comes back on (`defaultGroup`: the project's default group, which
 * Neutron gives a new port but not one whose port security is turned on again).
 */
export function endpointMutableBody(m: ServiceEndpointModel, ours: boolean, defaultGroup?: string): Record<string, unknown> {
  const b: Record<string, unknown> = {};
  if (ours) {
    b.name = m.name;
    b.description = m.description ?? '';
    b.device_owner = deviceOwnerOf(m.service);
  }
  if (ours || m.host !== undefined) b['binding:host_id'] = m.host ?? '';
  b.port_security_enabled = !m.promiscuous;
  b.allowed_address_pairs = m.promiscuous ? [] : addressPairsBody(m.allowedAddressPairs);
  if (m.promiscuous) b.security_groups = [];
  else if (m.securityGroupIds) b.security_groups = [...m.securityGroupIds].sort();
  else if (defaultGroup) b.security_groups = [defaultGroup];
  return b;
}

/** The POST body of a new endpoint port: marked pending until it is tagged. */
export function endpointBody(m: ServiceEndpointModel, owner: Owner, projectId: string | undefined): Record<string, unknown> {
  const b = endpointMutableBody(m, true);
  // Unbound needs no binding; naming no group gets Neutron's default group.
  if (m.host === undefined) delete b['binding:host_id'];
  b.network_id = m.networkExternalId;
  b.description = pendingMarker(owner);
  if (m.mac) b.mac_address = m.mac;
  if (m.fixedIps) b.fixed_ips = fixedIpsBody(m.fixedIps, []);
  if (projectId) b.project_id = projectId;
  return b;
}

/**
 * What differs between the model and the observed port. The network and the MAC cannot change in
 * place. An imported port (not `ours`) keeps its own name, description and device_owner, and is
 * compared for its binding only when the model names a host. Groups are compared when the model names
 * some (or is promiscuous: none); naming none leaves the backend's default.
 */
export function diffEndpoint(m: ServiceEndpointModel, s: PortState): FieldChange[] {
  const { out, cmp } = changeList();
  cmp('network', m.networkExternalId, s.networkId, true);
  if (m.mac) cmp('mac', m.mac.toLowerCase(), s.mac, true);
  if (s.ours) {
    cmp('name', m.name, s.name);
    cmp('description', m.description ?? '', s.description);
    cmp('service', deviceOwnerOf(m.service), s.deviceOwner);
    if (!s.tagged) out.push({ path: 'tags', from: 'untagged', to: 'owner tags' });
  }
  if (s.ours || m.host !== undefined) cmp('host', m.host ?? '', s.host);
  if (m.fixedIps && !fixedIpsMatch(m.fixedIps, s.fixedIps)) {
    out.push({ path: 'fixedIps', from: s.fixedIps.map((f) => f.ipAddress), to: m.fixedIps.map((f) => f.ipAddress ?? `any on ${f.subnetId}`) });
  }
  cmp('promiscuous', m.promiscuous, !s.portSecurity);
  cmp('allowedAddressPairs', wantedPairs(m, m.mac?.toLowerCase() ?? s.mac), observedPairs(s));
  if (m.promiscuous) cmp('securityGroups', [], s.securityGroups);
  else if (m.securityGroupIds) cmp('securityGroups', [...m.securityGroupIds].sort(), s.securityGroups);
  return out;
}
