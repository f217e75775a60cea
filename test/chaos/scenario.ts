// The chaos scenario: objects of every kind — two Providers (the real Neutron and the UCSM emulator,
// each behind a loopback fault proxy that logs every request), a VlanPool, Networks (pool and fixed
// VLANs, subnets, some on UCSM too), a Cluster, a Host (a hostsim fake hypervisor: real kernel
// namespace, real Open vSwitch) and VnicAttachments — and the audit that reads the backends
// themselves: duplicates, orphans (an object carrying any netform mark without its owner), deletes
// of declared objects (from the proxies' request logs), readiness, and writes.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ownerTag } from '../../src/drivers/neutron/mapping.ts';
import type { Owner } from '../../src/drivers/driver.ts';
import { FaultProxy } from '../harness/fault-proxy.ts';
import { createHost, createSwitch, defaultStateRoot, ensureHostTools, type FakeHost, type FakeSwitch } from '../harness/hostsim/index.ts';
import { startEmulator, type UcsmEmulator } from '../ucsm-emulator/emulator.ts';
import { afterAll, beforeAll, expect } from 'vitest';
import { runCli, tempDir, type CliResult } from '../support/cli.ts';

export interface ScenarioOptions {
  /** Networks declared; a quarter of them also on UCSM, a quarter with a vNIC. */
  networks: number;
  /** Run a hostsim Host (needs root and Open vSwitch). */
  host: boolean;
  /** A tag for names, so parallel runs never see each other's objects on the shared Neutron. */
  id: string;
  /** First VLAN of this run's block (pool and fixed VLANs are drawn from it). */
  vlanBase: number;
}

export interface Audit {
  /** Backend objects beyond the one each declared object should have. */
  duplicates: number;
  /** Backend objects carrying a netform mark of this run without a declared owner's mark. */
  orphans: number;
  /** Declared objects with no backend object. */
  missing: number;
  /** DELETE requests (Neutron) and `status="deleted"` changes (UCSM) the backends received. */
  deletesOfDeclared: number;
  notReady: string[];
  details: string[];
}

const UCS_PREFIX = 'nf-';

interface RawNet {
  id: string;
  name: string;
  description?: string;
  tags?: string[];
  'provider:segmentation_id'?: number | null;
}

export class Scenario {
  readonly o: ScenarioOptions;
  readonly dir: string;
  readonly stateDir: string;
  readonly instance: string;
  readonly neutron: FaultProxy;
  ucsmProxy!: FaultProxy;
  ucsm!: UcsmEmulator;
  host: FakeHost | undefined;
  #switch: FakeSwitch | undefined;
  readonly #neutronUrl: string;

  constructor(neutronUrl: string, o: ScenarioOptions) {
    this.o = o;
    this.#neutronUrl = neutronUrl;
    this.dir = tempDir(`chaos-${o.id}`);
    this.stateDir = join(tempDir(`chaos-${o.id}-state`), 'state');
    this.instance = `chaos-${o.id}`;
    this.neutron = new FaultProxy({ target: neutronUrl });
  }

  get hostName(): string {
    return this.host?.id ?? `hv-${this.o.id}`;
  }

  networkName(i: number): string {
    return `ch-${this.o.id}-n${String(i).padStart(3, '0')}`;
  }

  onUcsm(i: number): boolean {
    return i % 4 === 1;
  }

  hasVnic(i: number): boolean {
    return i % 4 === 2;
  }

  onHost(i: number): boolean {
    return i < 3;
  }

  async start(): Promise<void> {
    this.ucsm = await startEmulator({
      seed: (t) => {
        t.put({ classId: 'lsServer', dn: 'org-root/ls-hv1', attrs: { name: 'hv1' } });
        for (const v of ['eth0', 'eth1']) t.put({ classId: 'vnicEther', dn: `org-root/ls-hv1/ether-${v}`, attrs: { name: v } });
      },
    });
    this.ucsmProxy = new FaultProxy({ target: this.ucsm.url, isWrite: (r) => r.body.includes('<configConfMo') });
    await this.neutron.start();
    await this.ucsmProxy.start();
    if (this.o.host) {
      await ensureHostTools();
      this.#switch = await createSwitch(this.o.id.slice(0, 6));
      this.host = await createHost({ id: `c${this.o.id.slice(0, 6)}`, switch: this.#switch, ovs: true });
    }
    mkdirSync(this.dir, { recursive: true });
    const creds = join(tempDir(`chaos-${this.o.id}-creds`), 'ucsm.yaml');
    writeFileSync(creds, 'username: admin\npassword: password\n', { mode: 0o600 });
    this.#write(creds);
  }

  async stop(): Promise<void> {
    await this.neutron.stop();
    await this.ucsmProxy?.stop();
    await this.ucsm?.close();
    await this.host?.stop();
    await this.#switch?.stop();
  }

  /** The CLI's host flags for the hostsim host. */
  hostFlags(): string[] {
    const h = this.host;
    return h ? ['--host', h.id, '--netns', h.ns, '--ovs-db', h.ovs!.db, '--ovs-datapath', 'netdev'] : [];
  }

  #write(creds: string): void {
    const n = this.o.networks;
    const docs: string[] = [
      `apiVersion: netform.io/v1alpha1
kind: Provider
metadata: {name: os}
spec: {type: neutron, endpoint: "${this.neutron.url}", neutron: {auth: noauth}, requestTimeoutSeconds: 2}`,
      `apiVersion: netform.io/v1alpha1
kind: Provider
metadata: {name: ucs}
spec:
  type: ucsm
  endpoint: "${this.ucsmProxy.url}"
  requestTimeoutSeconds: 2
  credentials: {file: ${creds}}
  ucsm:
    vlanNamePrefix: ${UCS_PREFIX}
    hosts: [{host: ${this.hostName}, serviceProfile: org-root/ls-hv1}]`,
      `apiVersion: netform.io/v1alpha1
kind: VlanPool
metadata: {name: ch-${this.o.id}-pool}
spec: {ranges: [{physicalNetwork: physnet1, min: ${this.o.vlanBase}, max: ${this.o.vlanBase + n - 1}}]}`,
    ];
    for (let i = 0; i < n; i++) {
      const vlan = i % 2 === 0 ? `{poolRef: {name: ch-${this.o.id}-pool}}` : `{id: ${this.o.vlanBase + n + i}}`;
      const subnets = i % 3 === 0 ? `\n  subnets: [{name: v4, cidr: 10.${Math.floor(i / 250)}.${i % 250}.0/24}]` : '';
      const providers = this.onUcsm(i) ? '[{name: os}, {name: ucs}]' : '[{name: os}]';
      docs.push(`apiVersion: netform.io/v1alpha1
kind: Network
metadata: {name: ${this.networkName(i)}}
spec:
  physicalNetwork: physnet1
  vlan: ${vlan}${this.hasVnic(i) ? '\n  shared: true' : ''}
  providerRefs: ${providers}${subnets}`);
    }
    const hostNets = Array.from({ length: n }, (_, i) => i).filter((i) => this.onHost(i) || this.onUcsm(i) || this.hasVnic(i));
    docs.push(`apiVersion: netform.io/v1alpha1
kind: Cluster
metadata: {name: ch-${this.o.id}}
spec:
  defaultFabric: ovs
  networks: [${hostNets.map((i) => `{name: ${this.networkName(i)}, required: false}`).join(', ')}]`);
    docs.push(`apiVersion: netform.io/v1alpha1
kind: Host
metadata: {name: ${this.hostName}}
spec:
  cluster: ch-${this.o.id}
  nics: [{name: ens3}]
  networks: [${hostNets.map((i) => `{name: ${this.networkName(i)}, interface: ens3}`).join(', ')}]`);
    for (let i = 0; i < n; i++) {
      if (!this.hasVnic(i)) continue;
      docs.push(`apiVersion: netform.io/v1alpha1
kind: VnicAttachment
metadata: {name: vm${i}-nic0, namespace: default}
spec:
  vm: {name: ch-${this.o.id}-vm${i}}
  interfaceName: nic0
  network: ${this.networkName(i)}
  host: ${this.hostName}`);
    }
    // One file per few objects, as an operator's repository has them.
    for (let f = 0; f * 8 < docs.length; f++) writeFileSync(join(this.dir, `part-${f}.yaml`), docs.slice(f * 8, f * 8 + 8).join('\n---\n') + '\n');
  }

  /** Every declared object's key. */
  keys(): string[] {
    const out = ['Provider/os', 'Provider/ucs', `VlanPool/ch-${this.o.id}-pool`, `Cluster/ch-${this.o.id}`, `Host/${this.hostName}`];
    for (let i = 0; i < this.o.networks; i++) {
      out.push(`Network/${this.networkName(i)}`);
      if (this.hasVnic(i)) out.push(`VnicAttachment/default/vm${i}-nic0`);
    }
    return out;
  }

  cli(args: string[], extra: string[] = []): Promise<CliResult> {
    return runCli([...args, '--dir', this.dir, '--state', this.stateDir, '--instance', this.instance, ...this.hostFlags(), ...extra], { real: true });
  }

  cliArgs(command: 'apply' | 'run'): string[] {
    return [command, '--dir', this.dir, '--state', this.stateDir, '--instance', this.instance, ...this.hostFlags()];
  }

  async statuses(): Promise<Map<string, { conditions?: { type: string; status: string; message?: string }[] }>> {
    const r = await runCli(['status', '--state', this.stateDir, '-o', 'json'], { real: true });
    if (r.code !== 0) return new Map();
    return new Map((JSON.parse(r.stdout) as { key: string; status: { conditions?: { type: string; status: string }[] } }[]).map((e) => [e.key, e.status]));
  }

  /** Writes the backends received (forwarded, whether or not their answer got back). */
  writes(): number {
    return this.neutron.writes().length + this.ucsmProxy.writes().length;
  }

  async #neutronList<T>(collection: string): Promise<T[]> {
    const r = await fetch(`${this.#neutronUrl}/v2.0/${collection}`);
    const body = (await r.json()) as Record<string, T[]>;
    return Object.values(body)[0] ?? [];
  }

  async audit(): Promise<Audit> {
    const a: Audit = { duplicates: 0, orphans: 0, missing: 0, deletesOfDeclared: 0, notReady: [], details: [] };
    const owner = (kind: Owner['kind'], name: string, namespace?: string): Owner => ({ instance: this.instance, kind, name, ...(namespace ? { namespace } : {}) });
    // A pending marker counts unless another installation's tag says whose it is: a network made
    // without a description keeps its marker once tagged (ADR 24), so other runs' networks carry one.
    const otherInstance = (o: { tags?: string[] }) => (o.tags ?? []).some((t) => t.startsWith('nf-inst:') && t !== `nf-inst:${this.instance}`);
    const marked = (o: { name?: string; description?: string; tags?: string[] }) =>
      (o.tags ?? []).includes(`nf-inst:${this.instance}`) ||
      ((o.description ?? '').startsWith('netform-pending:') && !otherInstance(o)) ||
      (o.name ?? '').startsWith(`ch-${this.o.id}-`);

    // Neutron networks and ports: exactly one per declared owner, carrying its owner tag.
    const nets = (await this.#neutronList<RawNet>('networks')).filter(marked);
    const netTags = new Map<string, string>();
    for (let i = 0; i < this.o.networks; i++) netTags.set(ownerTag(owner('Network', this.networkName(i))), this.networkName(i));
    const ports = (await this.#neutronList<RawNet>('ports')).filter(marked);
    const portTags = new Map<string, string>();
    for (let i = 0; i < this.o.networks; i++) if (this.hasVnic(i)) portTags.set(ownerTag(owner('VnicAttachment', `vm${i}-nic0`, 'default')), `vm${i}`);
    const canonicalNets = new Set<string>();
    for (const [objs, tags, what] of [
      [nets, netTags, 'network'],
      [ports, portTags, 'port'],
    ] as const) {
      const byTag = new Map<string, RawNet[]>();
      for (const o of objs) {
        const t = (o.tags ?? []).find((x) => tags.has(x));
        if (!t) {
          a.orphans++;
          a.details.push(`orphan Neutron ${what} ${o.id} (${o.name}, tags ${JSON.stringify(o.tags)}, description ${JSON.stringify(o.description)})`);
          continue;
        }
        byTag.set(t, [...(byTag.get(t) ?? []), o]);
      }
      for (const [t, name] of tags) {
        const have = byTag.get(t) ?? [];
        if (!have.length) {
          a.missing++;
          a.details.push(`missing Neutron ${what} of ${name}`);
        }
        if (have.length > 1) {
          a.duplicates += have.length - 1;
          a.details.push(`duplicate Neutron ${what}s of ${name}: ${have.map((h) => h.id).join(', ')}`);
        }
        if (what === 'network' && have[0]) canonicalNets.add(have[0].id);
      }
    }
    // Subnets: one per declared subnet, on its network.
    const subnets = (await this.#neutronList<{ id: string; name: string; network_id: string; tags?: string[] }>('subnets')).filter(
      (s) => (s.tags ?? []).includes(`nf-inst:${this.instance}`) || canonicalNets.has(s.network_id),
    );
    const perNet = new Map<string, number>();
    for (const s of subnets) {
      if (!canonicalNets.has(s.network_id)) {
        a.orphans++;
        a.details.push(`orphan Neutron subnet ${s.id} on ${s.network_id}`);
        continue;
      }
      perNet.set(s.network_id, (perNet.get(s.network_id) ?? 0) + 1);
    }
    for (const [id, count] of perNet) {
      if (count > 1) {
        a.duplicates += count - 1;
        a.details.push(`duplicate subnets on network ${id}: ${count}`);
      }
    }

    // UCSM: one VLAN and one port profile per network declared there; nothing else of this run.
    const vlans = this.ucsm.list('fabricVlan').filter((v) => (v.attrs.name ?? '').startsWith(`${UCS_PREFIX}ch-${this.o.id}-`));
    const profiles = this.ucsm.list('vnicProfile').filter((p) => (p.attrs.descr ?? '').startsWith(`netform ${this.instance} `));
    const wantUcs = Array.from({ length: this.o.networks }, (_, i) => i).filter((i) => this.onUcsm(i)).map((i) => this.networkName(i));
    for (const v of vlans) {
      if (!wantUcs.some((n) => v.attrs.name === `${UCS_PREFIX}${n}`)) {
        a.orphans++;
        a.details.push(`orphan UCSM VLAN ${v.dn}`);
      }
    }
    const ids = new Map<string, number>();
    for (const v of vlans) ids.set(v.attrs.id ?? '', (ids.get(v.attrs.id ?? '') ?? 0) + 1);
    for (const [id, c] of ids) {
      if (c > 1) {
        a.duplicates += c - 1;
        a.details.push(`UCSM VLAN id ${id} under ${c} names`);
      }
    }
    if (profiles.length > wantUcs.length) {
      a.orphans += profiles.length - wantUcs.length;
      a.details.push(`${profiles.length} UCSM port profiles of this run for ${wantUcs.length} networks`);
    }
    for (const n of wantUcs) {
      if (!vlans.some((v) => v.attrs.name === `${UCS_PREFIX}${n}`)) {
        a.missing++;
        a.details.push(`missing UCSM VLAN of ${n}`);
      }
    }

    // Deletes, as the backends received them. Nothing is ever removed from the declaration here, so
    // every delete would be a delete of a declared object.
    for (const r of this.neutron.writes()) {
      if (r.method === 'DELETE' && /^\/v2\.0\/(networks|ports|subnets)\//.test(r.path)) {
        a.deletesOfDeclared++;
        a.details.push(`Neutron received DELETE ${r.path}`);
      }
    }
    for (const r of this.ucsmProxy.writes()) {
      if (/status="deleted"/.test(r.body) && /fabricVlan|vnicProfile/.test(r.body)) {
        a.deletesOfDeclared++;
        a.details.push('UCSM received a deletion of a VLAN or port profile');
      }
    }

    const st = await this.statuses();
    for (const k of this.keys()) {
      if (!this.o.host && k.startsWith('Host/')) continue;
      const ready = st.get(k)?.conditions?.find((c) => c.type === 'Ready');
      if (ready?.status !== 'True') a.notReady.push(`${k}: ${ready?.message ?? 'no status'}`);
    }
    return a;
  }
}

/** The figures of an audit, one line, and its first details. */
export function auditLines(a: Audit): string[] {
  return [
    `duplicates ${a.duplicates}, orphans ${a.orphans}, missing ${a.missing}, deletes of declared objects ${a.deletesOfDeclared}, not Ready ${a.notReady.length}`,
    ...a.details.slice(0, 20),
    ...a.notReady.slice(0, 20),
  ];
}

/** What every chaos run must end with: the last apply converged, and the backends hold exactly the
 *  declared objects, none deleted along the way. */
export function expectClean(a: Audit, last: CliResult): void {
  expect(last.code, last.stdout.slice(-2000) + last.stderr.slice(-3000)).toBe(0);
  expect(a.duplicates).toBe(0);
  expect(a.orphans).toBe(0);
  expect(a.missing).toBe(0);
  expect(a.deletesOfDeclared).toBe(0);
  expect(a.notReady).toEqual([]);
}

/** Starts this test file's scenario before its tests and stops it after them; returns its getter. */
export function useScenario(neutronUrl: () => string, cfg: { networks: number; id: string; vlanBase: number }): () => Scenario {
  let s: Scenario | undefined;
  beforeAll(async () => {
    s = new Scenario(neutronUrl(), { networks: cfg.networks, host: canRunHost(), id: cfg.id, vlanBase: cfg.vlanBase });
    await s.start();
  }, 120_000);
  afterAll(async () => {
    await s?.stop();
  });
  return () => s!;
}

/** Whether this machine can run the hostsim host (root and Open vSwitch). */
export function canRunHost(): boolean {
  try {
    execFileSync('which', ['ovs-vswitchd'], { stdio: 'ignore' });
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
}

export { defaultStateRoot };
