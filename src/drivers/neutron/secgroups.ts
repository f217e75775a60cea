// Security groups on Neutron: one group per SecurityGroup object, holding exactly the model's rules
// (Neutron's own allow-all egress rules of a new group go too). Marked like every netform object
// (owner tags; the pending marker in the description until tagged). Rules cannot change in Neutron:
// a changed rule is a new rule and the old one deleted, in the same group, so the group's id — and
// the ports' membership, and the flows it still allows — stay.
import { BackendError, conflict, terminal } from '../../api/errors.ts';
import type { DriverContext, FieldChange, Observed, ObserveRequest, Owner, ResourceDriver } from '../driver.ts';
import type { SecurityGroupModel, SecurityGroupRuleModel } from '../model.ts';
import type { NeutronClient } from './client.ts';
import { foreignOwner, ownerTags } from './mapping.ts';
import {
  canonicalRule,
  diffSecurityGroup,
  normalizeSecurityGroup,
  ruleBody,
  rulePlan,
  ruleText,
  securityGroupBody,
  securityGroupName,
  type NeutronSecurityGroup,
  type SecurityGroupState,
} from './secgroup-mapping.ts';
import { deleteIfAny, findOwned, isNotFound, markOwned, RequiredExtensions, UncertainCreates } from './shared.ts';

/** Extensions the security-group driver needs (checked once, when it is first used). */
export const SECURITY_GROUP_EXTENSIONS = ['security-group', 'stateful-security-group'];

/** Rules per bulk POST: a group's rules in one request, well below Neutron's request size limits. */
const RULES_PER_POST = 100;

/**
 * Security groups. A group's PUT honours `If-Match` (412 when its revision moved on); every rule
 * added or deleted moves the group's revision too, so `update` compares the revision once before it
 * writes anything, and sends `If-Match` with its PUT of the group's own fields.
 */
export class NeutronSecurityGroups implements ResourceDriver<SecurityGroupModel, SecurityGroupState> {
  readonly #c: NeutronClient;
  readonly #projectId: string | undefined;
  readonly #creates: UncertainCreates;
  readonly #extensions: RequiredExtensions;

  constructor(client: NeutronClient, projectId: string | undefined, creates = new UncertainCreates(30_000)) {
    this.#c = client;
    this.#projectId = projectId;
    this.#creates = creates;
    this.#extensions = new RequiredExtensions(client, SECURITY_GROUP_EXTENSIONS, 'security groups');
  }

  async observe(ctx: DriverContext, req: ObserveRequest<SecurityGroupModel>): Promise<Observed<SecurityGroupState> | undefined> {
    await this.#requireExtensions(ctx);
    const name = securityGroupName(req.desired);
    if (req.externalId) {
      const g = await this.#get(ctx, req.externalId);
      if (g) return this.#observed(g, req.owner, true, name);
    }
    const mine = await findOwned<NeutronSecurityGroup>(this.#c, 'security-groups', req.owner, name, ctx.signal);
    // A listing's group may lack its rules: read it whole.
    const whole = mine && (await this.#get(ctx, mine.id));
    return whole ? this.#observed(whole, req.owner, false, name) : undefined;
  }

  diff(desired: SecurityGroupModel, observed: SecurityGroupState): FieldChange[] {
    return diffSecurityGroup(desired, observed);
  }

  async create(ctx: DriverContext, owner: Owner, desired: SecurityGroupModel): Promise<Observed<SecurityGroupState>> {
    await this.#requireExtensions(ctx);
    // Adopt what an earlier attempt created (its answer lost, or the process gone before recording it).
    await this.#creates.settled(owner, ctx.signal);
    const existing = await this.observe(ctx, { owner, desired });
    if (existing) return this.#finish(ctx, owner, existing, desired);
    const { security_group: group } = await this.#creates.post(owner, () =>
      this.#c.request<{ security_group: NeutronSecurityGroup }>('POST', '/v2.0/security-groups', {
        body: { security_group: securityGroupBody(desired, owner, this.#projectId) },
        signal: ctx.signal,
      }),
    );
    // From here on the group is found by its marker, then by its tags; whatever fails below, an update finishes.
    await this.#c.request('PUT', `/v2.0/security-groups/${group.id}/tags`, { body: { tags: ownerTags(owner) }, signal: ctx.signal });
    const described = await this.#c.request<{ security_group: NeutronSecurityGroup }>('PUT', `/v2.0/security-groups/${group.id}`, {
      body: { security_group: { description: desired.description ?? '' } },
      signal: ctx.signal,
    });
    return this.#finish(ctx, owner, this.#observed(described.security_group, owner, true, securityGroupName(desired)), desired);
  }

  /** Brings a group just made or adopted to the model: its rules (Neutron's default egress rules
   *  out), or whatever an interrupted create left undone. `stateful` is left to the engine (a replace). */
  async #finish(ctx: DriverContext, owner: Owner, observed: Observed<SecurityGroupState>, desired: SecurityGroupModel): Promise<Observed<SecurityGroupState>> {
    const changes = diffSecurityGroup(desired, observed.state).filter((c) => !c.immutable);
    return changes.length ? this.update(ctx, owner, observed, desired, changes) : observed;
  }

  async update(
    ctx: DriverContext,
    owner: Owner,
    observed: Observed<SecurityGroupState>,
    desired: SecurityGroupModel,
    _changes?: FieldChange[],
  ): Promise<Observed<SecurityGroupState>> {
    const id = observed.externalId;
    const name = securityGroupName(desired);
    let now = (await this.#get(ctx, id)) ?? vanished(id);
    if (observed.version !== undefined && String(now.revision_number) !== observed.version) {
      throw conflict(`Neutron security group ${id} changed since it was observed (revision ${observed.version}, now ${now.revision_number})`, 'RevisionNumberConstraintFailed');
    }
    let state = normalizeSecurityGroup(now, owner, name);
    if (!state.tagged) {
      // Marked as this owner's first, in one request; only then is the pending marker cleared.
      await markOwned(this.#c, 'security-groups', id, owner, ctx.signal);
      now = (await this.#get(ctx, id)) ?? vanished(id);
    }

    // 1. The group's own fields (never `stateful`: immutable), compare-and-swap.
    const body: Record<string, unknown> = {};
    if (state.name !== name) body.name = name;
    if (state.description !== (desired.description ?? '')) body.description = desired.description ?? '';
    if (Object.keys(body).length) {
      await this.#c.request('PUT', `/v2.0/security-groups/${id}`, { body: { security_group: body }, ifMatchRevision: now.revision_number, signal: ctx.signal });
    }

    // 2. The rules: the missing ones first, then those not in the model, so that a narrowing edit
    //    never drops, even for a moment, what the model still allows.
    state = normalizeSecurityGroup(now, owner, name);
    const plan = rulePlan(desired, state);
    if (plan.create.length > 1) await this.#addRules(ctx, id, plan.create);
    else for (const r of plan.create) await this.#addRule(ctx, id, r);
    for (const ruleId of plan.delete) await deleteIfAny(this.#c, `security-group-rules/${ruleId}`, ctx.signal);

    return this.#observed((await this.#get(ctx, id)) ?? vanished(id), owner, true, name);
  }

  /**
   * Deletes the group; one already gone is done. Neutron refuses to delete a group a port still uses
   * (409 SecurityGroupInUse): Transient, since the ports are being moved off it.
   */
  async delete(ctx: DriverContext, observed: Observed<SecurityGroupState>): Promise<void> {
    const id = observed.externalId;
    try {
      await deleteIfAny(this.#c, `security-groups/${id}`, ctx.signal);
    } catch (err) {
      if (!(err instanceof BackendError && err.code === 'SecurityGroupInUse')) throw err;
      const ports = await this.#c.list<{ id: string }>('ports', { security_groups: id, fields: 'id' }, ctx.signal).catch(() => undefined);
      const which = ports?.length ? `: ${ports.length} port(s) (${ports.slice(0, 5).map((p) => p.id).join(', ')}${ports.length > 5 ? ', …' : ''})` : '';
      throw new BackendError('Transient', `Neutron security group ${id} is still used by ports${which}; it is deleted once they are off it`, {
        code: 'SecurityGroupInUse',
        cause: err,
      });
    }
  }

  /**
   * Adds several rules in bulk POSTs of up to RULES_PER_POST (issue 15: one request for a group's
   * rules, not one each). Neutron creates a bulk all or nothing: a rule it already has (a retry of a
   * bulk whose answer was lost, or of one that half happened) or a remote group it does not know refuses
   * the whole of it, and then the rules of that bulk are added one by one, each judged on its own.
   */
  async #addRules(ctx: DriverContext, id: string, rules: readonly SecurityGroupRuleModel[]): Promise<void> {
    for (let i = 0; i < rules.length; i += RULES_PER_POST) {
      const chunk = rules.slice(i, i + RULES_PER_POST);
      try {
        await this.#c.request('POST', '/v2.0/security-group-rules', { body: { security_group_rules: chunk.map((r) => ruleBody(r, id, this.#projectId)) }, signal: ctx.signal });
      } catch (err) {
        if (!(err instanceof BackendError && (err.code === 'SecurityGroupRuleExists' || isNotFound(err)))) throw err;
        for (const r of chunk) await this.#addRule(ctx, id, r);
      }
    }
  }

  /**
   * Adds one rule. A rule Neutron already has (409 SecurityGroupRuleExists: a retry of a request
   * whose answer was lost) is done. A remote group that does not exist (404 SecurityGroupNotFound,
   * while this group does) is Transient: it is made, or its reference re-resolved, by another object.
   */
  async #addRule(ctx: DriverContext, id: string, r: SecurityGroupRuleModel): Promise<void> {
    try {
      await this.#c.request('POST', '/v2.0/security-group-rules', { body: { security_group_rule: ruleBody(r, id, this.#projectId) }, signal: ctx.signal });
    } catch (err) {
      if (err instanceof BackendError && err.code === 'SecurityGroupRuleExists') return;
      if (!isNotFound(err)) throw err;
      if (!(await this.#get(ctx, id))) vanished(id);
      throw new BackendError('Transient', `rule "${ruleText(canonicalRule(r, id))}" of Neutron security group ${id}: its remote group does not exist on Neutron`, {
        code: (err as BackendError).code,
        cause: err,
      });
    }
  }

  async #get(ctx: DriverContext, id: string): Promise<NeutronSecurityGroup | undefined> {
    try {
      return (await this.#c.request<{ security_group: NeutronSecurityGroup }>('GET', `/v2.0/security-groups/${id}`, { signal: ctx.signal })).security_group;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  #observed(g: NeutronSecurityGroup, owner: Owner, recorded: boolean, name: string): Observed<SecurityGroupState> {
    const other = foreignOwner(g.tags, owner);
    const state = normalizeSecurityGroup(g, owner, name);
    if (recorded && other && !state.ours) throw terminal(`Neutron security group ${g.id} belongs to another owner (${other})`);
    return {
      externalId: g.id,
      state,
      version: String(g.revision_number),
      owned: state.ours || (recorded && !other),
      facts: { rules: state.rules.length },
    };
  }

  /** Refuses, once and for all, a Neutron without the security-group extensions (its 404s would read as "no such group"). */
  #requireExtensions(ctx: DriverContext): Promise<void> {
    return this.#extensions.check(ctx.signal);
  }
}

function vanished(id: string): never {
  throw new BackendError('Transient', `Neutron security group ${id} vanished during the update`);
}
