// The driver contract: what the reconcile engine may rely on from every backend driver, and what a
// driver may rely on from the engine. `test/contract/` holds the reusable suite every real driver runs.
import type { Credentials } from '../api/credentials.ts';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Kind } from '../api/kinds.ts';
import type { ProviderSpec } from '../api/types.gen.ts';
import type { NetworkModel, RouterModel, SecurityGroupModel, ServiceEndpointModel, VnicModel, VnicProfileModel } from './model.ts';

export type ProviderType = ProviderSpec['type'];

/**
 * The netform object a backend object belongs to. Drivers MUST mark every object they create with
 * it (a tag, a description marker, a name prefix — whatever the backend keeps), so that an object
 * created just before a crash is found and adopted instead of duplicated.
 */
export interface Owner {
  /** The netform installation (config `instance`), so two installations sharing a backend never adopt each other's objects. */
  instance: string;
  kind: Kind;
  name: string;
  namespace?: string;
}

/** A stable text identity of an owner: `instance:Kind/[namespace/]name`. */
export function ownerKey(o: Owner): string {
  return `${o.instance}:${o.kind}/${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
}

/** A short marker derived from the owner key, for backends with tight limits on tag length (Neutron: 60). */
export function ownerDigest(o: Owner, length = 20): string {
  return createHash('sha256').update(ownerKey(o)).digest('hex').slice(0, length);
}

/** One field that differs between the spec and the backend. */
export interface FieldChange {
  /** Dotted path in the model, e.g. `mtu` or `subnets[app].gateway`. */
  path: string;
  from?: unknown;
  to?: unknown;
  /** The backend cannot change this field in place: only a replace (delete + create) can. */
  immutable?: boolean;
}

/** A backend object as observed. */
export interface Observed<S> {
  /** The backend's id of the primary object (a Neutron UUID, a UCSM DN). */
  externalId: string;
  /** Ids of secondary objects by role (e.g. `subnet/app`), kept in status. */
  externalIds?: Record<string, string>;
  /** The backend state, in the driver's own normalized terms, for `diff`. */
  state: S;
  /** An opaque version for compare-and-swap updates (Neutron's revision_number). */
  version?: string;
  /** Whether the object carries this owner's marker. Objects found by import are not owned. */
  owned: boolean;
  /** Facts for the netform object's status (a port's MAC and addresses). Never secrets. */
  facts?: Record<string, unknown>;
}

/** How a user names an existing backend object to adopt (Network spec.providerRefs[].import). */
export interface ImportRef {
  id?: string;
  name?: string;
  project?: string;
}

export interface ObserveRequest<D> {
  owner: Owner;
  desired: D;
  /** The id recorded in status from an earlier create or observe, if any. */
  externalId?: string;
  externalIds?: Record<string, string>;
  import?: ImportRef;
  /** The caller acts on a change it was just given (a new spec, or a retry after a conflict): it wants
   *  the object's own current state, not a listing shared by re-checks (which may be seconds old). */
  fresh?: boolean;
}

export interface DriverContext {
  signal: AbortSignal;
  log: Logger;
}

/**
 * One kind of backend object a driver manages for a netform kind (a Neutron network and its subnets
 * for a Network, a Neutron port for a VnicAttachment, a UCSM VLAN + port profile for a Network).
 *
 * Rules (MUST unless marked SHOULD):
 * - `observe` never changes the backend. It looks the object up by `externalId` when given; if that
 *   is gone, by `import` when given; otherwise by the owner marker (adoption). It returns undefined
 *   when nothing is found. An object found by id that carries another owner's marker is a Terminal error.
 * - `diff` is pure: the changes that would bring `observed` to `desired`. Changes the backend cannot
 *   apply in place carry `immutable: true`; the engine turns them into an explicit replace, never a
 *   silent delete + create. A model's `name` is what a created object is called; an imported object
 *   keeps its own name, so a differing name SHOULD NOT be reported for it.
 * - `create` marks the object with the owner, is idempotent (it may be retried after any failure,
 *   including a crash after the backend committed), and does nothing fallible after the primary object
 *   exists except what a later `update` can finish (so a failure never leaves a duplicate behind).
 * - `update` applies only mutable changes, with compare-and-swap on `observed.version` where the
 *   backend supports it; a lost race throws a Conflict error (the engine re-observes and re-plans).
 * - `delete` of an object that no longer exists succeeds.
 * - Every error leaving a method is a BackendError classified NotFound / Conflict / Transient /
 *   Terminal; anything unclassified is treated as Transient.
 * - Secrets never appear in errors or logs.
 */
export interface ResourceDriver<D, S> {
  observe(ctx: DriverContext, req: ObserveRequest<D>): Promise<Observed<S> | undefined>;
  diff(desired: D, observed: S): FieldChange[];
  create(ctx: DriverContext, owner: Owner, desired: D): Promise<Observed<S>>;
  update(ctx: DriverContext, owner: Owner, observed: Observed<S>, desired: D, changes: FieldChange[]): Promise<Observed<S>>;
  delete(ctx: DriverContext, observed: Observed<S>): Promise<void>;
}

/** A connection to one provider (one Neutron endpoint, one UCS domain). */
export interface ProviderDriver {
  readonly type: ProviderType;
  /** Read-only check that the backend answers and accepts the credentials; returns its version if known. */
  probe(ctx: DriverContext): Promise<{ version?: string }>;
  /** Networks on this backend, if the driver carries networks. */
  readonly networks?: ResourceDriver<NetworkModel, unknown>;
  /** VM vNIC ports on this backend, if the driver has per-vNIC objects. */
  readonly vnics?: ResourceDriver<VnicModel, unknown>;
  /** vNIC profiles on this backend, if the driver has per-profile objects (Neutron: a QoS policy). */
  readonly profiles?: ResourceDriver<VnicProfileModel, unknown>;
  /** L3 routers on this backend, if the driver has them (Neutron: a router with its gateway, interfaces and routes). */
  readonly routers?: ResourceDriver<RouterModel, unknown>;
  /** Security groups on this backend, if the driver has them (Neutron: a security group with its rules). */
  readonly securityGroups?: ResourceDriver<SecurityGroupModel, unknown>;
  /** Service endpoints on this backend, if the driver has per-endpoint objects (Neutron: a port whose device_owner names the service). */
  readonly serviceEndpoints?: ResourceDriver<ServiceEndpointModel, unknown>;
  /** Releases sessions and sockets. */
  close(): Promise<void>;
}

/** Credentials as resolved from a Secret or a 0600 file (api/credentials.ts). */
export type { Credentials };

/**
 * A provider type's options: the Provider spec's block for the type (spec.neutron or spec.ucsm) as
 * admission leaves it — every schema default filled in, also for a block the manifest left out — and
 * the physical networks. Drivers read them as they are: the CRD is where a default lives (ADR 11).
 */
export type NeutronOptions = NonNullable<ProviderSpec['neutron']> & Pick<ProviderSpec, 'physicalNetworks'>;
export type UcsmOptions = NonNullable<ProviderSpec['ucsm']> & Pick<ProviderSpec, 'physicalNetworks'>;

/** Everything a driver factory gets to build a connection to one provider. */
interface ProviderConfigBase {
  name: string;
  endpoint: string;
  credentials?: Credentials;
  tls: { ca?: string; serverName?: string; insecureSkipVerify: boolean };
  requestTimeoutMs: number;
  maxConcurrency: number;
}

export interface NeutronProviderConfig extends ProviderConfigBase {
  type: 'neutron';
  options: NeutronOptions;
}

export interface UcsmProviderConfig extends ProviderConfigBase {
  type: 'ucsm';
  options: UcsmOptions;
}

/** A provider's connection settings, with the options of its type. */
export type ProviderConfig = NeutronProviderConfig | UcsmProviderConfig;

/** The config of one provider type (all of them for ProviderType itself). */
export type ProviderConfigOf<T extends ProviderType> = Extract<ProviderConfig, { type: T }>;

/** Builds a driver for providers of type T (a factory for every type takes any ProviderConfig). */
export type DriverFactory<T extends ProviderType = ProviderType> = (config: ProviderConfigOf<T>, deps: { log: Logger }) => ProviderDriver;
