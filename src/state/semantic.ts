// Semantic admission checks across objects: references, duplicates, VLAN claims, subnets, names.
// Pure: objects in, violations out.
import {
  keyOf,
  objectKey,
  type AnyResource,
  type Cluster,
  type Host,
  type Network,
  type Provider,
  type Router,
  type SecurityGroup,
  type ServiceEndpoint,
  type MacPool,
  type VnicProfile,
  type VmNetworkTemplate,
  type VlanPool,
  type VnicAttachment,
} from '../api/kinds.ts';
import { macToNumber } from './mac-allocator.ts';
import { formatAddress, parseAddress, parsePrefix, prefixContains, prefixesOverlap, type Address, type Prefix } from '../api/ip.ts';

/** One semantic violation: the object (by key), the JSON pointer of the field, and why. */
export interface SemanticViolation {
  key: string;
  pointer: string;
  message: string;
}

/** A VLAN already held by a network through a pool allocation (from the state). */
export interface VlanAllocation {
  pool: string;
  network: string;
  physicalNetwork: string;
  vlan: number;
}

export interface SemanticContext {
  /** Keys that exist although they are not among the objects checked (e.g. objects of a file that
   *  failed to parse, kept at their last good state). References to them are not dangling. */
  alsoDeclared?: ReadonlySet<string>;
  /** Current pool allocations, so a fixed VLAN cannot take one that a pool already handed out. */
  allocations?: readonly VlanAllocation[];
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Checks a metadata.name (and namespace); returns the reason it is unsafe, or undefined. */
export function checkName(kind: AnyResource['kind'], name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '') return 'is required';
  if (kind === 'Network') {
    // Network names reach backend object names and host device names: a DNS-1123 label, no dots.
    if (name.length > 63 || !DNS1123_LABEL.test(name)) {
      return `"${name}" is not a valid network name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`;
    }
    return undefined;
  }
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    return `"${name}" is not a valid name: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (at most 253)`;
  }
  return undefined;
}

export function checkNamespace(ns: unknown): string | undefined {
  if (typeof ns !== 'string' || ns.length > 63 || !DNS1123_LABEL.test(ns)) {
    return `"${String(ns)}" is not a valid namespace: use at most 63 lowercase letters, digits and '-'`;
  }
  return undefined;
}

/** Runs every cross-object check. Objects are assumed schema-valid (defaults applied). Violations
 *  are reported on the object that is wrong; for a clash, on the later object in input order. */
export function checkSemantics(objects: readonly AnyResource[], ctx: SemanticContext = {}): SemanticViolation[] {
  const out: SemanticViolation[] = [];
  const declared = new Set<string>(ctx.alsoDeclared ?? []);
  const firstByKey = new Map<string, number>();
  // Only the first declaration of a key takes part in the remaining checks, grouped by kind.
  const kinds = new Map<string, AnyResource[]>();
  objects.forEach((o, i) => {
    const key = keyOf(o);
    if (firstByKey.has(key)) {
      out.push({ key, pointer: '/metadata/name', message: `duplicate: ${key} is declared more than once` });
    } else {
      firstByKey.set(key, i);
      let list = kinds.get(o.kind);
      if (!list) kinds.set(o.kind, (list = []));
      list.push(o);
    }
    declared.add(key);
  });
  const byKind = <K extends AnyResource['kind']>(k: K) => [...(kinds.get(k) ?? [])] as Extract<AnyResource, { kind: K }>[];
  const providers = new Map(byKind('Provider').map((p) => [p.metadata.name, p] as const));
  const pools = new Map(byKind('VlanPool').map((p) => [p.metadata.name, p] as const));
  const networks = new Map(byKind('Network').map((n) => [n.metadata.name, n] as const));
  const clusters = new Map(byKind('Cluster').map((c) => [c.metadata.name, c] as const));
  const hosts = new Map(byKind('Host').map((h) => [h.metadata.name, h] as const));
  const has = (kind: AnyResource['kind'], name: string) => declared.has(objectKey(kind, name));
  const report = (o: AnyResource, pointer: string, message: string) => out.push({ key: keyOf(o), pointer, message });

  for (const p of providers.values()) checkProvider(p, report);
  for (const p of pools.values()) checkPool(p, report);
  for (const p of byKind('MacPool')) checkMacPool(p, report);
  checkNetworks([...networks.values()], { providers, pools, has, report, allocations: ctx.allocations ?? [] });
  for (const c of clusters.values()) checkCluster(c, has, report, { networks, providers });
  for (const h of hosts.values()) checkHost(h, { clusters, networks, has, report });
  const profiles = new Map(byKind('VnicProfile').map((p) => [keyOf(p), p] as const));
  for (const p of profiles.values()) checkProfile(p, has, report);
  for (const t of byKind('VmNetworkTemplate')) checkTemplate(t, profiles, has, report);
  checkRouters(byKind('Router'), { networks, providers, has, report });
  for (const g of byKind('SecurityGroup')) checkSecurityGroup(g, { providers, has, declared, report });
  for (const o of [...byKind('VnicAttachment'), ...byKind('VnicProfile'), ...byKind('ServiceEndpoint')]) {
    (o.spec.securityGroups ?? []).forEach((ref, i) => {
      if (!declared.has(objectKey('SecurityGroup', ref.name, o.metadata.namespace ?? 'default'))) {
        report(o, `/spec/securityGroups/${i}/name`, `SecurityGroup "${ref.name}" does not exist in namespace ${o.metadata.namespace ?? 'default'}`);
      }
    });
  }
  const fixedHolders = new Map<string, string>();
  for (const v of byKind('VnicAttachment')) checkVnic(v, { networks, hosts, clusters, profiles, declared, has, report, fixedHolders });
  for (const e of byKind('ServiceEndpoint')) checkServiceEndpoint(e, { networks, hosts, clusters, has, report, fixedHolders });
  return out;
}

type Report = (o: AnyResource, pointer: string, message: string) => void;

function checkProvider(p: Provider, report: Report): void {
  let url: URL | undefined;
  try {
    url = new URL(p.spec.endpoint);
  } catch {
    report(p, '/spec/endpoint', `"${p.spec.endpoint}" is not a URL`);
  }
  if (url && (url.username || url.password)) {
    report(p, '/spec/endpoint', 'must not carry credentials; use spec.credentials');
  }
  if (p.spec.type === 'neutron' && p.spec.ucsm) report(p, '/spec/ucsm', 'is only for providers of type ucsm');
  if (p.spec.type === 'ucsm' && p.spec.neutron) report(p, '/spec/neutron', 'is only for providers of type neutron');
  if (p.spec.type === 'ucsm' && !p.spec.credentials) report(p, '/spec/credentials', 'is required for type ucsm');
  if (p.spec.type === 'neutron' && (p.spec.neutron?.auth ?? 'keystone') === 'keystone') {
    if (!p.spec.credentials) report(p, '/spec/credentials', 'is required with neutron.auth keystone');
    if (!p.spec.neutron?.authUrl) report(p, '/spec/neutron/authUrl', 'is required with neutron.auth keystone');
  }
}

function checkMacPool(p: MacPool, report: Report): void {
  p.spec.ranges.forEach((r, i) => {
    if (macToNumber(r.end)! < macToNumber(r.start)!) report(p, `/spec/ranges/${i}/end`, `${r.end} is below start ${r.start}`);
  });
}

function checkPool(p: VlanPool, report: Report): void {
  p.spec.ranges.forEach((r, i) => {
    if (r.min > r.max) report(p, `/spec/ranges/${i}/max`, `${r.max} is below min ${r.min}`);
    p.spec.ranges.slice(0, i).forEach((o, j) => {
      if (o.physicalNetwork === r.physicalNetwork && o.min <= r.max && r.min <= o.max) {
        report(p, `/spec/ranges/${i}`, `overlaps range ${j} (${o.min}-${o.max}) on ${r.physicalNetwork}`);
      }
    });
  });
  const physnets = new Set(p.spec.ranges.map((r) => r.physicalNetwork));
  (p.spec.reserved ?? []).forEach((r, i) => {
    if (r.max !== undefined && r.min > r.max) report(p, `/spec/reserved/${i}/max`, `${r.max} is below min ${r.min}`);
    if (r.physicalNetwork !== undefined && !physnets.has(r.physicalNetwork)) {
      report(p, `/spec/reserved/${i}/physicalNetwork`, `the pool has no range on physical network "${r.physicalNetwork}"`);
    }
  });
}

/** The reservation of a pool covering `vlan` on `physnet`, if any. */
export function reservationOf(pool: VlanPool, physnet: string, vlan: number): { min: number; max?: number; reason?: string } | undefined {
  if (!pool.spec.ranges.some((r) => r.physicalNetwork === physnet)) return undefined;
  return (pool.spec.reserved ?? []).find(
    (r) => (r.physicalNetwork === undefined || r.physicalNetwork === physnet) && vlan >= r.min && vlan <= (r.max ?? r.min),
  );
}

function checkNetworks(
  nets: Network[],
  c: {
    providers: Map<string, Provider>;
    pools: Map<string, VlanPool>;
    has: (k: AnyResource['kind'], n: string) => boolean;
    report: Report;
    allocations: readonly VlanAllocation[];
  },
): void {
  const fixedClaims = new Map<string, string>(); // physnet/vlan -> network name
  const allocated = new Map<string, VlanAllocation>(c.allocations.map((a) => [`${a.physicalNetwork}/${a.vlan}`, a]));
  for (const n of nets) {
    const physnet = n.spec.physicalNetwork;
    // Providers.
    let neutrons = 0;
    const ucsm: { name: string; i: number }[] = [];
    (n.spec.providerRefs ?? []).forEach((ref, i) => {
      const p = c.providers.get(ref.name);
      if (!p) {
        if (!c.has('Provider', ref.name)) c.report(n, `/spec/providerRefs/${i}/name`, `Provider "${ref.name}" does not exist`);
        return;
      }
      if (p.spec.type === 'ucsm') ucsm.push({ name: ref.name, i });
      if (p.spec.type === 'neutron' && ++neutrons > 1) {
        c.report(n, `/spec/providerRefs/${i}`, 'a network can be carried by at most one neutron provider');
      }
      if (p.spec.physicalNetworks && !p.spec.physicalNetworks.includes(physnet)) {
        c.report(n, `/spec/providerRefs/${i}/name`, `Provider "${ref.name}" does not serve physical network "${physnet}"`);
      }
    });
    // VLAN.
    const vlan = n.spec.vlan;
    if (vlan?.poolRef) {
      const pool = c.pools.get(vlan.poolRef.name);
      if (!pool) {
        if (!c.has('VlanPool', vlan.poolRef.name)) {
          c.report(n, '/spec/vlan/poolRef/name', `VlanPool "${vlan.poolRef.name}" does not exist`);
        }
      } else if (!pool.spec.ranges.some((r) => r.physicalNetwork === physnet)) {
        c.report(n, '/spec/vlan/poolRef/name', `VlanPool "${vlan.poolRef.name}" has no range on physical network "${physnet}"`);
      }
    } else if (vlan?.id !== undefined) {
      const claim = `${physnet}/${vlan.id}`;
      const other = fixedClaims.get(claim);
      const alloc = allocated.get(claim);
      if (other) {
        c.report(n, '/spec/vlan/id', `VLAN ${vlan.id} on ${physnet} is already claimed by network "${other}"`);
      } else if (alloc && alloc.network !== n.metadata.name) {
        c.report(n, '/spec/vlan/id', `VLAN ${vlan.id} on ${physnet} is allocated to network "${alloc.network}" from pool "${alloc.pool}"`);
      } else {
        fixedClaims.set(claim, n.metadata.name);
      }
      for (const pool of c.pools.values()) {
        const r = reservationOf(pool, physnet, vlan.id);
        if (r) {
          c.report(
            n,
            '/spec/vlan/id',
            `VLAN ${vlan.id} on ${physnet} is reserved by VlanPool "${pool.metadata.name}"${r.reason ? ` (${r.reason})` : ''}`,
          );
        }
      }
    }
    // The VLAN ids the backends refuse (Neutron takes 1-4094, as the schema does).
    const first = ucsm[0];
    if (first !== undefined) {
      if (vlan === undefined) {
        c.report(n, `/spec/providerRefs/${first.i}/name`, `Provider "${first.name}" is a UCS Manager domain, which carries only VLANs; the network is untagged`);
      } else if (vlan.id !== undefined) {
        const problem = ucsmVlanProblem(vlan.id);
        if (problem) c.report(n, '/spec/vlan/id', `${problem} (Provider "${first.name}")`);
      } else {
        const alloc = c.allocations.find((a) => a.network === n.metadata.name && a.physicalNetwork === physnet);
        const problem = alloc && ucsmVlanProblem(alloc.vlan);
        if (problem) c.report(n, '/spec/vlan/poolRef/name', `the VLAN allocated from pool "${alloc!.pool}": ${problem} (Provider "${first.name}")`);
      }
    }
    checkSubnets(n, c.report);
  }
}

/**
 * Why UCS Manager refuses a VLAN id, or undefined: it takes 1-4042 and 4048-4093 (4043-4047, 4094
 * and 4095 are its own), and the default reserved block 3915-4042 holds internal VLANs
 * (docs: the UCSM reference, fabricVlan.id and fabricReservedVlan).
 */
export function ucsmVlanProblem(vlan: number): string | undefined {
  if (!Number.isInteger(vlan) || vlan < 1 || (vlan > 4042 && vlan < 4048) || vlan > 4093) {
    return `VLAN ${vlan} is outside UCS Manager's ranges (1-4042, 4048-4093)`;
  }
  if (vlan >= 3915 && vlan <= 4042) return `VLAN ${vlan} is in UCS Manager's reserved block 3915-4042`;
  return undefined;
}

function checkSubnets(n: Network, report: Report): void {
  const seen: { prefix: Prefix; name: string }[] = [];
  (n.spec.subnets ?? []).forEach((s, i) => {
    const at = `/spec/subnets/${i}`;
    const prefix = parsePrefix(s.cidr);
    if (!prefix) {
      report(n, `${at}/cidr`, `"${s.cidr}" is not a prefix in CIDR notation`);
      return;
    }
    if (prefix.address !== prefix.first) {
      report(n, `${at}/cidr`, `"${s.cidr}" has host bits set; the prefix is ${prefix.canonical}`);
    }
    if (s.ipVersion !== undefined && s.ipVersion !== prefix.version) {
      report(n, `${at}/ipVersion`, `is ${s.ipVersion} but ${s.cidr} is an IPv${prefix.version} prefix`);
    }
    for (const o of seen) {
      if (prefixesOverlap(o.prefix, prefix)) {
        report(n, `${at}/cidr`, `${s.cidr} overlaps subnet "${o.name}" (${o.prefix.canonical})`);
      }
    }
    seen.push({ prefix, name: s.name });
    const inside = (text: string, pointer: string, what: string) => {
      const a = parseAddress(text);
      if (!a) report(n, pointer, `"${text}" is not an IP address`);
      else if (!prefixContains(prefix, a)) report(n, pointer, `${what} ${text} is outside ${s.cidr}`);
      return a && prefixContains(prefix, a) ? a : undefined;
    };
    // What Neutron refuses later (neutron/ipam/utils.py, db_base_plugin_v2._validate_subnet): an IPv4
    // gateway on the network or broadcast address; pools that reach the network address (or, IPv4,
    // the broadcast address), overlap each other, or hold the gateway.
    const gw = s.gateway !== undefined && s.gateway !== 'none' ? inside(s.gateway, `${at}/gateway`, 'gateway') : undefined;
    if (gw && prefix.version === 4 && (gw.value === prefix.first || gw.value === prefix.last)) {
      report(n, `${at}/gateway`, `${s.gateway} is the ${gw.value === prefix.first ? 'network' : 'broadcast'} address of ${prefix.canonical}`);
    }
    const pools: { first: bigint; last: bigint; j: number; text: string }[] = [];
    (s.allocationPools ?? []).forEach((p, j) => {
      const a = inside(p.start, `${at}/allocationPools/${j}/start`, 'start');
      const b = inside(p.end, `${at}/allocationPools/${j}/end`, 'end');
      if (!a || !b) return;
      if (a.value > b.value) {
        report(n, `${at}/allocationPools/${j}/end`, `${p.end} comes before start ${p.start}`);
        return;
      }
      if (a.value === prefix.first) report(n, `${at}/allocationPools/${j}/start`, `${p.start} is the network address of ${prefix.canonical}`);
      if (prefix.version === 4 && b.value === prefix.last) {
        report(n, `${at}/allocationPools/${j}/end`, `${p.end} is the broadcast address of ${prefix.canonical}`);
      }
      if (gw && gw.value >= a.value && gw.value <= b.value) {
        report(n, `${at}/allocationPools/${j}`, `contains the gateway ${s.gateway}`);
      }
      for (const o of pools) {
        if (a.value <= o.last && o.first <= b.value) report(n, `${at}/allocationPools/${j}`, `overlaps allocation pool ${o.j} (${o.text})`);
      }
      pools.push({ first: a.value, last: b.value, j, text: `${p.start}-${p.end}` });
    });
    const dns = new Map<bigint, number>();
    (s.dnsServers ?? []).forEach((d, j) => {
      const a = parseAddress(d);
      if (!a) report(n, `${at}/dnsServers/${j}`, `"${d}" is not an IP address`);
      else if (a.version !== prefix.version) report(n, `${at}/dnsServers/${j}`, `is IPv${a.version} but the subnet is IPv${prefix.version}`);
      else if (dns.has(a.value)) report(n, `${at}/dnsServers/${j}`, `${d} is already given at index ${dns.get(a.value)}`);
      else dns.set(a.value, j);
    });
    const routes = new Map<string, number>();
    (s.hostRoutes ?? []).forEach((r, j) => {
      const dst = parsePrefix(r.destination);
      if (!dst) report(n, `${at}/hostRoutes/${j}/destination`, `"${r.destination}" is not a prefix in CIDR notation`);
      else if (dst.address !== dst.first) {
        report(n, `${at}/hostRoutes/${j}/destination`, `"${r.destination}" has host bits set; the prefix is ${dst.canonical}`);
      } else if (dst.version !== prefix.version) {
        report(n, `${at}/hostRoutes/${j}/destination`, `is IPv${dst.version} but the subnet is IPv${prefix.version}`);
      }
      const hop = parseAddress(r.nexthop);
      if (!hop) report(n, `${at}/hostRoutes/${j}/nexthop`, `"${r.nexthop}" is not an IP address`);
      else if (dst && dst.version !== hop.version) {
        report(n, `${at}/hostRoutes/${j}/nexthop`, `is IPv${hop.version} but the destination is IPv${dst.version}`);
      } else if (hop.version !== prefix.version) {
        report(n, `${at}/hostRoutes/${j}/nexthop`, `is IPv${hop.version} but the subnet is IPv${prefix.version}`);
      }
      if (dst && hop) {
        const id = `${dst.canonical} ${formatAddress(hop)}`;
        const first = routes.get(id);
        if (first !== undefined) report(n, `${at}/hostRoutes/${j}`, `the same route is already given at index ${first}`);
        else routes.set(id, j);
      }
    });
    if (prefix.version === 4) {
      if (s.ipv6AddressMode) report(n, `${at}/ipv6AddressMode`, 'is only for IPv6 subnets');
      if (s.ipv6RaMode) report(n, `${at}/ipv6RaMode`, 'is only for IPv6 subnets');
    } else {
      if (s.ipv6AddressMode && s.ipv6RaMode && s.ipv6AddressMode !== s.ipv6RaMode) {
        report(n, `${at}/ipv6RaMode`, `is ${s.ipv6RaMode} but ipv6AddressMode is ${s.ipv6AddressMode}; when both are given they must be the same`);
      }
      const mode = s.ipv6AddressMode ?? s.ipv6RaMode;
      if ((mode === 'slaac' || mode === 'dhcpv6-stateless') && prefix.prefixLength !== 64) {
        report(n, `${at}/cidr`, `${mode} addresses (EUI-64) need a /64 prefix, not /${prefix.prefixLength}`);
      }
    }
  });
}

const EXCLUSIVE_ROLES = ['migration', 'display', 'management'] as const;

function checkCluster(
  c: Cluster,
  has: (k: AnyResource['kind'], n: string) => boolean,
  report: Report,
  known: { networks: Map<string, Network>; providers: Map<string, Provider> },
): void {
  const pool = c.spec.macPoolRef?.name;
  if (pool !== undefined && !has('MacPool', pool)) report(c, '/spec/macPoolRef/name', `MacPool "${pool}" does not exist`);
  // Seed 002: a cluster uses its hosts' native fabric and at most one external network provider (a
  // Neutron endpoint; a UCS Manager domain is the fabric under the hosts, not a network provider).
  let external: string | undefined;
  (c.spec.networks ?? []).forEach((att, i) => {
    for (const ref of known.networks.get(att.name)?.spec.providerRefs ?? []) {
      if (known.providers.get(ref.name)?.spec.type !== 'neutron') continue;
      if (external === undefined) external = ref.name;
      else if (ref.name !== external) {
        report(c, `/spec/networks/${i}/name`, `Network "${att.name}" is on Neutron provider "${ref.name}" while the cluster's other networks are on "${external}": a cluster may mix its hosts' native fabric with one external network provider only`);
      }
    }
  });
  const holder = new Map<string, string>();
  (c.spec.networks ?? []).forEach((att, i) => {
    if (!has('Network', att.name)) report(c, `/spec/networks/${i}/name`, `Network "${att.name}" does not exist`);
    for (const role of att.roles ?? []) {
      if (!(EXCLUSIVE_ROLES as readonly string[]).includes(role)) continue;
      const other = holder.get(role);
      if (other) report(c, `/spec/networks/${i}/roles`, `role ${role} is already held by network "${other}"; a cluster has one`);
      else holder.set(role, att.name);
    }
  });
}

function checkHost(
  h: Host,
  c: {
    clusters: Map<string, Cluster>;
    networks: Map<string, Network>;
    has: (k: AnyResource['kind'], n: string) => boolean;
    report: Report;
  },
): void {
  if (!c.has('Cluster', h.spec.cluster)) c.report(h, '/spec/cluster', `Cluster "${h.spec.cluster}" does not exist`);
  const nics = new Set((h.spec.nics ?? []).map((n) => n.name));
  const bonds = new Set((h.spec.bonds ?? []).map((b) => b.name));
  const enslaved = new Map<string, string>();
  (h.spec.bonds ?? []).forEach((b, i) => {
    if (nics.has(b.name)) c.report(h, `/spec/bonds/${i}/name`, `"${b.name}" is also the name of a NIC`);
    b.members.forEach((m, j) => {
      if (!nics.has(m)) c.report(h, `/spec/bonds/${i}/members/${j}`, `"${m}" is not a NIC of this host`);
      const other = enslaved.get(m);
      if (other) c.report(h, `/spec/bonds/${i}/members/${j}`, `NIC "${m}" is already a member of bond "${other}"`);
      else enslaved.set(m, b.name);
    });
  });
  const cluster = c.clusters.get(h.spec.cluster);
  const attached = new Set((cluster?.spec.networks ?? []).map((a) => a.name));
  (h.spec.networks ?? []).forEach((p, i) => {
    if (!c.has('Network', p.name)) c.report(h, `/spec/networks/${i}/name`, `Network "${p.name}" does not exist`);
    else if (cluster && !attached.has(p.name)) {
      c.report(h, `/spec/networks/${i}/name`, `Network "${p.name}" is not attached to cluster "${h.spec.cluster}"`);
    }
    if (!nics.has(p.interface) && !bonds.has(p.interface)) {
      c.report(h, `/spec/networks/${i}/interface`, `"${p.interface}" is neither a NIC nor a bond of this host`);
    } else if (enslaved.has(p.interface)) {
      c.report(h, `/spec/networks/${i}/interface`, `NIC "${p.interface}" is a member of bond "${enslaved.get(p.interface)}"; place the network on the bond`);
    } else {
      const physnets = [...(h.spec.nics ?? []), ...(h.spec.bonds ?? [])].find((x) => x.name === p.interface)?.physicalNetworks;
      const physnet = c.networks.get(p.name)?.spec.physicalNetwork;
      if (physnets && physnet !== undefined && !physnets.includes(physnet)) {
        c.report(h, `/spec/networks/${i}/interface`, `"${p.interface}" reaches ${physnets.join(', ') || 'no physical network'}, not ${physnet} (Network "${p.name}")`);
      }
    }
    if (p.address !== undefined) {
      const a = parsePrefix(p.address);
      if (!a) c.report(h, `/spec/networks/${i}/address`, `"${p.address}" is not an address in CIDR notation`);
    }
  });
  (h.spec.probes ?? []).forEach((p, i) => {
    if (!parseAddress(p.address)) c.report(h, `/spec/probes/${i}/address`, `"${p.address}" is not an IP address`);
    if (p.network !== undefined && !c.has('Network', p.network)) {
      c.report(h, `/spec/probes/${i}/network`, `Network "${p.network}" does not exist`);
    }
  });
  if (h.spec.address !== undefined && !parseAddress(h.spec.address)) {
    c.report(h, '/spec/address', `"${h.spec.address}" is not an IP address`);
  }
}

function checkTemplate(t: VmNetworkTemplate, profiles: Map<string, VnicProfile>, has: (k: AnyResource['kind'], n: string) => boolean, report: Report): void {
  const ns = t.metadata.namespace ?? 'default';
  t.spec.vnics.forEach((v, i) => {
    const profile = v.profile ? profiles.get(objectKey('VnicProfile', v.profile, ns)) : undefined;
    if (v.profile && !profile) report(t, `/spec/vnics/${i}/profile`, `VnicProfile "${ns}/${v.profile}" does not exist`);
    if (v.network !== undefined && !has('Network', v.network)) report(t, `/spec/vnics/${i}/network`, `Network "${v.network}" does not exist`);
    if (!v.profile && v.network === undefined) report(t, `/spec/vnics/${i}`, 'names neither a profile nor a network');
    if (profile && v.network !== undefined && profile.spec.network !== v.network) {
      report(t, `/spec/vnics/${i}/network`, `is "${v.network}" but profile "${v.profile}" is on network "${profile.spec.network}"`);
    }
  });
}

function checkProfile(p: VnicProfile, has: (k: AnyResource['kind'], n: string) => boolean, report: Report): void {
  if (!has('Network', p.spec.network)) report(p, '/spec/network', `Network "${p.spec.network}" does not exist`);
  for (const dir of ['inbound', 'outbound'] as const) {
    const r = p.spec.qos?.[dir];
    if (r?.peakKbps !== undefined && r.peakKbps < r.averageKbps) report(p, `/spec/qos/${dir}/peakKbps`, `${r.peakKbps} is below averageKbps ${r.averageKbps}`);
  }
  const sec = p.spec.portSecurity;
  (sec?.allowedAddressPairs ?? []).forEach((a, i) => {
    if (!parseAddress(a.ipAddress) && !parsePrefix(a.ipAddress)) report(p, `/spec/portSecurity/allowedAddressPairs/${i}/ipAddress`, `"${a.ipAddress}" is neither an IP address nor a CIDR`);
  });
  if (sec && !sec.enabled && (sec.allowedAddressPairs ?? []).length) {
    report(p, '/spec/portSecurity/allowedAddressPairs', 'allowed address pairs need port security enabled (they widen what it lets through)');
  }
  (p.spec.allowedNamespaces ?? []).forEach((ns, i) => {
    const bad = ns === '*' ? undefined : checkNamespace(ns);
    if (bad) report(p, `/spec/allowedNamespaces/${i}`, bad);
  });
}

function checkVnic(
  v: VnicAttachment,
  c: {
    networks: Map<string, Network>;
    hosts: Map<string, Host>;
    clusters: Map<string, Cluster>;
    profiles: Map<string, VnicProfile>;
    declared: Set<string>;
    /** `<network> <address>` → the attachment holding it. */
    fixedHolders: Map<string, string>;
    has: (k: AnyResource['kind'], n: string) => boolean;
    report: Report;
  },
): void {
  const ns = v.metadata.namespace ?? 'default';
  const net = c.networks.get(v.spec.network);
  if (!c.has('Network', v.spec.network)) c.report(v, '/spec/network', `Network "${v.spec.network}" does not exist`);
  if (net && !net.spec.shared && !(net.spec.allowedNamespaces ?? []).includes(ns)) {
    c.report(v, '/spec/network', `Network "${v.spec.network}" is neither shared nor open to namespace "${ns}"`);
  }
  const host = c.hosts.get(v.spec.host);
  if (!c.has('Host', v.spec.host)) c.report(v, '/spec/host', `Host "${v.spec.host}" does not exist`);
  const cluster = host ? c.clusters.get(host.spec.cluster) : undefined;
  if (net && host && cluster && !(cluster.spec.networks ?? []).some((a) => a.name === v.spec.network)) {
    c.report(v, '/spec/network', `Network "${v.spec.network}" is not attached to cluster "${host.spec.cluster}" of host "${host.metadata.name}"`);
  }
  if (net) checkFixedIps(v, net, c.fixedHolders, c.report);
  const ref = v.spec.profileRef;
  if (ref) {
    const pns = ref.namespace ?? ns;
    const pkey = objectKey('VnicProfile', ref.name, pns);
    const profile = c.profiles.get(pkey);
    if (!c.declared.has(pkey)) c.report(v, '/spec/profileRef/name', `VnicProfile "${pns}/${ref.name}" does not exist`);
    else if (profile && profile.spec.network !== v.spec.network) {
      c.report(v, '/spec/profileRef/name', `VnicProfile "${pns}/${ref.name}" belongs to network "${profile.spec.network}", not "${v.spec.network}"`);
    } else if (profile && pns !== ns && !(profile.spec.allowedNamespaces ?? []).some((a) => a === '*' || a === ns)) {
      c.report(v, '/spec/profileRef/namespace', `VnicProfile "${pns}/${ref.name}" is not open to namespace "${ns}" (its allowedNamespaces)`);
    }
  }
}

/**
 * The fixed IPs of a vNIC or service endpoint: each on a subnet of its network, its address inside
 * that subnet and held by no other vNIC or endpoint on the network (`fixedHolders`: `<network>
 * <address>` → who holds it, filled as it goes).
 */
function checkFixedIps(o: VnicAttachment | ServiceEndpoint, net: Network, fixedHolders: Map<string, string>, report: Report): void {
  (o.spec.fixedIps ?? []).forEach((f, i) => {
    const subnet = (net.spec.subnets ?? []).find((s) => s.name === f.subnet);
    if (!subnet) {
      report(o, `/spec/fixedIps/${i}/subnet`, `Network "${o.spec.network}" has no subnet "${f.subnet}"`);
      return;
    }
    if (f.ipAddress === undefined) return;
    const a = parseAddress(f.ipAddress);
    const prefix = parsePrefix(subnet.cidr);
    if (!a) report(o, `/spec/fixedIps/${i}/ipAddress`, `"${f.ipAddress}" is not an IP address`);
    else if (prefix && !prefixContains(prefix, a)) report(o, `/spec/fixedIps/${i}/ipAddress`, `${f.ipAddress} is outside subnet ${f.subnet} (${subnet.cidr})`);
    else {
      const at = `${o.spec.network} ${formatAddress(a)}`;
      const holder = fixedHolders.get(at);
      if (holder) report(o, `/spec/fixedIps/${i}/ipAddress`, `${f.ipAddress} is already the address of ${holder}`);
      else fixedHolders.set(at, `${o.kind} ${o.metadata.namespace ?? 'default'}/${o.metadata.name}`);
    }
  });
}

/**
 * A service endpoint: its network exists and is open to its namespace; its host, if it names one,
 * exists and carries the network (its cluster attaches it); fixed IPs as a vNIC's; allowed address
 * pairs are addresses or CIDRs of the IP versions of the network's subnets; promiscuous goes with
 * neither security groups nor address pairs (it lets every address through unfiltered).
 */
function checkServiceEndpoint(
  e: ServiceEndpoint,
  c: {
    networks: Map<string, Network>;
    hosts: Map<string, Host>;
    clusters: Map<string, Cluster>;
    fixedHolders: Map<string, string>;
    has: (k: AnyResource['kind'], n: string) => boolean;
    report: Report;
  },
): void {
  const ns = e.metadata.namespace ?? 'default';
  const net = c.networks.get(e.spec.network);
  if (!c.has('Network', e.spec.network)) c.report(e, '/spec/network', `Network "${e.spec.network}" does not exist`);
  if (net && !net.spec.shared && !(net.spec.allowedNamespaces ?? []).includes(ns)) {
    c.report(e, '/spec/network', `Network "${e.spec.network}" is neither shared nor open to namespace "${ns}"`);
  }
  if (e.spec.host !== undefined) {
    const host = c.hosts.get(e.spec.host);
    if (!c.has('Host', e.spec.host)) c.report(e, '/spec/host', `Host "${e.spec.host}" does not exist`);
    const cluster = host ? c.clusters.get(host.spec.cluster) : undefined;
    if (net && host && cluster && !(cluster.spec.networks ?? []).some((a) => a.name === e.spec.network)) {
      c.report(e, '/spec/host', `Host "${e.spec.host}" does not carry Network "${e.spec.network}" (not attached to its cluster "${host.spec.cluster}")`);
    }
  }
  if (net) checkFixedIps(e, net, c.fixedHolders, c.report);
  const versions = new Set((net?.spec.subnets ?? []).map((s) => parsePrefix(s.cidr)?.version).filter((v) => v !== undefined));
  (e.spec.allowedAddressPairs ?? []).forEach((p, i) => {
    const at = `/spec/allowedAddressPairs/${i}/ipAddress`;
    const version = p.ipAddress.includes('/') ? parsePrefix(p.ipAddress)?.version : parseAddress(p.ipAddress)?.version;
    if (version === undefined) c.report(e, at, `"${p.ipAddress}" is neither an IP address nor a CIDR`);
    else if (versions.size && !versions.has(version)) c.report(e, at, `${p.ipAddress} is IPv${version}, but Network "${e.spec.network}" has only IPv${[...versions].sort().join(' and IPv')} subnets`);
  });
  if (e.spec.promiscuous) {
    if (e.spec.securityGroups?.length) c.report(e, '/spec/securityGroups', 'a promiscuous endpoint has no security groups (its traffic is not filtered); leave them out or turn promiscuous off');
    if (e.spec.allowedAddressPairs?.length) c.report(e, '/spec/allowedAddressPairs', 'a promiscuous endpoint may already send from any address; leave the pairs out or turn promiscuous off');
  }
}

/**
 * Routers: their provider and networks exist; the gateway's network is external and on the router's
 * provider, a fixed gateway address inside one of its subnets; each interface's subnet exists, on a
 * network of the router's provider, is attached once and to no other router, and does not overlap
 * another subnet of the router; each route's destination is a CIDR and its nexthop an address on one
 * of the attached subnets.
 */
function checkRouters(
  routers: readonly Router[],
  o: { networks: Map<string, Network>; providers: Map<string, Provider>; has: (k: AnyResource['kind'], n: string) => boolean; report: Report },
): void {
  const routedBy = new Map<string, string>();
  for (const r of routers) {
    const host = r.spec.hostRef?.name;
    const provider = r.spec.providerRef?.name ?? '';
    if (host === undefined && !r.spec.providerRef) o.report(r, '/spec/providerRef', 'give providerRef (a Neutron router) or hostRef (a router on a host)');
    else if (host !== undefined && r.spec.providerRef) o.report(r, '/spec/hostRef', 'give providerRef or hostRef, not both');
    else if (host !== undefined) {
      if (!o.has('Host', host)) o.report(r, '/spec/hostRef/name', `Host "${host}" does not exist`);
    } else if (!o.has('Provider', provider)) o.report(r, '/spec/providerRef/name', `Provider "${provider}" does not exist`);
    else if (o.providers.get(provider) && o.providers.get(provider)!.spec.type !== 'neutron') o.report(r, '/spec/providerRef/name', `Provider "${provider}" is of type ${o.providers.get(provider)!.spec.type}: routers are realized on Neutron providers`);
    // A host router's networks need not be on any provider.
    const onProvider = (n: Network) => host !== undefined || !r.spec.providerRef || (n.spec.providerRefs ?? []).some((p) => p.name === provider);
    if (host !== undefined && r.spec.gateway && r.spec.gateway.ipAddress === undefined) o.report(r, '/spec/gateway/ipAddress', 'a router on a host needs its gateway address');
    const g = r.spec.gateway;
    if (g) {
      const net = o.networks.get(g.network);
      if (!net) {
        if (!o.has('Network', g.network)) o.report(r, '/spec/gateway/network', `Network "${g.network}" does not exist`);
      } else {
        if (!net.spec.external) o.report(r, '/spec/gateway/network', `Network "${g.network}" is not external (spec.external): a router's gateway must be`);
        if (!onProvider(net)) o.report(r, '/spec/gateway/network', `Network "${g.network}" is not on Provider "${provider}"`);
        if (g.ipAddress !== undefined) {
          const a = parseAddress(g.ipAddress);
          if (!a) o.report(r, '/spec/gateway/ipAddress', `"${g.ipAddress}" is not an IP address`);
          else if (!(net.spec.subnets ?? []).some((s) => inPrefix(s.cidr, a))) o.report(r, '/spec/gateway/ipAddress', `${g.ipAddress} is on no subnet of Network "${g.network}"`);
        }
      }
    }
    const attached: { prefix: Prefix; at: number }[] = [];
    (r.spec.interfaces ?? []).forEach((i, idx) => {
      const at = `/spec/interfaces/${idx}`;
      const net = o.networks.get(i.network);
      if (!net) {
        if (!o.has('Network', i.network)) o.report(r, `${at}/network`, `Network "${i.network}" does not exist`);
        return;
      }
      if (!onProvider(net)) o.report(r, `${at}/network`, `Network "${i.network}" is not on Provider "${provider}"`);
      const sub = (net.spec.subnets ?? []).find((s) => s.name === i.subnet);
      if (!sub) {
        o.report(r, `${at}/subnet`, `Network "${i.network}" has no subnet "${i.subnet}"`);
        return;
      }
      if (i.ipAddress !== undefined) {
        const a = parseAddress(i.ipAddress);
        if (host === undefined) o.report(r, `${at}/ipAddress`, "a Neutron router's interface takes the subnet's gateway address; ipAddress is for routers on hosts");
        else if (!a) o.report(r, `${at}/ipAddress`, `"${i.ipAddress}" is not an IP address`);
        else if (!inPrefix(sub.cidr, a)) o.report(r, `${at}/ipAddress`, `${i.ipAddress} is not in subnet ${i.subnet} (${sub.cidr})`);
      } else if (host !== undefined && (sub.gateway === undefined || sub.gateway === 'none')) {
        o.report(r, `${at}/ipAddress`, `subnet ${i.subnet} has no gateway address${sub.gateway === undefined ? ' declared' : ''}: give the router's address on it`);
      }
      const key = `${i.network}/${i.subnet}`;
      const other = routedBy.get(key);
      if (other !== undefined && other !== r.metadata.name) o.report(r, `${at}/subnet`, `subnet ${key} is already routed by Router "${other}"`);
      else routedBy.set(key, r.metadata.name);
      const p = parsePrefix(sub.cidr);
      if (!p) return;
      const clash = attached.find((x) => prefixesOverlap(x.prefix, p));
      if (clash) o.report(r, `${at}/subnet`, `subnet ${key} (${sub.cidr}) overlaps the subnet of interfaces[${clash.at}]`);
      attached.push({ prefix: p, at: idx });
    });
    (r.spec.routes ?? []).forEach((x, idx) => {
      if (!parsePrefix(x.destination)) o.report(r, `/spec/routes/${idx}/destination`, `"${x.destination}" is not a CIDR`);
      const a = parseAddress(x.nexthop);
      if (!a) o.report(r, `/spec/routes/${idx}/nexthop`, `"${x.nexthop}" is not an IP address`);
      else if (!attached.some((s) => prefixContains(s.prefix, a))) o.report(r, `/spec/routes/${idx}/nexthop`, `${x.nexthop} is on none of the router's attached subnets`);
    });
  }
}

function inPrefix(cidr: string, a: Address): boolean {
  const p = parsePrefix(cidr);
  return !!p && prefixContains(p, a);
}

/** A SecurityGroup: Neutron providers that exist; rules whose ports make sense for their protocol,
 *  whose remote is one CIDR of their IP version or one existing group of the namespace. */
function checkSecurityGroup(
  g: SecurityGroup,
  o: { providers: Map<string, Provider>; has: (k: AnyResource['kind'], n: string) => boolean; declared: ReadonlySet<string>; report: Report },
): void {
  const ns = g.metadata.namespace ?? 'default';
  (g.spec.providerRefs ?? []).forEach((p, i) => {
    const prov = o.providers.get(p.name);
    if (!o.has('Provider', p.name)) o.report(g, `/spec/providerRefs/${i}/name`, `Provider "${p.name}" does not exist`);
    else if (prov && prov.spec.type !== 'neutron') o.report(g, `/spec/providerRefs/${i}/name`, `Provider "${p.name}" is of type ${prov.spec.type}: security groups are kept on Neutron providers`);
  });
  (g.spec.rules ?? []).forEach((r, i) => {
    const at = `/spec/rules/${i}`;
    const ported = r.protocol === 'tcp' || r.protocol === 'udp';
    if (!ported && (r.portRangeMin !== undefined || r.portRangeMax !== undefined)) o.report(g, `${at}/portRangeMin`, `a port range needs protocol tcp or udp, not ${r.protocol}`);
    else if (r.portRangeMax !== undefined && r.portRangeMin === undefined) o.report(g, `${at}/portRangeMin`, 'portRangeMax without portRangeMin');
    else if (r.portRangeMin !== undefined && r.portRangeMax !== undefined && r.portRangeMax < r.portRangeMin) o.report(g, `${at}/portRangeMax`, `${r.portRangeMax} is below portRangeMin ${r.portRangeMin}`);
    if ((r.protocol === 'icmp' && r.ethertype === 'IPv6') || (r.protocol === 'icmpv6' && r.ethertype === 'IPv4')) o.report(g, `${at}/protocol`, `${r.protocol} does not go with ${r.ethertype}`);
    if (r.remoteCidr !== undefined && r.remoteGroup !== undefined) o.report(g, `${at}/remoteGroup`, 'give remoteCidr or remoteGroup, not both');
    if (r.remoteCidr !== undefined) {
      const p = parsePrefix(r.remoteCidr);
      if (!p) o.report(g, `${at}/remoteCidr`, `"${r.remoteCidr}" is not a CIDR`);
      else if ((p.version === 4) !== (r.ethertype === 'IPv4')) o.report(g, `${at}/remoteCidr`, `${r.remoteCidr} is not an ${r.ethertype} prefix`);
    }
    if (r.remoteGroup !== undefined && r.remoteGroup !== g.metadata.name && !o.declared.has(objectKey('SecurityGroup', r.remoteGroup, ns))) {
      o.report(g, `${at}/remoteGroup`, `SecurityGroup "${r.remoteGroup}" does not exist in namespace ${ns}`);
    }
  });
}
