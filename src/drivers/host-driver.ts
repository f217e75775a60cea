// The host driver contract: what the host controller may rely on from a driver that converges one
// host's devices (bridges, VLAN sub-interfaces, bonds, taps, Open vSwitch ports) and what the driver
// may rely on from the controller. The controller computes a HostModel once per pass from the Host,
// its Cluster, the Networks and the vNICs placed on the host; the driver turns it into its backend's
// terms (device names, OVS rows) and converges the host to it. `drivers/host` implements it on Linux.
import { createHash } from 'node:crypto';
import type { HostStatus } from '../api/types.gen.ts';
import type { VnicQos } from './model.ts';

export type { VnicQos, VnicRate } from './model.ts';

/** The host device (tap) of a VM vNIC, derived from the VnicAttachment (`<namespace>/<name>`): a VM
 *  launcher plugs the VM into it, and the VnicAttachment's status names it. */
export function vnicDeviceName(attachment: string): string {
  return `nfv${createHash('sha256').update(attachment).digest('hex').slice(0, 12)}`;
}

export type HostFabric = 'linux-bridge' | 'ovs';

/** A NIC the host may use. */
export interface HostNicModel {
  name: string;
  /** How networks on it are carried; undefined: the host's default fabric. */
  fabric?: HostFabric;
  /** An MTU set explicitly; undefined: the largest MTU of the networks it carries. */
  mtu?: number;
}

/** A bond built from NICs. */
export interface HostBondModel {
  name: string;
  /** The kernel bonding mode (`802.3ad`, `active-backup`, …). */
  mode: string;
  members: string[];
  lacpRate?: 'slow' | 'fast';
  miimonMs?: number;
  fabric?: HostFabric;
}

/** A network placed on one of the host's NICs or bonds. */
export interface HostNetworkModel {
  /** The Network's name. */
  name: string;
  /** The NIC or bond that carries it. */
  interface: string;
  mtu: number;
  /** The VLAN in use (fixed, or allocated from a pool); undefined for an untagged network. */
  vlan?: number;
  /** The network takes its VLAN from a pool that has not handed one out yet (`vlan` is undefined). */
  vlanPending?: boolean;
  /** The host's own address on the network (CIDR), if it has one. */
  address?: string;
  /** The device (an OVS port on an OVS network, a Linux device otherwise) that receives a copy of the
   *  traffic of the network's mirrored vNICs (Host.spec.networks[].mirrorPort). */
  mirrorPort?: string;
}

/** One rule of a vNIC's security groups, as a host filters it. */
export interface HostFirewallRule {
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  /** undefined: any protocol. */
  protocol?: 'tcp' | 'udp' | 'icmp' | 'icmpv6';
  portRangeMin?: number;
  portRangeMax?: number;
  /** Where the peer must be: CIDRs or addresses (a remote group's members, resolved); undefined:
   *  anywhere; empty: nowhere. */
  remote?: string[];
}

/** A Router realized on this host (Router.spec.hostRef names it): a namespace routing between the
 *  networks it is attached to, each of which must be placed on the host. */
export interface HostRouterModel {
  name: string;
  adminStateUp: boolean;
  /** One per attached subnet: the network and the router's address there (CIDR, e.g. 10.0.1.1/24). */
  interfaces: { network: string; address: string }[];
  /** The way out: the router's address on the external network (CIDR), the upstream gateway its
   *  default route goes to (none: no default route), and whether what leaves is source-NATed. */
  gateway?: { network: string; address: string; nexthop?: string; snat: boolean };
  /** Static routes. */
  routes: { destination: string; nexthop: string }[];
}

/** A VM vNIC placed on the host. */
export interface HostVnicModel {
  /** `<namespace>/<name>` of the VnicAttachment. */
  key: string;
  network: string;
  /** Lower case. */
  mac?: string;
  vmName: string;
  vmUid?: string;
  plugged: boolean;
  linked: boolean;
  /** Bandwidth limits on the vNIC's device, from its profile (or its network's defaults). */
  qos?: VnicQos;
  /** Whether the vNIC's traffic (both directions) is copied to its network's mirror port. */
  mirrored?: boolean;
  /** A service endpoint (ServiceEndpoint with spec.host), not a VM's vNIC: an appliance opens its
   *  device. Promiscuous: the device gets a copy of the traffic of the network's other vNICs and
   *  endpoints on the host. */
  endpoint?: { service: string; promiscuous: boolean };
  /** The vNIC's security groups, as one rule set (their union); undefined: the vNIC is not filtered. */
  firewall?: { stateful: boolean; rules: HostFirewallRule[] };
  /**
   * The VM has migrated away and its ports followed it: the device stays while a process still holds
   * it open (the VM on this host, until the hypervisor's switch-over ends it; a tap has carrier then)
   * and is removed, with its OVS row, once it is released. Never created anew.
   */
  departing?: boolean;
}

/**
 * The desired state of one host, backend-neutral: the placements are resolved (which network rides
 * which NIC or bond, with its VLAN and MTU), nothing in it refers to a netform object any more.
 */
export interface HostModel {
  /** The Host's name. */
  name: string;
  /** Auto: differences are healed; Manual: only reported. */
  syncPolicy: 'Auto' | 'Manual';
  /** Addresses that must answer after a change, or it is rolled back. */
  probes: { address: string }[];
  /** The fabric of a NIC or bond that names none (the cluster's default). */
  defaultFabric: HostFabric;
  nics: HostNicModel[];
  bonds: HostBondModel[];
  /** The networks placed on the host, sorted by name. */
  networks: HostNetworkModel[];
  /** Networks the cluster requires that no NIC or bond carries, sorted. */
  unplaced: string[];
  vnics: HostVnicModel[];
  /** Routers this host realizes, sorted by name; undefined: none. */
  routers?: HostRouterModel[];
}

/** One row of the interface table, as the Host CRD's status defines it. */
export type HostInterfaceRow = NonNullable<HostStatus['interfaces']>[number];

/** Whether one network is realized on the host, and if not, how it differs. */
export interface HostNetworkSync {
  name: string;
  inSync: boolean;
  difference?: string;
}

/** What a converge pass found and did; the controller folds it into the Host's status. */
export interface HostReport {
  lastObservedTime: string;
  interfaces: HostInterfaceRow[];
  dynamicVnics: Required<NonNullable<HostStatus['dynamicVnics']>>;
  networks: HostNetworkSync[];
  /** Per Router realized on the host, whether it is as specified (same shape as networks). */
  routers?: HostNetworkSync[];
  /** Why the spec cannot be realized as it stands (a NIC missing, a device that is someone else's). */
  problems: string[];
  /** The last change attempted, if any. */
  lastApply?: {
    time: string;
    result: 'applied' | 'rolled back' | 'rollback failed';
    error?: string;
    changes: number;
  };
  /** Stale OVS ports (device gone) that were removed. */
  collected: string[];
  syncPolicy: 'Auto' | 'Manual';
  /**
   * The driver's observation of the host at `lastObservedTime` (its `observe` result, JSON, without
   * traffic counters): what `netform plan` diffs the desired state against, "as of the report".
   * Undefined from drivers or agents that do not keep it.
   */
  observed?: unknown;
  /** Changes held for approval (the Host's approval is Manual and this plan is not approved): the
   *  pass changed nothing. */
  pendingPlan?: HostPendingPlan;
}

/** A held host plan, as the Host's status.pendingPlan shows it. */
export type HostPendingPlan = NonNullable<HostStatus['pendingPlan']>;

/** One change a host driver would make, as plans show it. */
export interface HostPlannedChange {
  /** What it is, in the backend's words: `bridge`, `vlan`, `tap`, `ovs-port`, `address`, `tc`… */
  resource: string;
  /** The device, port or row (`web-br`, `eth1.100`, `nfv0a1b…`, `10.0.0.2/24 on web-br`). */
  name: string;
  action: 'create' | 'update' | 'replace' | 'delete';
  /** What differs, e.g. `mtu 1500→9000`, `vlan eth1.100→eth1.200`. */
  fields: string[];
  /** The network the device serves, when it serves one. */
  network?: string;
  /** The networks a shared device (a NIC or bond carrying several) serves. */
  networks?: string[];
  /** The VM vNIC (`<namespace>/<name>` of its VnicAttachment) the device belongs to, if any. */
  vnic?: string;
}

/** The result of `diff`: the driver's own change set, and what the controller needs to know of it. */
export interface HostChanges<C> {
  /** The driver's change set, handed back to `plan`. */
  changes: C;
  /** How many devices, ports, addresses and bridges would change; 0: the host is in sync. */
  count: number;
  /** Why the model cannot be realized as it stands; non-empty: nothing may be applied. */
  problems: string[];
}

/** Thrown by `apply` when the change went in but the host does not pass verification. */
export class VerifyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerifyError';
  }
}

/**
 * A driver that converges one host. `O` is the driver's observation of the host (its snapshot), `C`
 * its change set, `P` its plan (the commands it runs).
 *
 * Rules (MUST unless marked SHOULD):
 * - `observe` never changes the host. Its result is complete enough to put back, with `rollback`,
 *   everything a change may touch (it is the snapshot taken before a change).
 * - `diff` and `plan` are pure. `diff` reports as problems what the driver must not or cannot fix
 *   (a NIC missing, a device of the same name that is not the driver's, a network with no VLAN yet);
 *   only objects the driver marked as its own (for this `instance`) are ever changed or removed.
 *   `plan` validates every name and address before it reaches a command line, and throws otherwise.
 * - `apply` runs a plan as one transaction as far as the backend allows, then verifies: it
 *   re-observes and throws a VerifyError when the host still differs from the model, when a probe of
 *   the model does not answer, or when the source of desired state is no longer reachable (a change
 *   that cuts the host off from its source must not be kept). It resolves to the changes still
 *   outstanding as verified (none: only problems can remain). `apply` does not roll back by itself.
 * - `rollback` puts back every device and port that the model touches exactly as `snapshot` had
 *   them (and removes a bridge the failed change created), and throws when the host still differs
 *   from the snapshot afterwards. It never touches what is not the driver's.
 * - `converge` is one pass: observe → diff → when the model's syncPolicy is Auto, there are no
 *   problems and something differs: plan → apply (with verify) → on any failure, rollback to the
 *   observation taken first → report. A failed change is reported (`lastApply`), never thrown; a
 *   failure to observe or to report is thrown (the controller retries the pass with backoff).
 *   Under syncPolicy Manual it changes nothing and reports the differences per network.
 * - Two calls on one driver never overlap: the controller runs one pass at a time per host.
 * - `close` releases connections (OVSDB); the driver may be used again afterwards (it reconnects).
 * - `diff`, `plan` and `describe` work on an observation read back from a report (`observed`):
 *   `netform plan` uses them without touching the host.
 * - SHOULD: a pass on a host in sync costs observations only (no command is run).
 */
export interface HostDriver<O = unknown, C = unknown, P = unknown> {
  observe(): Promise<O>;
  diff(desired: HostModel, observed: O): HostChanges<C>;
  plan(desired: HostModel, changes: C): P;
  apply(desired: HostModel, plan: P): Promise<C>;
  rollback(snapshot: O, desired: HostModel): Promise<void>;
  converge(desired: HostModel): Promise<HostReport>;
  /** The changes of a `diff`, one entry per device, port, row or address, for plans. Pure. */
  describe(changes: C): HostPlannedChange[];
  close(): Promise<void>;
}
