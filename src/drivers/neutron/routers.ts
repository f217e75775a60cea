// L3 routers on Neutron: one router per Router object, with its external gateway (SNAT on or off, a
// fixed address if the model names one), an interface per attached subnet and static routes. Marked
// like every netform object (owner tags; the pending marker in the description until tagged).
import { BackendError, conflict, terminal } from '../../api/errors.ts';
import { sameContent } from '../../api/json.ts';
import type { DriverContext, FieldChange, Observed, ObserveRequest, Owner, ResourceDriver } from '../driver.ts';
import type { RouterModel } from '../model.ts';
import type { NeutronClient } from './client.ts';
import { foreignOwner, ownerTags } from './mapping.ts';
import {
  canonicalRoutes,
  diffRouter,
  gatewayBody,
  keptRoutes,
  normalizeRouter,
  ROUTER_INTERFACE_OWNERS,
  routerBody,
  routesBody,
  subnetIds,
  type NeutronRouter,
  type NeutronRouterPort,
  type RouterState,
} from './router-mapping.ts';
import { deleteIfAny, findOwned, getIfAny, isNotFound, markOwned, RequiredExtensions, UncertainCreates } from './shared.ts';

/** Extensions the router driver needs (checked once, when it is first used). */
export const ROUTER_EXTENSIONS = ['router', 'ext-gw-mode', 'extraroute'];

/**
 * Routers. Neutron enforces `If-Match` on a router PUT only when the PUT changes the name, the
 * description, the admin state or the routes. It does not on the rest: a PUT of the tags with
 * `If-Match` answers 500 (Zed), a gateway change is applied even when the same PUT is then refused
 * with 412, and add/remove_router_interface take no revision. So `update` compares the revision
 * itself before it writes anything, sends `If-Match` with its first PUT of the router's own fields,
 * and writes the gateway in a PUT of its own.
 */
export class NeutronRouters implements ResourceDriver<RouterModel, RouterState> {
  readonly #c: NeutronClient;
  readonly #projectId: string | undefined;
  readonly #creates: UncertainCreates;
  readonly #extensions: RequiredExtensions;

  constructor(client: NeutronClient, projectId: string | undefined, creates = new UncertainCreates(30_000)) {
    this.#c = client;
    this.#projectId = projectId;
    this.#creates = creates;
    this.#extensions = new RequiredExtensions(client, ROUTER_EXTENSIONS, 'routers');
  }

  async observe(ctx: DriverContext, req: ObserveRequest<RouterModel>): Promise<Observed<RouterState> | undefined> {
    await this.#requireExtensions(ctx);
    if (req.externalId) {
      const r = await this.#get(ctx, req.externalId);
      if (r) return this.#observedFresh(ctx, r, req.owner, true, req.desired.name);
    }
    const mine = await findOwned<NeutronRouter>(this.#c, 'routers', req.owner, req.desired.name, ctx.signal);
    return mine ? this.#observedFresh(ctx, mine, req.owner, false, req.desired.name) : undefined;
  }

  diff(desired: RouterModel, observed: RouterState): FieldChange[] {
    return diffRouter(desired, observed);
  }

  async create(ctx: DriverContext, owner: Owner, desired: RouterModel): Promise<Observed<RouterState>> {
    await this.#requireExtensions(ctx);
    // Adopt what an earlier attempt created (its answer lost, or the process gone before recording it).
    await this.#creates.settled(owner, ctx.signal);
    const existing = await findOwned<NeutronRouter>(this.#c, 'routers', owner, desired.name, ctx.signal);
    if (existing) return this.#finish(ctx, owner, await this.#observedFresh(ctx, existing, owner, false, desired.name), desired);
    const { router } = await this.#creates.post(owner, () =>
      this.#c.request<{ router: NeutronRouter }>('POST', '/v2.0/routers', { body: { router: routerBody(desired, owner, this.#projectId) }, signal: ctx.signal }),
    );
    // From here on the router is found by its marker, then by its tags; whatever fails below, an update finishes.
    await this.#c.request('PUT', `/v2.0/routers/${router.id}/tags`, { body: { tags: ownerTags(owner) }, signal: ctx.signal });
    const described = await this.#c.request<{ router: NeutronRouter }>('PUT', `/v2.0/routers/${router.id}`, {
      body: { router: { description: desired.description ?? '' } },
      signal: ctx.signal,
    });
    return this.#finish(ctx, owner, await this.#observedFresh(ctx, described.router, owner, true, desired.name), desired);
  }

  /** Brings a router just made or adopted to the model (its interfaces and routes, or whatever an interrupted create left undone). */
  async #finish(ctx: DriverContext, owner: Owner, observed: Observed<RouterState>, desired: RouterModel): Promise<Observed<RouterState>> {
    const changes = diffRouter(desired, observed.state);
    return changes.length ? this.update(ctx, owner, observed, desired, changes) : observed;
  }

  async update(ctx: DriverContext, owner: Owner, observed: Observed<RouterState>, desired: RouterModel, _changes?: FieldChange[]): Promise<Observed<RouterState>> {
    const id = observed.externalId;
    const have = observed.state;
    const now = (await this.#get(ctx, id)) ?? vanished(id);
    let revision = now.revision_number;
    if (observed.version !== undefined && String(revision) !== observed.version) {
      throw conflict(`Neutron router ${id} changed since it was observed (revision ${observed.version}, now ${revision})`, 'RevisionNumberConstraintFailed');
    }
    if (!have.tagged) {
      // Marked as this owner's first, in one request; only then is the pending marker cleared.
      await markOwned(this.#c, 'routers', id, owner, ctx.signal);
      revision = ((await this.#get(ctx, id)) ?? vanished(id)).revision_number;
    }

    // 1. The router's own fields, and the routes that are going (before an interface or gateway they
    //    may use goes): compare-and-swap.
    const body: Record<string, unknown> = {};
    if (have.name !== desired.name) body.name = desired.name;
    if (have.description !== (desired.description ?? '')) body.description = desired.description ?? '';
    if (have.adminStateUp !== desired.adminStateUp) body.admin_state_up = desired.adminStateUp;
    const kept = keptRoutes(desired.routes, have.routes);
    if (kept.length !== have.routes.length) body.routes = routesBody(kept);
    if (Object.keys(body).length) {
      await this.#c.request('PUT', `/v2.0/routers/${id}`, { body: { router: body }, ifMatchRevision: revision, signal: ctx.signal });
    }

    // 2. The gateway, in a PUT of its own (Neutron applies it even when the If-Match of its PUT fails).
    if (diffRouter(desired, have).some((c) => c.path === 'gateway' || c.path.startsWith('gateway.'))) {
      await this.#c.request('PUT', `/v2.0/routers/${id}`, { body: { router: { external_gateway_info: gatewayBody(desired.gateway) } }, signal: ctx.signal });
    }

    // 3. Interfaces that are missing (a route's next hop must be on one).
    const want = subnetIds(desired.interfaces);
    const attached = subnetIds(have.interfaces);
    for (const subnet of want.filter((s) => !attached.includes(s))) await this.#addInterface(ctx, id, subnet);

    // 4. The routes as wanted.
    const routes = canonicalRoutes(desired.routes);
    if (!sameContent(routes, kept)) {
      await this.#c.request('PUT', `/v2.0/routers/${id}`, { body: { router: { routes: routesBody(routes) } }, signal: ctx.signal });
    }

    // 5. Interfaces no longer wanted, now that no route needs them.
    for (const subnet of attached.filter((s) => !want.includes(s))) await this.#removeInterface(ctx, id, { subnet_id: subnet });

    return this.#observedFresh(ctx, (await this.#get(ctx, id)) ?? vanished(id), owner, true, desired.name);
  }

  /**
   * Routes cleared, every interface removed, the gateway cleared, the router deleted (Neutron refuses
   * to delete a router with interfaces: 409 RouterInUse). A router already gone, at any step, is done.
   */
  async delete(ctx: DriverContext, observed: Observed<RouterState>): Promise<void> {
    const id = observed.externalId;
    const r = await this.#get(ctx, id);
    if (!r) return;
    try {
      if (r.routes?.length) await this.#c.request('PUT', `/v2.0/routers/${id}`, { body: { router: { routes: [] } }, signal: ctx.signal });
      for (const p of await this.#ports(ctx, id)) {
        if (ROUTER_INTERFACE_OWNERS.has(p.device_owner)) await this.#removeInterface(ctx, id, { port_id: p.id });
      }
      if (r.external_gateway_info) await this.#c.request('PUT', `/v2.0/routers/${id}`, { body: { router: { external_gateway_info: {} } }, signal: ctx.signal });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    await deleteIfAny(this.#c, `routers/${id}`, ctx.signal);
  }

  /** Attaches a subnet. A retried request whose first attempt was applied is refused (400, the
   *  router "already has a port on subnet"): the interface is there, which is what was asked. */
  async #addInterface(ctx: DriverContext, id: string, subnetId: string): Promise<void> {
    try {
      await this.#c.request('PUT', `/v2.0/routers/${id}/add_router_interface`, { body: { subnet_id: subnetId }, signal: ctx.signal });
    } catch (err) {
      if (!(err instanceof BackendError) || err.errorClass === 'NotFound') throw err;
      const ports = await this.#ports(ctx, id);
      if (!ports.some((p) => ROUTER_INTERFACE_OWNERS.has(p.device_owner) && p.fixed_ips.some((f) => f.subnet_id === subnetId))) throw err;
    }
  }

  /** Detaches a subnet or an interface port; one already detached (404) is done. */
  async #removeInterface(ctx: DriverContext, id: string, which: { subnet_id: string } | { port_id: string }): Promise<void> {
    try {
      await this.#c.request('PUT', `/v2.0/routers/${id}/remove_router_interface`, { body: which, signal: ctx.signal });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  #get(ctx: DriverContext, id: string): Promise<NeutronRouter | undefined> {
    return getIfAny<NeutronRouter>(this.#c, 'routers', id, ctx.signal);
  }

  #ports(ctx: DriverContext, id: string): Promise<NeutronRouterPort[]> {
    return this.#c.list<NeutronRouterPort>('ports', { device_id: id }, ctx.signal);
  }

  async #observedFresh(ctx: DriverContext, r: NeutronRouter, owner: Owner, recorded: boolean, name: string): Promise<Observed<RouterState>> {
    const other = foreignOwner(r.tags, owner);
    const state = normalizeRouter(r, await this.#ports(ctx, r.id), owner, name);
    if (recorded && other && !state.ours) throw terminal(`Neutron router ${r.id} belongs to another owner (${other})`);
    const externalIds: Record<string, string> = {};
    for (const i of state.interfaces) externalIds[`interface/${i.subnetId}`] = i.portId;
    return {
      externalId: r.id,
      externalIds,
      state,
      version: String(r.revision_number),
      owned: state.ours || (recorded && !other),
      facts: {
        gatewayAddresses: state.gateway?.fixedIps.map((f) => f.ipAddress) ?? [],
        interfaceAddresses: state.interfaces.map((i) => i.ipAddress),
      },
    };
  }

  /** Refuses, once and for all, a Neutron without the router extensions (its 404s would read as "no such router"). */
  #requireExtensions(ctx: DriverContext): Promise<void> {
    return this.#extensions.check(ctx.signal);
  }
}

function vanished(id: string): never {
  throw new BackendError('Transient', `Neutron router ${id} vanished during the update`);
}
