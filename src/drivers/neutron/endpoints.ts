// Service endpoints on Neutron: one port per ServiceEndpoint, its device_owner naming the service
// (netform:<service>), marked like every netform object (the pending marker in the description
// until the owner tags are set, then found by its tags), updated in place with If-Match.
import { BackendError, terminal } from '../../api/errors.ts';
import type { DriverContext, FieldChange, Observed, ObserveRequest, Owner, ResourceDriver } from '../driver.ts';
import type { ServiceEndpointModel } from '../model.ts';
import type { NeutronClient } from './client.ts';
import { diffEndpoint, endpointBody, endpointMutableBody } from './endpoint-mapping.ts';
import { fixedIpsBody, foreignOwner, normalizePort, ownerTags, type NeutronPort, type PortState } from './mapping.ts';
import { deleteIfAny, findOwned, getIfAny, markOwned, UncertainCreates } from './shared.ts';

export class NeutronServiceEndpoints implements ResourceDriver<ServiceEndpointModel, PortState> {
  readonly #c: NeutronClient;
  readonly #projectId: string | undefined;
  readonly #creates: UncertainCreates;

  constructor(client: NeutronClient, projectId: string | undefined, creates = new UncertainCreates(30_000)) {
    this.#c = client;
    this.#projectId = projectId;
    this.#creates = creates;
  }

  /** By the recorded id; else the port an import names (by id, or by its name on the network); else this owner's. */
  async observe(ctx: DriverContext, req: ObserveRequest<ServiceEndpointModel>): Promise<Observed<PortState> | undefined> {
    if (req.externalId) {
      const p = await this.#get(ctx, req.externalId);
      if (p) return this.#observed(p, req.owner, true, req.desired.name);
    }
    if (req.import) {
      let found: NeutronPort | undefined;
      if (req.import.id) found = await this.#get(ctx, req.import.id);
      else {
        const hits = await this.#c.list<NeutronPort>('ports', { name: req.import.name!, network_id: req.desired.networkExternalId }, ctx.signal);
        if (hits.length > 1) throw terminal(`${hits.length} Neutron ports on network ${req.desired.networkExternalId} are named ${req.import.name}; import by id`);
        found = hits[0];
      }
      return found ? this.#observed(found, req.owner, false) : undefined;
    }
    const mine = await findOwned<NeutronPort>(this.#c, 'ports', req.owner, req.desired.name, ctx.signal);
    return mine ? this.#observed(mine, req.owner, false, req.desired.name) : undefined;
  }

  diff(desired: ServiceEndpointModel, observed: PortState): FieldChange[] {
    return diffEndpoint(desired, observed);
  }

  async create(ctx: DriverContext, owner: Owner, desired: ServiceEndpointModel): Promise<Observed<PortState>> {
    // Adopt what an earlier attempt created (its answer lost, or the process gone before recording it).
    await this.#creates.settled(owner, ctx.signal);
    const existing = await findOwned<NeutronPort>(this.#c, 'ports', owner, desired.name, ctx.signal);
    if (existing) {
      // Finished here (marked, marker cleared, brought to the model), as a vNIC's port is.
      const adopted = this.#observed(existing, owner, false, desired.name);
      const changes = diffEndpoint(desired, adopted.state).filter((c) => !c.immutable);
      return changes.length ? this.update(ctx, owner, adopted, desired, changes) : adopted;
    }
    const { port } = await this.#creates.post(owner, () =>
      this.#c.request<{ port: NeutronPort }>('POST', '/v2.0/ports', { body: { port: endpointBody(desired, owner, this.#projectId) }, signal: ctx.signal }),
    );
    // From here on the port is found by its marker, then by its tags; whatever fails below, an update finishes.
    await this.#c.request('PUT', `/v2.0/ports/${port.id}/tags`, { body: { tags: ownerTags(owner) }, signal: ctx.signal });
    const done = await this.#c.request<{ port: NeutronPort }>('PUT', `/v2.0/ports/${port.id}`, { body: { port: { description: desired.description ?? '' } }, signal: ctx.signal });
    return this.#observed(done.port, owner, true, desired.name);
  }

  /**
   * One PUT of the port's attributes, compare-and-swap on the observed revision (412: a Conflict, the
   * engine re-observes). An untagged port of this owner is marked first, in one request; only then is
   * its pending marker cleared.
   */
  async update(ctx: DriverContext, owner: Owner, observed: Observed<PortState>, desired: ServiceEndpointModel, changes: FieldChange[]): Promise<Observed<PortState>> {
    const id = observed.externalId;
    const s = observed.state;
    let revision = Number(observed.version);
    if (changes.some((c) => c.path === 'tags')) {
      await markOwned(this.#c, 'ports', id, owner, ctx.signal);
      revision = ((await this.#get(ctx, id)) ?? vanished(id)).revision_number;
    }
    // Port security back on, no groups named: the project's default group, as a new port gets.
    const backOn = !desired.promiscuous && !s.portSecurity && !desired.securityGroupIds;
    const body = endpointMutableBody(desired, s.ours, backOn ? await this.#defaultGroup(ctx, s.projectId) : undefined);
    // Addresses are written only when they differ, keeping those already allocated where the spec names none.
    if (desired.fixedIps && changes.some((c) => c.path === 'fixedIps')) body.fixed_ips = fixedIpsBody(desired.fixedIps, s.fixedIps);
    const { port } = await this.#c.request<{ port: NeutronPort }>('PUT', `/v2.0/ports/${id}`, { body: { port: body }, ifMatchRevision: revision, signal: ctx.signal });
    return this.#observed(port, owner, true, desired.name);
  }

  delete(ctx: DriverContext, observed: Observed<PortState>): Promise<void> {
    return deleteIfAny(this.#c, `ports/${observed.externalId}`, ctx.signal);
  }

  /** The default security group of a project (every project has exactly one, named default). */
  async #defaultGroup(ctx: DriverContext, project: string): Promise<string | undefined> {
    const query: Record<string, string> = { name: 'default', fields: 'id' };
    if (project) query.project_id = project;
    const groups = await this.#c.list<{ id: string }>('security-groups', query, ctx.signal);
    return groups.length === 1 ? groups[0]!.id : undefined;
  }

  #get(ctx: DriverContext, id: string): Promise<NeutronPort | undefined> {
    return getIfAny<NeutronPort>(this.#c, 'ports', id, ctx.signal);
  }

  #observed(p: NeutronPort, owner: Owner, recorded: boolean, name?: string): Observed<PortState> {
    const other = foreignOwner(p.tags, owner);
    const state = normalizePort(p, owner, name);
    if (recorded && other && !state.ours) throw terminal(`Neutron port ${p.id} belongs to another owner (${other})`);
    return {
      externalId: p.id,
      state,
      version: String(p.revision_number),
      owned: state.ours || (recorded && !other),
      facts: { mac: state.mac, addresses: state.addresses, deviceOwner: state.deviceOwner },
    };
  }
}

function vanished(id: string): never {
  throw new BackendError('Transient', `Neutron port ${id} vanished during the update`);
}
