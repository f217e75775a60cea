// Neutron v2.0 ⇄ netform's model: request bodies, normalized observed state, diffs, owner tags and
// error classification. Pure.
import { sameContent } from '../../api/json.ts';
import { BackendError, type ErrorClass } from '../../api/errors.ts';
import { formatAddress, parseAddress, parsePrefix } from '../../api/ip.ts';
import { ownerDigest, type FieldChange, type Owner } from '../driver.ts';
import type { AddressPair, NetworkModel, SubnetModel, VnicModel, VnicProfileModel, VnicRate } from '../model.ts';

/** Marks every Neutron object netform creates. Neutron tags are at most 60 characters. */
export const NETFORM_TAG = 'netform';
export const instanceTag = (instance: string) => `nf-inst:${instance}`;
export const ownerTag = (o: Owner) => `nf-own:${ownerDigest(o)}`;
export const ownerTags = (o: Owner) => [NETFORM_TAG, instanceTag(o.instance), ownerTag(o)];
/** The owner-tag prefix: an object carrying one that is not ours belongs to someone else. */
export const OWNER_PREFIX = 'nf-own:';
/**
 * Neutron (Zed) refuses `tags` in a POST (networks, subnets; a port's are silently dropped), so an
 * object is created with this marker as its description and tagged right after. A process that dies
 * in between leaves an object that is still found by its marker and adopted — never a duplicate. A
 * network or port created without a description keeps it once tagged (see `ownedDescription`, ADR 24).
 */
export const pendingMarker = (o: Owner) => `netform-pending:${ownerDigest(o)}`;
/** The name of a network's own QoS policy (found by name, so it needs no tag to be adopted). */
export const policyName = (o: Owner) => `nf-${ownerDigest(o)}`;

// ---- what Neutron returns (the fields we read) -----------------------------------------------------

export interface NeutronNetwork {
  id: string;
  name: string;
  description?: string;
  project_id?: string;
  /** Ids of the network's subnets. */
  subnets?: string[];
  'provider:network_type'?: string | null;
  'provider:physical_network'?: string | null;
  'provider:segmentation_id'?: number | null;
  mtu: number;
  shared: boolean;
  'router:external'?: boolean;
  admin_state_up: boolean;
  port_security_enabled?: boolean;
  qos_policy_id?: string | null;
  tags?: string[];
  revision_number: number;
}

export interface NeutronSubnet {
  id: string;
  name: string;
  network_id: string;
  ip_version: 4 | 6;
  cidr: string;
  gateway_ip: string | null;
  allocation_pools: { start: string; end: string }[];
  dns_nameservers: string[];
  host_routes: { destination: string; nexthop: string }[];
  enable_dhcp: boolean;
  ipv6_address_mode?: string | null;
  ipv6_ra_mode?: string | null;
  description?: string;
  tags?: string[];
  revision_number: number;
}

export interface NeutronPort {
  id: string;
  name: string;
  network_id: string;
  mac_address: string;
  device_id: string;
  device_owner: string;
  admin_state_up: boolean;
  'binding:host_id'?: string;
  project_id?: string;
  fixed_ips: { subnet_id: string; ip_address: string }[];
  qos_policy_id?: string | null;
  port_security_enabled?: boolean;
  allowed_address_pairs?: { ip_address: string; mac_address?: string }[];
  security_groups?: string[];
  status?: string;
  tags?: string[];
  revision_number: number;
}

export interface NeutronQosPolicy {
  id: string;
  name: string;
  rules?: { id?: string; type: string; max_kbps?: number; max_burst_kbps?: number; direction?: string }[];
  tags?: string[];
  revision_number: number;
}

// ---- normalized observed state -------------------------------------------------------------------

export interface SubnetState extends SubnetModel {
  id: string;
  revision: number;
  /** Whether it carries the installation's mark in its description (`subnetMarker`): only a marked
   *  subnet is in the installation's listing (ADR 24). */
  marked: boolean;
}

export interface NetworkState {
  /** Whether netform created the object (owner tag or pending marker): only then is a different name
   *  drift, and only then does netform tag it. */
  ours: boolean;
  /** Whether it carries the owner tags (false right after a create that did not get to tag it). */
  tagged: boolean;
  name: string;
  description: string;
  networkType: string | null;
  physicalNetwork: string | null;
  vlan: number | null;
  mtu: number;
  shared: boolean;
  external: boolean;
  adminStateUp: boolean;
  portSecurity: boolean;
  qos: { maxRateKbps?: number; maxBurstKbps?: number } | null;
  qosPolicyId: string | null;
  /** The network's own QoS policy (by name), attached or not: a left-over one is removed. */
  ownPolicyId: string | null;
  subnets: SubnetState[];
}

export interface PortState {
  ours: boolean;
  tagged: boolean;
  description: string;
  name: string;
  networkId: string;
  mac: string;
  deviceId: string;
  /** Who the port is for, as Neutron has it (`compute:netform` for a vNIC, `netform:<service>` for a service endpoint). */
  deviceOwner: string;
  /** The project the port belongs to ('' when Neutron does not say). */
  projectId: string;
  host: string;
  adminStateUp: boolean;
  addresses: string[];
  /** The port's own QoS policy (null: the network's applies). */
  qosPolicyId: string | null;
  portSecurity: boolean;
  /** Sorted, MACs lower case (Neutron fills in the port's own MAC where none was given). */
  allowedAddressPairs: { ipAddress: string; macAddress: string }[];
  /** The ids of its security groups, sorted. */
  securityGroups: string[];
  /** As Neutron lists them. */
  fixedIps: { subnetId: string; ipAddress: string }[];
}

/** A bandwidth-limit rule as netform compares it: Neutron's max_kbps and max_burst_kbps (0: its default). */
export interface LimitRule {
  maxKbps: number;
  maxBurstKbps: number;
}

/** A vNIC profile's QoS policy: one bandwidth-limit rule per limited direction, as seen from the
 *  port (egress: from the VM; ingress: to it). */
export interface ProfilePolicyState {
  /** Whether it carries the owner tag (a create that died before tagging it leaves it untagged). */
  tagged: boolean;
  name: string;
  egress: LimitRule | null;
  ingress: LimitRule | null;
  /** The rule ids by direction, for updates; more than one rule of a direction is drift. */
  ruleIds: { egress: string[]; ingress: string[] };
}

export const hasTag = (tags: readonly string[] | undefined, tag: string) => (tags ?? []).includes(tag);

/** The owner tag on an object that is someone else's (another netform object or installation). */
export function foreignOwner(tags: readonly string[] | undefined, o: Owner): string | undefined {
  const mine = ownerTag(o);
  return (tags ?? []).find((t) => t.startsWith(OWNER_PREFIX) && t !== mine);
}

export function canonicalIp(ip: string | null | undefined): string | null {
  if (ip === null || ip === undefined) return null;
  const a = parseAddress(ip);
  return a ? formatAddress(a) : ip;
}

export function canonicalCidr(cidr: string): string {
  return parsePrefix(cidr)?.canonical ?? cidr;
}

/**
 * The description of a subnet netform creates: its installation's tag. A subnet belongs to its
 * network; this marks it as netform's in the create itself, so that the installation's listing finds
 * it (`?description=`) with no `PUT …/tags` per subnet (ADR 24). Subnets made before carry tags
 * instead; a network's re-check marks them (one PUT each, once), and until then that network is read
 * directly instead of from the listing.
 */
export const subnetMarker = (instance: string) => instanceTag(instance);

export function normalizeSubnet(s: NeutronSubnet, instance?: string): SubnetState {
  const out: SubnetState = {
    id: s.id,
    revision: s.revision_number,
    marked: instance !== undefined && s.description === subnetMarker(instance),
    name: s.name,
    cidr: canonicalCidr(s.cidr),
    ipVersion: s.ip_version,
    gateway: canonicalIp(s.gateway_ip),
    allocationPools: s.allocation_pools.map((p) => ({ start: canonicalIp(p.start)!, end: canonicalIp(p.end)! })),
    dnsServers: s.dns_nameservers.map((d) => canonicalIp(d)!),
    hostRoutes: s.host_routes.map((r) => ({ destination: canonicalCidr(r.destination), nexthop: canonicalIp(r.nexthop)! })),
    dhcp: s.enable_dhcp,
  };
  if (s.ipv6_address_mode) out.ipv6AddressMode = s.ipv6_address_mode;
  if (s.ipv6_ra_mode) out.ipv6RaMode = s.ipv6_ra_mode;
  return out;
}

/** Whether an object was created by this owner: it has the owner tag, or the pending marker, or —
 *  given the name the owner's object has — it is that object half-marked (see `halfMarked`). */
export function isOurs(o: { tags?: string[]; description?: string; name?: string }, owner: Owner, name?: string): boolean {
  return hasTag(o.tags, ownerTag(owner)) || o.description === pendingMarker(owner) || (name !== undefined && halfMarked(o, owner, name));
}

/**
 * Whether an object carries some of netform's marks but no owner tag, and no other installation's
 * mark: what an interrupted marking by this installation leaves behind. Named like the owner's object
 * (or holding its VLAN segment, when no name is given), it is that object. Pure.
 */
export function halfMarked(o: { name?: string; tags?: string[] }, owner: Owner, name?: string): boolean {
  const tags = o.tags ?? [];
  if ((name !== undefined && o.name !== name) || tags.some((t) => t.startsWith(OWNER_PREFIX))) return false;
  return tags.includes(NETFORM_TAG) && tags.filter((t) => t.startsWith('nf-inst:')).every((t) => t === instanceTag(owner.instance));
}

export function normalizeNetwork(
  n: NeutronNetwork,
  subnets: readonly NeutronSubnet[],
  qos: NeutronQosPolicy | undefined,
  owner: Owner,
  ownPolicyId: string | null = null,
  name?: string,
): NetworkState {
  const rule = qos?.rules?.find((r) => r.type === 'bandwidth_limit');
  let q: NetworkState['qos'] = null;
  if (rule) {
    q = {};
    if (rule.max_kbps !== undefined) q.maxRateKbps = rule.max_kbps;
    if (rule.max_burst_kbps) q.maxBurstKbps = rule.max_burst_kbps;
  }
  const tag = ownerTag(owner);
  return {
    ours: isOurs(n, owner, name),
    tagged: hasTag(n.tags, tag),
    name: n.name,
    description: ownedDescription(n, owner),
    networkType: n['provider:network_type'] ?? null,
    physicalNetwork: n['provider:physical_network'] ?? null,
    vlan: n['provider:segmentation_id'] ?? null,
    mtu: n.mtu,
    shared: n.shared,
    external: n['router:external'] ?? false,
    adminStateUp: n.admin_state_up,
    portSecurity: n.port_security_enabled ?? true,
    qos: q,
    qosPolicyId: n.qos_policy_id ?? null,
    ownPolicyId,
    subnets: subnets.map((s) => normalizeSubnet(s, owner.instance)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
}

/**
 * A network's or a port's description as the spec sees it: one created without a description keeps
 * its pending marker once it is tagged as this owner's (ADR 24: clearing it is a PUT of the object,
 * which for a port bound to a host costs Neutron a binding attempt), and that reads as none. An
 * untagged one with the marker is still being made: the marker is its description, so an update
 * clears it.
 */
export function ownedDescription(n: { description?: string; tags?: string[] }, owner: Owner): string {
  const d = n.description ?? '';
  return d === pendingMarker(owner) && hasTag(n.tags, ownerTag(owner)) ? '' : d;
}

export function normalizePort(p: NeutronPort & { description?: string }, owner: Owner, name?: string): PortState {
  return {
    ours: isOurs(p, owner, name),
    tagged: hasTag(p.tags, ownerTag(owner)),
    description: ownedDescription(p, owner),
    name: p.name,
    networkId: p.network_id,
    mac: p.mac_address.toLowerCase(),
    deviceId: p.device_id,
    deviceOwner: p.device_owner,
    projectId: p.project_id ?? '',
    host: p['binding:host_id'] ?? '',
    adminStateUp: p.admin_state_up,
    addresses: p.fixed_ips.map((f) => f.ip_address),
    fixedIps: p.fixed_ips.map((f) => ({ subnetId: f.subnet_id, ipAddress: f.ip_address })),
    qosPolicyId: p.qos_policy_id ?? null,
    portSecurity: p.port_security_enabled ?? true,
    allowedAddressPairs: sortedPairs((p.allowed_address_pairs ?? []).map((a) => ({ ipAddress: a.ip_address, macAddress: (a.mac_address ?? p.mac_address).toLowerCase() }))),
    securityGroups: [...(p.security_groups ?? [])].sort(),
  };
}

export function normalizeProfilePolicy(p: NeutronQosPolicy, owner: Owner): ProfilePolicyState {
  const limits = (p.rules ?? []).filter((r) => r.type === 'bandwidth_limit');
  const of = (dir: 'egress' | 'ingress') => limits.filter((r) => (r.direction ?? 'egress') === dir);
  const rule = (dir: 'egress' | 'ingress'): LimitRule | null => {
    const rs = of(dir);
    return rs.length ? { maxKbps: rs[0]!.max_kbps ?? 0, maxBurstKbps: rs[0]!.max_burst_kbps ?? 0 } : null;
  };
  return {
    tagged: hasTag(p.tags, ownerTag(owner)),
    name: p.name,
    egress: rule('egress'),
    ingress: rule('ingress'),
    ruleIds: { egress: of('egress').map((r) => r.id!), ingress: of('ingress').map((r) => r.id!) },
  };
}

/** The rule a rate wants on Neutron; Neutron has no peak rate. */
export function limitRule(r: VnicRate | undefined): LimitRule | null {
  return r ? { maxKbps: r.averageKbps, maxBurstKbps: r.burstKb ?? 0 } : null;
}

/** What differs between a profile and its policy. */
export function diffProfilePolicy(m: VnicProfileModel, s: ProfilePolicyState): FieldChange[] {
  const { out, cmp } = changeList();
  if (!s.tagged) out.push({ path: 'tags', from: 'untagged', to: 'owner tags' });
  cmp('qos.outbound', limitRule(m.qos?.outbound), s.egress);
  cmp('qos.inbound', limitRule(m.qos?.inbound), s.ingress);
  if (s.ruleIds.egress.length > 1) out.push({ path: 'qos.outbound', from: `${s.ruleIds.egress.length} rules`, to: 'one' });
  if (s.ruleIds.ingress.length > 1) out.push({ path: 'qos.inbound', from: `${s.ruleIds.ingress.length} rules`, to: 'one' });
  return out;
}

// ---- request bodies ------------------------------------------------------------------------------

export function networkType(m: NetworkModel): 'vlan' | 'flat' {
  return m.vlan === undefined ? 'flat' : 'vlan';
}

/** The network fields Neutron changes in place (a PUT), by model field: its attribute name. */
export const NETWORK_MUTABLE_ATTRIBUTES: Readonly<Record<string, string>> = {
  name: 'name',
  description: 'description',
  mtu: 'mtu',
  shared: 'shared',
  external: 'router:external',
  adminStateUp: 'admin_state_up',
  portSecurity: 'port_security_enabled',
};

/** The body of a network POST: its description is the pending marker until it is tagged. */
export function networkBody(m: NetworkModel, owner: Owner, projectId: string | undefined): Record<string, unknown> {
  const b: Record<string, unknown> = {
    name: m.name,
    description: pendingMarker(owner),
    'provider:network_type': networkType(m),
    'provider:physical_network': m.physicalNetwork,
    mtu: m.mtu,
    shared: m.shared,
    'router:external': m.external ?? false,
    admin_state_up: m.adminStateUp,
    port_security_enabled: m.portSecurity,
  };
  if (m.vlan !== undefined) b['provider:segmentation_id'] = m.vlan;
  if (projectId) b.project_id = projectId;
  return b;
}

/** The mutable subnet fields as Neutron names them; undefined model fields are left to Neutron. */
export function subnetMutableBody(s: SubnetModel): Record<string, unknown> {
  const b: Record<string, unknown> = {
    name: s.name,
    enable_dhcp: s.dhcp,
    dns_nameservers: s.dnsServers ?? [],
    host_routes: s.hostRoutes ?? [],
  };
  if (s.gateway !== undefined) b.gateway_ip = s.gateway;
  if (s.allocationPools !== undefined) b.allocation_pools = s.allocationPools;
  return b;
}

export function subnetBody(s: SubnetModel, networkId: string, owner: Owner, projectId: string | undefined): Record<string, unknown> {
  const b: Record<string, unknown> = {
    ...subnetMutableBody(s),
    network_id: networkId,
    ip_version: s.ipVersion,
    cidr: s.cidr,
    description: subnetMarker(owner.instance),
  };
  if (s.ipv6AddressMode) b.ipv6_address_mode = s.ipv6AddressMode;
  if (s.ipv6RaMode) b.ipv6_ra_mode = s.ipv6RaMode;
  if (projectId) b.project_id = projectId;
  return b;
}

export function portBody(m: VnicModel, owner: Owner, projectId: string | undefined): Record<string, unknown> {
  const b: Record<string, unknown> = {
    ...portMutableBody(m),
    network_id: m.networkExternalId,
    device_owner: 'compute:netform',
    description: pendingMarker(owner),
  };
  if (m.mac) b.mac_address = m.mac;
  if (m.fixedIps) b.fixed_ips = fixedIpsBody(m.fixedIps, []);
  if (projectId) b.project_id = projectId;
  return b;
}

/**
 * The fixed_ips a port should have: each wanted entry, where one without an address keeps the
 * address the port already has on that subnet (one not named by another entry), so an update never
 * re-allocates it. Null when the model leaves addresses to Neutron.
 */
export function fixedIpsBody(want: NonNullable<VnicModel['fixedIps']>, have: readonly { subnetId: string; ipAddress: string }[]): { subnet_id: string; ip_address?: string }[] {
  const named = new Set(want.filter((w) => w.ipAddress).map((w) => canonicalIp(w.ipAddress!)));
  const spare = have.filter((h) => !named.has(canonicalIp(h.ipAddress)));
  return want.map((w) => {
    if (w.ipAddress) return { subnet_id: w.subnetId, ip_address: w.ipAddress };
    const i = spare.findIndex((h) => h.subnetId === w.subnetId);
    if (i < 0) return { subnet_id: w.subnetId };
    const [kept] = spare.splice(i, 1);
    return { subnet_id: w.subnetId, ip_address: kept!.ipAddress };
  });
}

/** Whether the port's addresses are the wanted ones (entries without an address: any on the subnet). */
export function fixedIpsMatch(want: NonNullable<VnicModel['fixedIps']>, have: readonly { subnetId: string; ipAddress: string }[]): boolean {
  const body = fixedIpsBody(want, have);
  if (body.some((b) => b.ip_address === undefined)) return false;
  const key = (x: { subnet_id?: string; subnetId?: string; ip_address?: string; ipAddress?: string }) => `${x.subnet_id ?? x.subnetId} ${canonicalIp((x.ip_address ?? x.ipAddress)!)}`;
  const a = body.map(key).sort();
  const b = have.map(key).sort();
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function portMutableBody(m: VnicModel): Record<string, unknown> {
  const b: Record<string, unknown> = {
    name: portName(m),
    device_id: m.vmUid ?? m.vmName,
    'binding:host_id': m.host,
    admin_state_up: m.linked,
    // null: the network's own policy (its default) applies.
    qos_policy_id: m.profileExternalId ?? null,
    port_security_enabled: m.portSecurity,
    allowed_address_pairs: m.portSecurity ? addressPairsBody(m.allowedAddressPairs) : [],
  };
  // Neutron refuses to turn port security off while the port has security groups.
  if (!m.portSecurity) b.security_groups = [];
  else if (m.securityGroupIds) b.security_groups = [...m.securityGroupIds].sort();
  return b;
}

/** Neutron's allowed_address_pairs for these pairs (a pair without a MAC takes the port's own). */
export function addressPairsBody(pairs: readonly AddressPair[]): { ip_address: string; mac_address?: string }[] {
  return pairs.map((a) => (a.macAddress ? { ip_address: a.ipAddress, mac_address: a.macAddress } : { ip_address: a.ipAddress }));
}

/** Address pairs in one order, so that two lists compare by content. */
export function sortedPairs<T extends { ipAddress: string; macAddress: string }>(pairs: T[]): T[] {
  return [...pairs].sort((a, b) => (a.ipAddress === b.ipAddress ? (a.macAddress < b.macAddress ? -1 : 1) : a.ipAddress < b.ipAddress ? -1 : 1));
}

/** `<vm>-<interface>`, as operators know a vNIC. */
export function portName(m: VnicModel): string {
  return `${m.vmName}-${m.interfaceName}`;
}

// ---- diffs ---------------------------------------------------------------------------------------

/** The changes `cmp` finds, and `cmp(path, to, from, immutable)` comparing by content. */
export function changeList(): { out: FieldChange[]; cmp: (path: string, to: unknown, from: unknown, immutable?: boolean) => void } {
  const out: FieldChange[] = [];
  return {
    out,
    cmp: (path, to, from, immutable = false) => {
      if (!sameContent(to, from)) out.push(immutable ? { path, from, to, immutable } : { path, from, to });
    },
  };
}

/** What differs between the model and the observed network. Provider attributes and a subnet's
 *  CIDR, IP version and IPv6 modes cannot change in place. */
export function diffNetwork(m: NetworkModel, s: NetworkState): FieldChange[] {
  const { out, cmp } = changeList();
  if (s.ours) cmp('name', m.name, s.name);
  // An imported network keeps its description unless the spec gives one.
  if (s.ours || m.description !== undefined) cmp('description', m.description ?? '', s.description);
  if (s.ours && !s.tagged) out.push({ path: 'tags', from: 'untagged', to: 'owner tags' });
  cmp('networkType', networkType(m), s.networkType, true);
  cmp('physicalNetwork', m.physicalNetwork, s.physicalNetwork, true);
  cmp('vlan', m.vlan ?? null, s.vlan, true);
  cmp('mtu', m.mtu, s.mtu);
  cmp('shared', m.shared, s.shared);
  cmp('external', m.external ?? false, s.external);
  cmp('adminStateUp', m.adminStateUp, s.adminStateUp);
  cmp('portSecurity', m.portSecurity, s.portSecurity);
  cmp('qos', qosOf(m), s.qos);
  if (!qosOf(m) && !s.qos && s.ownPolicyId) out.push({ path: 'qos', from: 'an unattached policy of this network', to: null });
  const have = new Map(s.subnets.map((x) => [x.name, x]));
  const want = new Map(m.subnets.map((x) => [x.name, x]));
  for (const [name, w] of want) {
    const h = have.get(name);
    const at = `subnets[${name}]`;
    if (!h) {
      out.push({ path: at, to: w.cidr });
      continue;
    }
    cmp(`${at}.cidr`, canonicalCidr(w.cidr), h.cidr, true);
    cmp(`${at}.ipVersion`, w.ipVersion, h.ipVersion, true);
    cmp(`${at}.ipv6AddressMode`, w.ipv6AddressMode ?? null, h.ipv6AddressMode ?? null, true);
    cmp(`${at}.ipv6RaMode`, w.ipv6RaMode ?? null, h.ipv6RaMode ?? null, true);
    if (w.gateway !== undefined) cmp(`${at}.gateway`, canonicalIp(w.gateway), h.gateway);
    if (w.allocationPools !== undefined) {
      cmp(`${at}.allocationPools`, w.allocationPools.map((p) => ({ start: canonicalIp(p.start), end: canonicalIp(p.end) })), h.allocationPools);
    }
    cmp(`${at}.dnsServers`, (w.dnsServers ?? []).map(canonicalIp), h.dnsServers);
    cmp(`${at}.hostRoutes`, (w.hostRoutes ?? []).map((r) => ({ destination: canonicalCidr(r.destination), nexthop: canonicalIp(r.nexthop) })), h.hostRoutes);
    cmp(`${at}.dhcp`, w.dhcp, h.dhcp);
    if (s.ours && !h.marked) out.push({ path: `${at}.mark`, from: 'unmarked', to: 'marked' });
  }
  for (const [name, h] of have) if (!want.has(name)) out.push({ path: `subnets[${name}]`, from: h.cidr });
  return out;
}

export function qosOf(m: NetworkModel): NetworkState['qos'] {
  if (!m.qos || m.qos.maxRateKbps === undefined) return null;
  const q: { maxRateKbps?: number; maxBurstKbps?: number } = { maxRateKbps: m.qos.maxRateKbps };
  if (m.qos.maxBurstKbps) q.maxBurstKbps = m.qos.maxBurstKbps;
  return q;
}

export function diffPort(m: VnicModel, s: PortState): FieldChange[] {
  const { out, cmp } = changeList();
  // A port cannot change its network in place; the driver moves the vNIC to a new port (NeutronPorts.update).
  cmp('network', m.networkExternalId, s.networkId);
  if (m.mac) cmp('mac', m.mac.toLowerCase(), s.mac, true);
  cmp('name', portName(m), s.name);
  cmp('deviceId', m.vmUid ?? m.vmName, s.deviceId);
  cmp('host', m.host, s.host);
  cmp('linked', m.linked, s.adminStateUp);
  cmp('profile', m.profileExternalId ?? null, s.qosPolicyId);
  if (m.fixedIps && !fixedIpsMatch(m.fixedIps, s.fixedIps)) {
    out.push({ path: 'fixedIps', from: s.fixedIps.map((f) => f.ipAddress), to: m.fixedIps.map((f) => f.ipAddress ?? `any on ${f.subnetId}`) });
  }
  cmp('portSecurity', m.portSecurity, s.portSecurity);
  const mac = m.mac?.toLowerCase() ?? s.mac;
  cmp(
    'allowedAddressPairs',
    m.portSecurity ? sortedPairs(m.allowedAddressPairs.map((a) => ({ ipAddress: a.ipAddress, macAddress: a.macAddress ?? mac }))) : [],
    s.allowedAddressPairs,
  );
  if (m.portSecurity && m.securityGroupIds) cmp('securityGroups', [...m.securityGroupIds].sort(), s.securityGroups);
  if (s.ours) {
    cmp('description', '', s.description);
    if (!s.tagged) out.push({ path: 'tags', from: 'untagged', to: 'owner tags' });
  }
  return out;
}

// ---- errors --------------------------------------------------------------------------------------

/** Neutron error types that retrying cannot fix even though they are 409s. */
const TERMINAL_CONFLICTS = new Set([
  'VlanIdInUse',
  'FlatNetworkInUse',
  'MacAddressInUse',
  'IpAddressAlreadyAllocated',
  'OverQuota',
  'GatewayConflictWithAllocationPools',
  'ParentPortInUse',
]);

/** Classifies a Neutron error response once, at the driver boundary. */
export function classifyNeutronError(status: number, type: string | undefined): ErrorClass {
  if (status === 404) return 'NotFound';
  if (status === 412) return 'Conflict';
  if (status === 409) return type && TERMINAL_CONFLICTS.has(type) ? 'Terminal' : 'Transient'; // NetworkInUse, SubnetInUse: wait for the ports to go
  if (status === 408 || status === 429 || status >= 500) return 'Transient';
  return 'Terminal'; // 400 invalid input, 401/403 refused credentials
}

export function neutronError(status: number, body: unknown, what: string): BackendError {
  const e = (body as { NeutronError?: { type?: string; message?: string } } | undefined)?.NeutronError;
  const message = e?.message ? `${what}: ${e.message}` : `${what}: HTTP ${status}`;
  return new BackendError(classifyNeutronError(status, e?.type), message, { code: e?.type ?? `HTTP${status}` });
}
