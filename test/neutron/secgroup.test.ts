// Security groups on the real Neutron, through the driver (NeutronSecurityGroups); every check reads
// Neutron through its own API (support.ts `api`) or the `openstack` CLI, never through the driver.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { vlanSource } from '../support/vlans.ts';
import type { DriverContext, Owner } from '../../src/drivers/driver.ts';
import type { SecurityGroupModel, SecurityGroupRuleModel } from '../../src/drivers/model.ts';
import type { NeutronClient } from '../../src/drivers/neutron/client.ts';
import { ownerTag, ownerTags, pendingMarker } from '../../src/drivers/neutron/mapping.ts';
import { securityGroupName } from '../../src/drivers/neutron/secgroup-mapping.ts';
import { api, driver, neutronUrl, uniq } from './support.ts';

const exec = promisify(execFile);

/** The `openstack` client (Debian's python3-openstackclient), pointed at the noauth endpoint. */
async function openstack<T>(...args: string[]): Promise<T> {
  const { stdout } = await exec('openstack', ['--os-auth-type', 'none', '--os-endpoint', neutronUrl(), ...args, '-f', 'json'], {
    env: { ...process.env, PATH: `/usr/bin:${process.env.PATH ?? ''}` },
    timeout: 120_000,
  });
  return JSON.parse(stdout) as T;
}

const ctx = (): DriverContext => ({ signal: new AbortController().signal, log: pino({ level: 'silent' }) });
const owner = (name: string): Owner => ({ instance: 'netform', kind: 'SecurityGroup', namespace: 'sg', name });

interface RawRule {
  id: string;
  security_group_id: string;
  direction: string;
  ethertype: string;
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
}
interface RawGroup {
  id: string;
  name: string;
  description: string;
  stateful: boolean;
  security_group_rules: RawRule[];
  tags: string[];
  revision_number: number;
}

async function raw(id: string): Promise<{ status: number; group?: RawGroup }> {
  const r = await api<{ security_group: RawGroup }>('GET', `/v2.0/security-groups/${id}`);
  return { status: r.status, group: r.body?.security_group };
}
const groupsNamed = async (name: string) => (await api<{ security_groups: RawGroup[] }>('GET', `/v2.0/security-groups?name=${encodeURIComponent(name)}`)).body.security_groups;
const rulesListed = async (id: string) => (await api<{ security_group_rules: RawRule[] }>('GET', `/v2.0/security-group-rules?security_group_id=${id}`)).body.security_group_rules;

/** A Neutron rule in words, as Neutron stores it: `direction ethertype protocol min-max peer`. */
const said = (r: RawRule) =>
  `${r.direction} ${r.ethertype} ${r.protocol ?? 'any'} ${r.port_range_min ?? ''}-${r.port_range_max ?? ''} ${r.remote_group_id ? `group ${r.remote_group_id}` : (r.remote_ip_prefix ?? 'anywhere')}`;
const saidAll = (rules: RawRule[]) => rules.map(said).sort();

interface CliRule {
  ID: string;
  'IP Protocol': string | null;
  Ethertype: string;
  'IP Range': string | null;
  'Port Range': string;
  Direction: string;
  'Remote Security Group': string | null;
}
/** The same words from the openstack CLI's table (which shows 0.0.0.0/0 for "anywhere" and ports as `min:max`). */
const cliSaid = (r: CliRule) =>
  `${r.Direction} ${r.Ethertype} ${r['IP Protocol'] ?? 'any'} ${r['Port Range'].replace(':', '-') || '-'} ${
    r['Remote Security Group'] ? `group ${r['Remote Security Group']}` : r['IP Range'] === '0.0.0.0/0' || r['IP Range'] === '::/0' ? 'anywhere' : r['IP Range']
  }`;
const cliRules = async (id: string) => (await openstack<CliRule[]>('security', 'group', 'rule', 'list', id)).map(cliSaid).sort();

async function created<T>(path: string, key: string, body: Record<string, unknown>): Promise<T> {
  const r = await api<Record<string, T>>('POST', path, { [key]: body });
  expect(r.status, `${path} ${JSON.stringify(r.body)}`).toBe(201);
  return r.body[key]!;
}

const madeNetworks: string[] = [];
const nextVlan = vlanSource('physnet3', 3880, 3999);
/** A network (port security on, Neutron's default) with one port in the given groups, by plain API calls. */
async function portIn(run: string, groups: string[]): Promise<{ network: string; port: string }> {
  const n = await created<{ id: string }>('/v2.0/networks', 'network', {
    name: `sgnet-${run}`,
    'provider:network_type': 'vlan',
    'provider:physical_network': 'physnet3',
    'provider:segmentation_id': nextVlan(),
  });
  madeNetworks.push(n.id);
  const p = await created<{ id: string; security_groups: string[] }>('/v2.0/ports', 'port', { network_id: n.id, name: `sgport-${run}`, security_groups: groups });
  expect(p.security_groups).toEqual(groups);
  return { network: n.id, port: p.id };
}
const portGroups = async (port: string) => (await api<{ port: { security_groups: string[] } }>('GET', `/v2.0/ports/${port}`)).body.port.security_groups;

afterAll(async () => {
  for (const id of madeNetworks) {
    for (const p of (await api<{ ports: { id: string }[] }>('GET', `/v2.0/ports?network_id=${id}`)).body.ports) await api('DELETE', `/v2.0/ports/${p.id}`);
    await api('DELETE', `/v2.0/networks/${id}`);
  }
});

const WEB: SecurityGroupRuleModel = { direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portRangeMin: 8080, portRangeMax: 8080, remoteIpPrefix: '10.20.0.0/24' };
const PING: SecurityGroupRuleModel = { direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp' };
const SELF: SecurityGroupRuleModel = { direction: 'ingress', ethertype: 'IPv4', remoteGroupSelf: true };
const pg = (dbGroup: string): SecurityGroupRuleModel => ({ direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portRangeMin: 5432, portRangeMax: 5432, remoteGroupId: dbGroup });

function model(name: string, rules: SecurityGroupRuleModel[], over: Partial<SecurityGroupModel> = {}): SecurityGroupModel {
  return { name: `sg/${name}`, description: 'the web tier', stateful: true, rules, ...over };
}

/** Records the driver's requests (method and path, in order). */
function recordCalls(client: NeutronClient): string[] {
  const calls: string[] = [];
  const request = client.request.bind(client);
  client.request = (async (method: Parameters<NeutronClient['request']>[0], path: string, o?: Parameters<NeutronClient['request']>[2]) => {
    calls.push(`${method} ${path}`);
    return request(method, path, o);
  }) as NeutronClient['request'];
  return calls;
}

describe('Neutron security groups', () => {
  it('create: exactly the declared rules (a CIDR, another group, ICMP, itself), Neutron’s default egress rules gone; an edit keeps the group, its untouched rules and its port; API and openstack CLI agree', async () => {
    const run = uniq();
    const d = driver();
    // The other group, made by the driver too; with no rules it holds none at all.
    const dbOwner = owner(`db-${run}`);
    const db = await d.securityGroups.create(ctx(), dbOwner, model(`db-${run}`, [], { description: 'the databases' }));
    expect((await raw(db.externalId)).group!.security_group_rules).toEqual([]);

    const o = owner(`web-${run}`);
    const m1 = model(`web-${run}`, [WEB, pg(db.externalId), PING, SELF]);
    const made = await d.securityGroups.create(ctx(), o, m1);
    const id = made.externalId;
    expect(made.owned).toBe(true);
    expect(d.securityGroups.diff(m1, made.state)).toEqual([]);

    const declared = [
      `ingress IPv4 any - group ${id}`,
      'ingress IPv4 icmp - anywhere',
      `ingress IPv4 tcp 5432-5432 group ${db.externalId}`,
      'ingress IPv4 tcp 8080-8080 10.20.0.0/24',
    ].sort();
    // The API: the group (named, described, stateful, marked) and its rules, both ways of asking.
    const g = (await raw(id)).group!;
    expect(g).toMatchObject({ name: `sg_web-${run}`, description: 'the web tier', stateful: true });
    expect(g.tags).toEqual(expect.arrayContaining(ownerTags(o)));
    expect(saidAll(g.security_group_rules)).toEqual(declared);
    const listed = await rulesListed(id);
    expect(saidAll(listed)).toEqual(declared);
    expect(listed.filter((r) => r.direction === 'egress')).toEqual([]);

    // A client nobody here wrote.
    expect(await cliRules(id)).toEqual(declared);
    expect(await openstack('security', 'group', 'show', id)).toMatchObject({ id, name: `sg_web-${run}`, stateful: true });

    // A port in the group (plain API calls, as Nova would make it).
    const { port } = await portIn(run, [id]);

    // Observed again by its recorded id: nothing to do.
    const seen = (await d.securityGroups.observe(ctx(), { owner: o, desired: m1, externalId: id }))!;
    expect(seen.externalId).toBe(id);
    expect(d.securityGroups.diff(m1, seen.state)).toEqual([]);

    // Edit: ICMP removed, DNS to one server added, 8080 becomes 8443. The rules as a readable diff.
    const DNS: SecurityGroupRuleModel = { direction: 'egress', ethertype: 'IPv4', protocol: 'udp', portRangeMin: 53, portRangeMax: 53, remoteIpPrefix: '10.20.0.2/32' };
    const m2 = model(`web-${run}`, [{ ...WEB, portRangeMin: 8443, portRangeMax: 8443 }, pg(db.externalId), SELF, DNS]);
    const changes = d.securityGroups.diff(m2, seen.state);
    expect(changes).toEqual([
      {
        path: 'rules',
        from: [`ingress IPv4 any from self`, 'ingress IPv4 icmp from anywhere', `ingress IPv4 tcp 5432-5432 from group ${db.externalId}`, 'ingress IPv4 tcp 8080-8080 from 10.20.0.0/24'],
        to: ['egress IPv4 udp 53-53 to 10.20.0.2/32', 'ingress IPv4 any from self', `ingress IPv4 tcp 5432-5432 from group ${db.externalId}`, 'ingress IPv4 tcp 8443-8443 from 10.20.0.0/24'],
      },
    ]);
    const idsBefore = new Map(listed.map((r) => [said(r), r.id]));
    const calls = recordCalls(d.client);
    const after = await d.securityGroups.update(ctx(), o, seen, m2, changes);
    expect(after.externalId).toBe(id);
    expect(d.securityGroups.diff(m2, after.state)).toEqual([]);
    // The new rules were made (both in one bulk POST) before the old ones went.
    const writes = calls.filter((c) => c.startsWith('POST') || c.startsWith('DELETE'));
    expect(writes.map((c) => c.split(' ')[0])).toEqual(['POST', 'DELETE', 'DELETE']);

    const edited = [
      'egress IPv4 udp 53-53 10.20.0.2/32',
      `ingress IPv4 any - group ${id}`,
      `ingress IPv4 tcp 5432-5432 group ${db.externalId}`,
      'ingress IPv4 tcp 8443-8443 10.20.0.0/24',
    ].sort();
    const listed2 = await rulesListed(id);
    expect(saidAll(listed2)).toEqual(edited);
    // The untouched rules are the same Neutron rules.
    for (const r of listed2) if (idsBefore.has(said(r))) expect(r.id).toBe(idsBefore.get(said(r)));
    expect(listed2.filter((r) => idsBefore.has(said(r)))).toHaveLength(2);
    expect(await cliRules(id)).toEqual(edited);
    // The port is still in the group.
    expect(await portGroups(port)).toEqual([id]);
    expect(await groupsNamed(`sg_web-${run}`)).toHaveLength(1);

    await api('DELETE', `/v2.0/ports/${port}`);
    await d.securityGroups.delete(ctx(), after);
    await d.securityGroups.delete(ctx(), db);
    expect((await raw(id)).status).toBe(404);
    expect((await raw(db.externalId)).status).toBe(404);
    await d.close();
  });

  it('a rule whose create was committed but whose answer was lost: the retry’s 409 SecurityGroupRuleExists counts as done', async () => {
    const run = uniq();
    const d = driver();
    const o = owner(`lost-${run}`);
    const m = model(`lost-${run}`, [WEB]);
    // Each rule POST is sent twice, the first answer dropped: Neutron commits the first, refuses the second.
    const request = d.client.request.bind(d.client);
    let duplicated = 0;
    d.client.request = (async (method: Parameters<NeutronClient['request']>[0], path: string, opts?: Parameters<NeutronClient['request']>[2]) => {
      if (method === 'POST' && path === '/v2.0/security-group-rules') {
        await request(method, path, opts);
        duplicated++;
      }
      return request(method, path, opts);
    }) as NeutronClient['request'];
    const made = await d.securityGroups.create(ctx(), o, m);
    expect(duplicated).toBe(1);
    expect(saidAll(await rulesListed(made.externalId))).toEqual(['ingress IPv4 tcp 8080-8080 10.20.0.0/24']);
    expect(d.securityGroups.diff(m, made.state)).toEqual([]);
    await d.securityGroups.delete(ctx(), made);
    await d.close();
  });

  it('a create that died after the POST (pending marker, no tags, Neutron’s default rules) is found by observe without a write, adopted and finished by create; a second create makes no second group', async () => {
    const run = uniq();
    const o = owner(`adopt-${run}`);
    const m = model(`adopt-${run}`, [WEB, SELF]);
    // What a process killed right after Neutron committed the POST leaves behind.
    const left = await created<RawGroup>('/v2.0/security-groups', 'security_group', { name: securityGroupName(m), description: pendingMarker(o), stateful: true });
    expect(left.tags).toEqual([]);
    expect(saidAll(left.security_group_rules)).toEqual(['egress IPv4 any - anywhere', 'egress IPv6 any - anywhere']);

    // A new process, nothing recorded: observe finds it by its marker, and writes nothing.
    const d = driver();
    const found = await d.securityGroups.observe(ctx(), { owner: o, desired: m });
    expect(found).toMatchObject({ externalId: left.id, owned: true, state: { ours: true, tagged: false } });
    const untouched = (await raw(left.id)).group!;
    expect(untouched).toMatchObject({ description: pendingMarker(o), tags: [], revision_number: left.revision_number });
    expect(saidAll(untouched.security_group_rules)).toEqual(['egress IPv4 any - anywhere', 'egress IPv6 any - anywhere']);

    const adopted = await d.securityGroups.create(ctx(), o, m);
    expect(adopted.externalId).toBe(left.id);
    expect(d.securityGroups.diff(m, adopted.state)).toEqual([]);
    const again = await d.securityGroups.create(ctx(), o, m);
    expect(again.externalId).toBe(left.id);

    const all = await groupsNamed(securityGroupName(m));
    expect(all.map((x) => x.id)).toEqual([left.id]);
    expect((await api<{ security_groups: RawGroup[] }>('GET', `/v2.0/security-groups?tags=${ownerTag(o)}`)).body.security_groups.map((x) => x.id)).toEqual([left.id]);
    expect(all[0]).toMatchObject({ description: 'the web tier', stateful: true });
    expect(all[0]!.tags).toEqual(expect.arrayContaining(ownerTags(o)));
    expect(saidAll(await rulesListed(left.id))).toEqual([`ingress IPv4 any - group ${left.id}`, 'ingress IPv4 tcp 8080-8080 10.20.0.0/24']);

    // Two creates in a row from nothing: one group.
    const o2 = owner(`twice-${run}`);
    const m2 = model(`twice-${run}`, [PING], { stateful: false });
    const first = await d.securityGroups.create(ctx(), o2, m2);
    const second = await d.securityGroups.create(ctx(), o2, m2);
    expect(second.externalId).toBe(first.externalId);
    expect((await groupsNamed(securityGroupName(m2))).map((x) => x.id)).toEqual([first.externalId]);
    expect((await raw(first.externalId)).group).toMatchObject({ stateful: false });

    await d.securityGroups.delete(ctx(), adopted);
    await d.securityGroups.delete(ctx(), first);
    await d.close();
  });

  it('delete: gone, and again fine; while a port uses the group it is Transient (SecurityGroupInUse, naming the port) and nothing is deleted — nor can stateful change then — until the port is gone', async () => {
    const run = uniq();
    const d = driver();
    const o = owner(`del-${run}`);
    const m = model(`del-${run}`, [WEB, PING]);
    const made = await d.securityGroups.create(ctx(), o, m);
    const id = made.externalId;
    const { port } = await portIn(run, [id]);

    const err = await d.securityGroups.delete(ctx(), made).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ errorClass: 'Transient', code: 'SecurityGroupInUse' });
    expect((err as Error).message).toContain(port);
    const still = (await raw(id)).group!;
    expect(saidAll(still.security_group_rules)).toEqual(['ingress IPv4 icmp - anywhere', 'ingress IPv4 tcp 8080-8080 10.20.0.0/24']);
    expect(await portGroups(port)).toEqual([id]);

    // Why stateful is immutable: Neutron refuses to change it while a port uses the group; the diff says so.
    const refused = await api<{ NeutronError: { type: string } }>('PUT', `/v2.0/security-groups/${id}`, { security_group: { stateful: false } });
    expect(refused.status).toBe(409);
    expect(refused.body.NeutronError.type).toBe('SecurityGroupInUse');
    expect(d.securityGroups.diff({ ...m, stateful: false }, made.state)).toEqual([{ path: 'stateful', from: true, to: false, immutable: true }]);

    expect((await api('DELETE', `/v2.0/ports/${port}`)).status).toBe(204);
    await d.securityGroups.delete(ctx(), made);
    expect((await raw(id)).status).toBe(404);
    expect(await rulesListed(id)).toEqual([]);
    await d.securityGroups.delete(ctx(), made);
    expect(await d.securityGroups.observe(ctx(), { owner: o, desired: m, externalId: id })).toBeUndefined();
    await d.close();
  });

  it('deleting a group takes the rules of other groups that name it as their remote group with it; putting such a rule back while the remote group is missing is Transient, and writes nothing', async () => {
    const run = uniq();
    const d = driver();
    const db = await d.securityGroups.create(ctx(), owner(`rdb-${run}`), model(`rdb-${run}`, []));
    const o = owner(`rweb-${run}`);
    const m = model(`rweb-${run}`, [WEB, pg(db.externalId)]);
    const web = await d.securityGroups.create(ctx(), o, m);
    expect(saidAll(await rulesListed(web.externalId))).toEqual([`ingress IPv4 tcp 5432-5432 group ${db.externalId}`, 'ingress IPv4 tcp 8080-8080 10.20.0.0/24']);

    await d.securityGroups.delete(ctx(), db);
    // Neutron removed the referring rule without a word.
    expect(saidAll(await rulesListed(web.externalId))).toEqual(['ingress IPv4 tcp 8080-8080 10.20.0.0/24']);
    const seen = (await d.securityGroups.observe(ctx(), { owner: o, desired: m, externalId: web.externalId }))!;
    expect(d.securityGroups.diff(m, seen.state)).toEqual([
      { path: 'rules', from: ['ingress IPv4 tcp 8080-8080 from 10.20.0.0/24'], to: [`ingress IPv4 tcp 5432-5432 from group ${db.externalId}`, 'ingress IPv4 tcp 8080-8080 from 10.20.0.0/24'] },
    ]);
    const err = await d.securityGroups.update(ctx(), o, seen, m, d.securityGroups.diff(m, seen.state)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ errorClass: 'Transient', code: 'SecurityGroupNotFound' });
    expect((err as Error).message).toContain('remote group does not exist');
    expect(saidAll(await rulesListed(web.externalId))).toEqual(['ingress IPv4 tcp 8080-8080 10.20.0.0/24']);
    expect((await raw(web.externalId)).status).toBe(200);

    await d.securityGroups.delete(ctx(), web);
    await d.close();
  });

  it('a group’s rules are added in one bulk POST; a bulk refused for a rule already there (its answer lost) or a missing remote group falls back to one POST per rule, with no duplicate', async () => {
    const run = uniq();
    const d = driver();
    const calls = recordCalls(d.client);
    const many = Array.from({ length: 30 }, (_, i): SecurityGroupRuleModel => ({ direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portRangeMin: 9000 + i, portRangeMax: 9000 + i, remoteIpPrefix: '10.30.0.0/16' }));
    const m = model(`bulk-${run}`, many);
    const made = await d.securityGroups.create(ctx(), owner(`bulk-${run}`), m);
    expect(calls.filter((c) => c === 'POST /v2.0/security-group-rules')).toHaveLength(1);
    expect(saidAll(await rulesListed(made.externalId))).toEqual(many.map((r) => `ingress IPv4 tcp ${r.portRangeMin}-${r.portRangeMax} 10.30.0.0/16`).sort());
    expect(d.securityGroups.diff(m, made.state)).toEqual([]);

    // A bulk sent twice, the first answer lost: Neutron committed it and refuses the second whole
    // (409 SecurityGroupRuleExists); the rules then go one by one, each already there: done, once each.
    const d2 = driver();
    const request = d2.client.request.bind(d2.client);
    let duplicated = 0;
    d2.client.request = (async (method: Parameters<NeutronClient['request']>[0], path: string, opts?: Parameters<NeutronClient['request']>[2]) => {
      if (method === 'POST' && path === '/v2.0/security-group-rules' && (opts?.body as { security_group_rules?: unknown[] }).security_group_rules && duplicated === 0) {
        await request(method, path, opts);
        duplicated++;
      }
      return request(method, path, opts);
    }) as NeutronClient['request'];
    const m2 = model(`bulk2-${run}`, [WEB, PING, SELF]);
    const made2 = await d2.securityGroups.create(ctx(), owner(`bulk2-${run}`), m2);
    expect(duplicated).toBe(1);
    expect(saidAll(await rulesListed(made2.externalId))).toEqual(
      ['ingress IPv4 icmp - anywhere', 'ingress IPv4 tcp 8080-8080 10.20.0.0/24', `ingress IPv4 any - group ${made2.externalId}`].sort(),
    );
    expect(d2.securityGroups.diff(m2, made2.state)).toEqual([]);

    // A bulk naming a remote group that is gone: refused whole (404), then rule by rule: the others
    // are added, the one naming the missing group is Transient.
    const db = await d.securityGroups.create(ctx(), owner(`bdb-${run}`), model(`bdb-${run}`, []));
    await d.securityGroups.delete(ctx(), db);
    const o3 = owner(`bulk3-${run}`);
    const m3 = model(`bulk3-${run}`, [WEB, PING, pg(db.externalId)]);
    const err = await d.securityGroups.create(ctx(), o3, m3).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ errorClass: 'Transient', code: 'SecurityGroupNotFound' });
    const [g3] = await groupsNamed(securityGroupName(m3));
    // Rule by rule in the rules' order (icmp, then tcp 5432 from the gone group, then tcp 8080): the
    // one before the failing rule is in, the failing one is not, the rest waits for the retry. (Neutron's
    // default egress rules are still there: they go once the declared ones are in.)
    expect(saidAll((await rulesListed(g3!.id)).filter((r) => r.direction === 'ingress'))).toEqual(['ingress IPv4 icmp - anywhere']);

    for (const g of [made, made2]) await d.securityGroups.delete(ctx(), g);
    await api('DELETE', `/v2.0/security-groups/${g3!.id}`);
    await d.close();
    await d2.close();
  });

  it('a group found by its recorded id that carries another owner’s tag is Terminal, and is not adopted without the id', async () => {
    const run = uniq();
    const theirs = owner(`theirs-${run}`);
    const g = await created<RawGroup>('/v2.0/security-groups', 'security_group', { name: `sg_theirs-${run}` });
    expect((await api('PUT', `/v2.0/security-groups/${g.id}/tags`, { tags: ownerTags(theirs) })).status).toBe(200);
    const d = driver();
    const mine = owner(`mine-${run}`);
    const m = model(`mine-${run}`, []);
    await expect(d.securityGroups.observe(ctx(), { owner: mine, desired: m, externalId: g.id })).rejects.toMatchObject({ errorClass: 'Terminal' });
    expect(await d.securityGroups.observe(ctx(), { owner: mine, desired: m })).toBeUndefined();
    const after = (await raw(g.id)).group!;
    expect(after.tags).toEqual(expect.arrayContaining(ownerTags(theirs)));
    expect(saidAll(after.security_group_rules)).toEqual(['egress IPv4 any - anywhere', 'egress IPv6 any - anywhere']);
    await api('DELETE', `/v2.0/security-groups/${g.id}`);
    await d.close();
  });
});
