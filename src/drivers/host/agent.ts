// The host agent: observes one host (its kernel devices and Open vSwitch), converges it to the
// desired layout as one transaction — snapshot → ip -batch + one OVSDB transaction → verify
// (re-observe, probes, the source of desired state still reachable) → commit, or roll back to the
// snapshot — and reports the interface table and each network's sync state.
import { settleDeparting } from './departing.ts';
import { spawn } from 'node:child_process';
import { access, readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { VerifyError, type HostChanges, type HostDriver, type HostInterfaceRow, type HostModel, type HostPlannedChange, type HostReport } from '../host-driver.ts';
import { describeHostDiff } from './describe.ts';
import { desiredHost } from './desired.ts';
import { changeCount, diffHost, isEmpty, networkSync, type HostDiff } from './diff.ts';
import { command, inNetns, ip, ipBatch, tc, tcBatch } from './ip.ts';
import { NAT_TABLE, parseNat, parseRoutes, planRouters, routerOwner, routerSync, type RouterPlan } from './l3.ts';
import { parseFirewallDigest, removeFirewallScript, renderFirewall } from './firewall.ts';
import { FLOW_COOKIE, FLOW_COOKIE_MASK, OVS_NETWORK_KEY, OVS_OWNER_KEY, type DesiredFirewallPort, type DesiredHost, type ObservedHost, type ObservedLink, type ObservedRouter } from './model.ts';
import { ownedQos, parseAddresses, parseLinks, parseOpenFlow, parseOvs, parseQos, parseTc } from './parse.ts';
import { addressLines, planHost, type HostPlan } from './plan.ts';
import { restoreTarget } from './restore.ts';

export { VerifyError, type HostInterfaceRow, type HostReport } from '../host-driver.ts';

/** What the agent needs of an OVSDB connection. */
export interface OvsDb {
  /** The database's unix socket, when known: ovs-vswitchd's run directory is the one it sits in. */
  readonly socketPath?: string;
  transact(db: string, ops: unknown[]): Promise<unknown[]>;
  transactAndWait(ops: unknown[], opts?: { timeoutMs?: number }): Promise<unknown[]>;
  close(): Promise<void>;
}

export interface HostTarget {
  /** The network namespace the host's devices live in (tests and the demo); undefined: the agent's own. */
  netns?: string;
  /** Connects to the host's OVSDB, when the host runs Open vSwitch. */
  ovs?: () => Promise<OvsDb>;
  ovsBridge: string;
  ovsDatapath: 'system' | 'netdev';
  /** Where ovs-vswitchd keeps the bridges' OpenFlow sockets (`<bridge>.mgmt`, for the meters of
   *  outbound limits) and its control socket; default: the directory of the OVSDB socket, else
   *  /var/run/openvswitch (Debian's OVS_RUNDIR). */
  ovsRunDir?: string;
  /** Root of sysfs, for link speeds and Cisco VIC dynamic vNICs (tests feed a recorded tree). */
  sysfsRoot: string;
}

export interface AgentOptions {
  target: HostTarget;
  instance: string;
  log: Logger;
  /** Must answer for a change to be kept (e.g. the file-mode source directory is readable). */
  reachSource?: () => Promise<boolean>;
  now?: () => Date;
}

/** The agent's change set: the model as this host's devices and ports, and how the host differs from it. */
export interface AgentChanges {
  desired: DesiredHost;
  diff: HostDiff;
}

/** The agent's plan: one `ip -batch` script and one OVSDB transaction, then the addresses to add,
 *  the routers' namespaces and the filter tables. */
export interface AgentPlan extends HostPlan {
  /** `ip -batch` lines run after the OVS transaction (internal ports' devices exist only then). */
  addresses: string[];
  routers: RouterPlan;
  /** The nft script that rewrites netform's filter tables; undefined: they stay as they are. */
  firewall?: string;
}

/** Vendor and device of the dynamic vNICs of a Cisco VIC ("Palo") adapter. */
export const DYNAMIC_VNIC = { vendor: '0x1137', device: '0x0044' };

export class HostAgent implements HostDriver<ObservedHost, AgentChanges, AgentPlan> {
  readonly #o: AgentOptions;
  #ovs: OvsDb | undefined;
  #samples = new Map<string, { at: number; rx: number; tx: number }>();
  /** The filter tables this agent wrote, by digest (a rollback rebuilds them from these). */
  #firewalls = new Map<string, DesiredFirewallPort[]>();

  constructor(o: AgentOptions) {
    this.#o = o;
  }

  async close(): Promise<void> {
    await this.#ovs?.close();
    this.#ovs = undefined;
  }

  async #db(): Promise<OvsDb | undefined> {
    if (!this.#o.target.ovs) return undefined;
    this.#ovs ??= await this.#o.target.ovs();
    return this.#ovs;
  }

  /** The host as it is: links with details and counters, addresses, and the OVS bridges. */
  async observe(): Promise<ObservedHost> {
    const ns = this.#o.target.netns;
    const [links, addrs] = await Promise.all([ip(ns, ['-json', '-details', '-stats', 'link', 'show']), ip(ns, ['-json', 'address', 'show'])]);
    const out: ObservedHost = {
      links: await this.#withTc(parseLinks(links)),
      addresses: parseAddresses(addrs),
      routers: await this.#routers(),
    };
    const fw = await this.#firewallDigest();
    if (fw) out.firewallDigest = fw;
    const db = await this.#db();
    if (db) {
      const [b, p, i, m, q, qu] = (await db.transact('Open_vSwitch', [
        {
          op: 'select',
          table: 'Bridge',
          where: [],
          columns: ['_uuid', 'name', 'datapath_type', 'ports', 'mirrors'],
        },
        {
          op: 'select',
          table: 'Port',
          where: [],
          columns: ['_uuid', 'name', 'tag', 'trunks', 'vlan_mode', 'bond_mode', 'lacp', 'interfaces', 'external_ids', 'qos'],
        },
        {
          op: 'select',
          table: 'Interface',
          where: [],
          columns: ['_uuid', 'name', 'type', 'ofport', 'error', 'mtu_request', 'external_ids'],
        },
        { op: 'select', table: 'Mirror', where: [], columns: ['_uuid', 'name', 'select_src_port', 'select_dst_port', 'output_port', 'external_ids'] },
        { op: 'select', table: 'QoS', where: [], columns: ['_uuid', 'type', 'other_config', 'queues', 'external_ids'] },
        { op: 'select', table: 'Queue', where: [], columns: ['_uuid', 'other_config'] },
      ])) as { rows: Record<string, unknown>[] }[];
      const qos = parseQos(q!.rows, qu!.rows);
      out.ovs = { bridges: parseOvs(b!.rows, p!.rows, i!.rows, m!.rows, qos), qos: ownedQos(qos) };
      if (out.ovs.bridges.some((x) => x.name === this.#o.target.ovsBridge)) {
        try {
          out.ovs.openflow = await this.#openflow();
        } catch (err) {
          out.ovs.openflowError = err instanceof Error ? err.message : String(err);
        }
      }
    }
    return out;
  }

  /** This instance's router namespaces (`nfr-…` whose `lo` carries its owner mark), as they are. */
  async #routers(): Promise<ObservedRouter[]> {
    const list = JSON.parse((await ip(undefined, ['-json', 'netns', 'list'])) || '[]') as { name: string }[];
    const mine = routerOwner(this.#o.instance, '', '').replace(/\/\/$/, '/');
    const out: ObservedRouter[] = [];
    for (const { name: netns } of list) {
      if (!/^nfr-[0-9a-f]{12}$/.test(netns)) continue;
      let json: string;
      try {
        json = await ip(netns, ['-json', '-details', 'link', 'show']);
      } catch {
        continue; // deleted meanwhile
      }
      const owner = (JSON.parse(json) as { ifname: string; ifalias?: string }[]).find((l) => l.ifname === 'lo')?.ifalias;
      const links = parseLinks(json);
      if (!owner?.startsWith(mine)) continue;
      const [addrs, r4, r6, fwd, nat] = await Promise.all([
        ip(netns, ['-json', 'address', 'show']),
        ip(netns, ['-json', 'route', 'show']),
        ip(netns, ['-json', '-6', 'route', 'show']),
        inNetns(netns, 'sysctl', ['-n', 'net.ipv4.ip_forward']),
        inNetns(netns, 'nft', ['-j', 'list', 'table', 'ip', NAT_TABLE]).catch(() => ''),
      ]);
      const r: ObservedRouter = {
        netns,
        name: owner.split('/').slice(3).join('/'),
        owner,
        links: links.map((l) => ({ name: l.name, mtu: l.mtu, up: l.up })),
        addresses: parseAddresses(addrs).filter((a) => a.device !== 'lo'),
        routes: [...parseRoutes(r4), ...parseRoutes(r6)],
        forwarding: fwd.trim() === '1',
      };
      const snat = parseNat(nat);
      if (snat) r.snat = snat;
      out.push(r);
    }
    return out.sort((a, b) => (a.netns < b.netns ? -1 : 1));
  }

  /** The digest netform's filter tables carry, if they are there. */
  async #firewallDigest(): Promise<string | undefined> {
    try {
      return parseFirewallDigest(await inNetns(this.#o.target.netns, 'nft', ['-j', 'list', 'counters']));
    } catch {
      return undefined;
    }
  }

  /** ovs-vswitchd's run directory. */
  #runDir(): string {
    const db = this.#ovs?.socketPath;
    return this.#o.target.ovsRunDir ?? (db ? dirname(db) : '/var/run/openvswitch');
  }

  /** The integration bridge's OpenFlow management socket. */
  #ofSocket(): string {
    return join(this.#runDir(), `${this.#o.target.ovsBridge}.mgmt`);
  }

  /** ovs-vswitchd's control socket: `ovs-vswitchd.ctl`, or Debian's `ovs-vswitchd.<pid>.ctl`, in the run directory. */
  async #vswitchdCtl(): Promise<string> {
    const dir = this.#runDir();
    const plain = join(dir, 'ovs-vswitchd.ctl');
    if (await access(plain).then(() => true, () => false)) return plain;
    const pid = (await readFile(join(dir, 'ovs-vswitchd.pid'), 'utf8')).trim();
    if (!/^\d+$/.test(pid)) throw new Error(`no ovs-vswitchd pid in ${dir}`);
    return join(dir, `ovs-vswitchd.${pid}.ctl`);
  }

  /** netform's meters and flows on the integration bridge. */
  async #openflow() {
    const sock = this.#ofSocket();
    await access(sock);
    const [meters, flows] = await Promise.all([
      command('ovs-ofctl', ['-O', 'OpenFlow13', 'dump-meters', `unix:${sock}`]),
      command('ovs-ofctl', ['-O', 'OpenFlow13', '--names', 'dump-flows', `unix:${sock}`, `cookie=${FLOW_COOKIE}/${FLOW_COOKIE_MASK}`]),
    ]);
    return parseOpenFlow(meters, flows);
  }

  /** Each link's traffic control (`tc -j`): one qdisc listing, filters only where a clsact is. */
  async #withTc(links: ObservedLink[]): Promise<ObservedLink[]> {
    const ns = this.#o.target.netns;
    const all = JSON.parse((await tc(ns, ['-json', 'qdisc', 'show'])) || '[]') as { dev?: string; kind: string }[];
    const byDev = new Map<string, unknown[]>();
    for (const q of all) if (q.dev) byDev.set(q.dev, [...(byDev.get(q.dev) ?? []), q]);
    await Promise.all(
      links.map(async (l) => {
        const qd = byDev.get(l.name) ?? [];
        const clsact = qd.some((q) => (q as { kind: string }).kind === 'clsact');
        const [ing, eg] = clsact
          ? await Promise.all([tc(ns, ['-json', 'filter', 'show', 'dev', l.name, 'ingress']), tc(ns, ['-json', 'filter', 'show', 'dev', l.name, 'egress'])])
          : ['[]', '[]'];
        l.tc = parseTc(JSON.stringify(qd), ing, eg);
      }),
    );
    return links;
  }

  /** The model as this host's devices and OVS ports (on the target's integration bridge). */
  layout(desired: HostModel): DesiredHost {
    return desiredHost(desired, {
      ovsBridge: this.#o.target.ovsBridge,
      ovsDatapath: this.#o.target.ovsDatapath,
      instance: this.#o.instance,
    });
  }

  diff(desired: HostModel, observed: ObservedHost): HostChanges<AgentChanges> {
    const layout = this.layout(settleDeparting(desired, observed));
    const d = diffHost(layout, observed, { instance: this.#o.instance, host: desired.name });
    return {
      changes: { desired: layout, diff: d },
      count: changeCount(d),
      problems: [...layout.problems, ...d.problems],
    };
  }

  describe(c: AgentChanges): HostPlannedChange[] {
    return describeHostDiff(c.desired, c.diff);
  }

  plan(_desired: HostModel, c: AgentChanges): AgentPlan {
    return this.#plan(c.diff, c.desired.ovs?.bridge ?? this.#o.target.ovsBridge, _desired.name);
  }

  /** Runs the plan, then verifies (re-observe, probes, the source still reachable). Resolves to the
   *  host's diff as verified: empty but for problems. */
  async apply(desired: HostModel, plan: AgentPlan): Promise<AgentChanges> {
    await this.#run(plan);
    const after = await this.observe();
    const layout = this.layout(settleDeparting(desired, after));
    const rest = diffHost(layout, after, {
      instance: this.#o.instance,
      host: desired.name,
    });
    if (!isEmpty(rest)) throw new VerifyError(`after the change the host still differs: ${describe(rest)}`);
    for (const p of desired.probes) {
      if (!(await this.ping(p.address))) throw new VerifyError(`probe ${p.address} does not answer`);
    }
    if (this.#o.reachSource && !(await this.#o.reachSource())) throw new VerifyError('the source of desired state is no longer reachable');
    return { desired: layout, diff: rest };
  }

  /** Brings the host to `desired` (unless its policy is Manual) and reports where it stands. */
  async converge(desired: HostModel): Promise<HostReport> {
    const log = this.#o.log;
    const syncPolicy = desired.syncPolicy;
    const before = await this.observe();
    const first = this.diff(desired, before);
    const layout = first.changes.desired;
    let d = first.changes.diff;
    const problems = first.problems;
    let lastApply: HostReport['lastApply'];
    const collected: string[] = [];
    if (syncPolicy === 'Auto' && !problems.length && first.count > 0) {
      const changes = first.count;
      const time = (this.#o.now?.() ?? new Date()).toISOString();
      try {
        const rest = await this.apply(desired, this.plan(desired, first.changes));
        collected.push(...d.ports.filter((c) => c.stale && c.op === 'delete').map((c) => c.name));
        lastApply = { time, result: 'applied', changes };
        log.info({ changes }, 'host converged');
        d = rest.diff;
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        log.warn({ err: error }, 'host change failed; rolling back');
        try {
          await this.rollback(before, desired);
          lastApply = { time, result: 'rolled back', error, changes };
        } catch (rb) {
          lastApply = {
            time,
            result: 'rollback failed',
            error: `${error}; rollback: ${rb instanceof Error ? rb.message : String(rb)}`,
            changes,
          };
        }
        d = diffHost(layout, await this.observe(), {
          instance: this.#o.instance,
          host: desired.name,
        });
      }
    }
    const now = await this.observe();
    return {
      lastObservedTime: (this.#o.now?.() ?? new Date()).toISOString(),
      interfaces: await this.#table(now, layout),
      dynamicVnics: await this.dynamicVnics(now),
      networks: networkSync(layout, d),
      ...(desired.routers?.length ? { routers: routerSync(desired.routers.map((r) => r.name), layout.routers ?? [], d, problems) } : {}),
      problems,
      ...(lastApply ? { lastApply } : {}),
      collected,
      syncPolicy,
      observed: withoutCounters(now),
    };
  }

  /** Puts back every device and port the failed change touched exactly as the snapshot had them. */
  async rollback(snapshot: ObservedHost, desired: HostModel): Promise<void> {
    const touched = this.layout(settleDeparting(desired, snapshot));
    // Only this host's router namespaces are put back (another host's agent of the instance owns its own).
    const mine = routerOwner(this.#o.instance, desired.name, '');
    const target = restoreTarget({ ...snapshot, routers: snapshot.routers?.filter((r) => r.owner?.startsWith(mine)) }, touched, this.#o.instance);
    // The filter tables as they were: known by their digest when this agent wrote them; tables of
    // another digest are left as they are (nothing to rebuild them from).
    const fwBefore = snapshot.firewallDigest;
    const fwPorts = fwBefore ? this.#firewalls.get(fwBefore) : undefined;
    if (fwPorts?.length) target.firewall = { ports: fwPorts };
    const keepFirewall = fwBefore !== undefined && !fwPorts;
    const current = await this.observe();
    const d = diffHost(target, current, { instance: this.#o.instance, host: desired.name });
    if (keepFirewall) delete d.firewall;
    await this.#run(this.#plan(d, touched.ovs?.bridge ?? this.#o.target.ovsBridge, desired.name));
    // A bridge the failed change created goes too (only one netform made).
    const bridgeName = touched.ovs?.bridge;
    const had = snapshot.ovs?.bridges.some((b) => b.name === bridgeName);
    const now = (await this.observe()).ovs?.bridges.find((b) => b.name === bridgeName);
    const db = await this.#db();
    if (db && bridgeName && !had && now) {
      const rows = (await db.transact('Open_vSwitch', [
        {
          op: 'select',
          table: 'Bridge',
          where: [['name', '==', bridgeName]],
          columns: ['_uuid', 'external_ids'],
        },
      ])) as { rows: { _uuid: unknown; external_ids: unknown }[] }[];
      const row = rows[0]?.rows[0];
      const ext = Array.isArray(row?.external_ids) && row.external_ids[0] === 'map' ? Object.fromEntries(row.external_ids[1] as [string, string][]) : {};
      if (row && ext[OVS_OWNER_KEY] === this.#o.instance) {
        await db.transactAndWait([
          {
            op: 'mutate',
            table: 'Open_vSwitch',
            where: [],
            mutations: [['bridges', 'delete', ['set', [row._uuid]]]],
          },
        ]);
      }
    }
    const rest = diffHost(target, await this.observe(), {
      instance: this.#o.instance,
      host: desired.name,
    });
    if (keepFirewall) delete rest.firewall;
    if (!isEmpty(rest)) throw new Error(`the host differs from the snapshot after rollback: ${describe(rest)}`);
  }

  #plan(d: HostDiff, bridge: string, host: string): AgentPlan {
    const plan: AgentPlan = {
      ...planHost(d, { instance: this.#o.instance, bridge }),
      addresses: addressLines(d),
      routers: planRouters(d.routers ?? [], (router) => routerOwner(this.#o.instance, host, router)),
    };
    if (d.firewall) {
      if (d.firewall.digest) this.#firewalls.set(d.firewall.digest, d.firewall.want);
      while (this.#firewalls.size > 8) this.#firewalls.delete(this.#firewalls.keys().next().value!);
      plan.firewall = d.firewall.want.length ? renderFirewall(d.firewall.want).script : removeFirewallScript();
    }
    return plan;
  }

  async #run(plan: AgentPlan): Promise<void> {
    // Router namespaces first: their veths are created straight into them.
    for (const c of plan.routers.create) {
      await ip(undefined, ['netns', 'add', c.netns]);
      await ipBatch(c.netns, [`link set dev lo alias ${c.owner}`, 'link set dev lo up']);
    }
    await ipBatch(this.#o.target.netns, plan.ip);
    if (plan.ovs.length) {
      const db = await this.#db();
      if (!db) throw new Error('the host has no Open vSwitch to configure');
      await db.transactAndWait(plan.ovs, { timeoutMs: 30_000 });
    }
    for (const [cmd, arg] of plan.openflow) await command('ovs-ofctl', ['-O', 'OpenFlow13', cmd, `unix:${this.#ofSocket()}`, arg]);
    if (plan.revalidate) {
      // The mirror rows are in; without this, flows already in the datapath keep their old copies
      // until they idle out (ADR 13). Not fatal: the configuration itself is right.
      try {
        await command('ovs-appctl', ['-t', await this.#vswitchdCtl(), 'revalidator/purge']);
      } catch (err) {
        this.#o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'mirrors changed, but the datapath flows could not be revalidated; active flows keep their old copies until they idle out');
      }
    }
    await tcBatch(this.#o.target.netns, plan.tc);
    await ipBatch(this.#o.target.netns, plan.addresses);
    for (const c of plan.routers.configure) {
      await ipBatch(c.netns, c.ip);
      if (c.forwarding) await inNetns(c.netns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
      if (c.nat !== undefined) await inNetns(c.netns, 'nft', ['-f', '-'], c.nat);
    }
    for (const ns of plan.routers.remove) await ip(undefined, ['netns', 'del', ns]);
    // The taps' filtering, replaced in one nft transaction (connection tracking keeps its entries).
    if (plan.firewall !== undefined) {
      // Bridged traffic reaches the inet hooks (and connection tracking) only with these on; they
      // are per network namespace.
      await inNetns(this.#o.target.netns, 'sysctl', ['-qw', 'net.bridge.bridge-nf-call-iptables=1', 'net.bridge.bridge-nf-call-ip6tables=1']);
      await inNetns(this.#o.target.netns, 'nft', ['-f', '-'], plan.firewall);
    }
  }

  /** One ICMP echo to `address` from the host. */
  ping(address: string): Promise<boolean> {
    const args = ['-c', '1', '-W', '2', address];
    const argv = this.#o.target.netns ? ['netns', 'exec', this.#o.target.netns, 'ping', ...args] : args;
    return new Promise((resolve) => {
      const child = spawn(this.#o.target.netns ? 'ip' : 'ping', argv, {
        stdio: 'ignore',
      });
      child.on('error', () => resolve(false));
      child.on('close', (code) => resolve(code === 0));
    });
  }

  /** Cisco VIC dynamic vNICs (PCI 1137:0044) under the sysfs root; a free one carries no traffic of a VM. */
  async dynamicVnics(observed: ObservedHost): Promise<{ total: number; free: number }> {
    const dir = join(this.#o.target.sysfsRoot, 'bus/pci/devices');
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch {
      return { total: 0, free: 0 };
    }
    let total = 0;
    let free = 0;
    for (const e of entries) {
      const read = (f: string) =>
        readFile(join(dir, e, f), 'utf8').then(
          (s) => s.trim(),
          () => '',
        );
      if ((await read('vendor')) !== DYNAMIC_VNIC.vendor || (await read('device')) !== DYNAMIC_VNIC.device) continue;
      total++;
      const nets = await readdir(join(dir, e, 'net')).catch(() => [] as string[]);
      const inUse = nets.some((n) => {
        const l = observed.links.find((x) => x.name === n);
        return l ? l.up || !!l.master : false;
      });
      if (!inUse) free++;
    }
    return { total, free };
  }

  async #speeds(names: string[]): Promise<Map<string, number>> {
    const files = names.map((n) => join('/sys/class/net', n, 'speed'));
    const out = new Map<string, number>();
    if (!files.length) return out;
    const netns = this.#o.target.netns;
    const argv = netns ? ['netns', 'exec', netns, 'grep', '-H', '.', ...files] : ['-H', '.', ...files];
    const text = await new Promise<string>((resolve) => {
      const child = spawn(netns ? 'ip' : 'grep', argv, {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      let s = '';
      child.stdout.on('data', (d: Buffer) => (s += d.toString()));
      child.on('error', () => resolve(''));
      child.on('close', () => resolve(s));
    });
    for (const line of text.split('\n')) {
      const m = /^\/sys\/class\/net\/([^/]+)\/speed:(-?\d+)$/.exec(line);
      if (m && Number(m[2]) > 0) out.set(m[1]!, Number(m[2]));
    }
    return out;
  }

  async #table(h: ObservedHost, desired: DesiredHost): Promise<HostInterfaceRow[]> {
    const now = Date.now();
    const speeds = await this.#speeds(h.links.map((l) => l.name));
    const bridges = new Set(h.links.filter((l) => l.kind === 'bridge').map((l) => l.name));
    const bonds = new Set(h.links.filter((l) => l.kind === 'bond').map((l) => l.name));
    const ovsPorts = new Map<string, string | undefined>();
    for (const b of h.ovs?.bridges ?? []) {
      for (const p of b.ports) for (const i of p.interfaces) ovsPorts.set(i.name, p.external[OVS_NETWORK_KEY]);
    }
    const netOfDevice = new Map<string, string>();
    for (const n of desired.networks) for (const d of [...n.devices, ...n.ovsPorts]) if (!netOfDevice.has(d)) netOfDevice.set(d, n.name);
    return h.links.map((l) => {
      const row: HostInterfaceRow = { name: l.name, mac: l.mac };
      const addr = h.addresses.find((a) => a.device === l.name);
      if (addr) row.address = addr.cidr;
      const speed = speeds.get(l.name);
      if (speed) row.speedMbps = speed;
      if (l.rxBytes !== undefined && l.txBytes !== undefined) {
        const prev = this.#samples.get(l.name);
        if (prev && now > prev.at) {
          const secs = (now - prev.at) / 1000;
          row.rxMbps = Math.round((((l.rxBytes - prev.rx) * 8) / secs / 1e6) * 1000) / 1000;
          row.txMbps = Math.round((((l.txBytes - prev.tx) * 8) / secs / 1e6) * 1000) / 1000;
        }
        this.#samples.set(l.name, { at: now, rx: l.rxBytes, tx: l.txBytes });
      }
      if (l.drops !== undefined) row.drops = l.drops;
      if (l.master && bonds.has(l.master)) row.bond = l.master;
      if (ovsPorts.has(l.name) || l.master === 'ovs-system') row.fabric = 'ovs';
      else if (l.kind === 'bridge' || (l.master && bridges.has(l.master))) row.fabric = 'linux-bridge';
      const network =
        netOfDevice.get(l.name) ?? ovsPorts.get(l.name) ?? (l.alias?.startsWith('netform:network/') ? l.alias.slice('netform:network/'.length) : undefined);
      if (network) row.network = network;
      return row;
    });
  }
}

/** An observation as a report keeps it: traffic counters left out (they change every pass and no
 *  plan reads them). */
export function withoutCounters(o: ObservedHost): ObservedHost {
  return { ...o, links: o.links.map(({ rxBytes: _rx, txBytes: _tx, drops: _d, ...l }) => l) };
}

function describe(d: HostDiff): string {
  return [
    ...d.links.map((c) => `${c.name}: ${c.op} (${c.fields.join(', ')})`),
    ...d.ports.map((c) => `ovs ${c.name}: ${c.op} (${c.fields.join(', ')})`),
    ...d.addresses.map((a) => `${a.device}: ${a.op} ${a.cidr}`),
    ...(d.createBridge ? [`ovs bridge ${d.createBridge.name} missing`] : []),
    ...(d.mirrors ?? []).map((c) => `ovs mirror ${c.name}: ${c.op} (${c.fields.join(', ')})`),
    ...(d.qosGarbage ?? []).map((q) => `ovs qos ${q.uuid}: not needed`),
    ...(d.openflow?.meters ?? []).map((m) => `openflow meter ${m.id}: ${m.op}`),
    ...(d.openflow?.flows ?? []).map((f) => `openflow flow in_port=${f.port}: ${f.op}`),
    ...(d.tc ?? []).map((c) => `${c.device}: tc (${c.fields.join(', ')})`),
    ...(d.routers ?? []).map((c) => `router ${c.name} (${c.netns}): ${c.op} (${c.fields.join(', ')})`),
    ...(d.firewall ? [`security-group filtering: ${d.firewall.fields.join(', ')}`] : []),
  ].join('; ');
}
