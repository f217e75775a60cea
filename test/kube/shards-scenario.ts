// Sharded controllers on a real kube-apiserver (ADR 25), shared by test/kube/shards.test.ts and
// bench/shards.ts: the FakeBackend (in this process, over HTTP, recording who wrote what and
// answering writes after a fixed latency), Providers of the test driver on it, Networks spread over
// them, `netform controller --shards N` replicas as real processes (the CLI with the test driver),
// the shard Leases, and the checker's inputs.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FakeBackend } from '../support/fake-backend.ts';
import { termsFromLogs, type ShardTerm } from '../support/write-checker.ts';
import type { KubeCluster } from '../harness/kube/cluster.ts';
import { shardOfToken } from '../../src/state/shards.ts';

const TEST_CLI = fileURLToPath(new URL('../support/netform-test-cli.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const NS = 'netform-system';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Replica {
  identity: string;
  child: ChildProcess;
  stderr: () => string;
  logs: () => Record<string, unknown>[];
  killedAt?: number;
  exited: Promise<void>;
}

export interface ScenarioOptions {
  networks: number;
  providers: number;
  shards: number;
  /** The backend answers each write this long after it arrived. */
  writeLatencyMs: number;
  /** Reconciles in parallel per replica. */
  concurrency: number;
}

async function kubectlOk(kube: KubeCluster, args: string[], input?: string): Promise<string> {
  const r = await kube.kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

export const providerName = (i: number) => `p${i}`;
export const networkName = (i: number) => `net-${i}`;
/** Network i is on provider i mod P. */
export const providerOf = (i: number, providers: number) => providerName(i % providers);

export class ShardScenario {
  readonly backend = new FakeBackend();
  readonly replicas: Replica[] = [];
  readonly #kube: KubeCluster;
  readonly o: ScenarioOptions;

  constructor(kube: KubeCluster, o: ScenarioOptions) {
    this.#kube = kube;
    this.o = o;
    this.backend.recordWrites = true;
    this.backend.writeLatencyMs = o.writeLatencyMs;
  }

  async start(): Promise<void> {
    await this.backend.start();
    const r = await this.#kube.kubectl(['create', 'namespace', NS]);
    if (r.code !== 0 && !/AlreadyExists/.test(r.stderr)) throw new Error(r.stderr);
  }

  /** The Providers and Networks, applied with kubectl (MTU `mtu`). */
  async apply(mtu = 1500, only?: number[]): Promise<void> {
    const docs: string[] = [];
    if (!only) {
      for (let p = 0; p < this.o.providers; p++) {
        docs.push(`apiVersion: netform.io/v1alpha1\nkind: Provider\nmetadata: {name: ${providerName(p)}}\nspec: {type: neutron, endpoint: "${this.backend.url}", neutron: {auth: noauth}}`);
      }
    }
    for (const i of only ?? [...Array(this.o.networks).keys()]) {
      docs.push(
        `apiVersion: netform.io/v1alpha1\nkind: Network\nmetadata: {name: ${networkName(i)}}\nspec: {physicalNetwork: physnet1, vlan: {id: ${100 + i}}, mtu: ${mtu}, providerRefs: [{name: ${providerOf(i, this.o.providers)}}]}`,
      );
    }
    // In chunks: one huge apply is slow to parse.
    for (let i = 0; i < docs.length; i += 500) await kubectlOk(this.#kube, ['apply', '-f', '-'], docs.slice(i, i + 500).join('\n---\n'));
  }

  /** The shard of network i (by its provider). */
  shardOfNetwork(i: number): number {
    return shardOfToken(`provider:${providerOf(i, this.o.providers)}`, this.o.shards);
  }

  startReplica(identity: string, shards: number | undefined = this.o.shards): Replica {
    const args = [TEST_CLI, 'controller', '--kubeconfig', this.#kube.kubeconfig, '--namespace', NS, '--listen', 'off', '--ui', 'off', '--identity', identity, '--concurrency', String(this.o.concurrency), '--resync', '600'];
    if (shards !== undefined) args.push('--shards', String(shards));
    else args.push('--leader-elect');
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, NETFORM_LOG_LEVEL: 'info', NETFORM_TEST_REPLICA: identity }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<void>((r) => child.on('close', () => r()));
    const logs = () =>
      err
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>];
          } catch {
            return [];
          }
        });
    const rep: Replica = { identity, child, stderr: () => err, logs, exited };
    this.replicas.push(rep);
    return rep;
  }

  async kill(r: Replica): Promise<void> {
    r.killedAt = Date.now();
    r.child.kill('SIGKILL');
    await r.exited;
  }

  async stopAll(): Promise<void> {
    for (const r of this.replicas) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGTERM');
    await Promise.all(this.replicas.map((r) => r.exited));
  }

  /** Holder of each shard Lease ('' when none or absent). */
  async holders(): Promise<string[]> {
    const out = await kubectlOk(this.#kube, ['get', 'leases', '-n', NS, '-o', 'json']);
    const items = (JSON.parse(out) as { items: { metadata: { name: string }; spec?: { holderIdentity?: string } }[] }).items;
    return [...Array(this.o.shards).keys()].map((i) => items.find((l) => l.metadata.name === `netform-controller-shard-${i}`)?.spec?.holderIdentity ?? '');
  }

  /** Networks Ready for their current generation, and (with `mtu`) whose backend object has that MTU. */
  async readyNetworks(mtu?: number, only?: number[]): Promise<number> {
    const out = await kubectlOk(this.#kube, ['get', 'networks', '-o', 'json']);
    const items = (JSON.parse(out) as { items: { metadata: { name: string; generation: number }; status?: { conditions?: { type: string; status: string; observedGeneration?: number }[] } }[] }).items;
    const want = only ? new Set(only.map(networkName)) : undefined;
    const backendMtu = new Map<string, unknown>();
    if (mtu !== undefined) for (const o of this.backend.list('network')) backendMtu.set(String(o.fields.name), o.fields.mtu);
    let n = 0;
    for (const it of items) {
      if (want && !want.has(it.metadata.name)) continue;
      const c = it.status?.conditions?.find((x) => x.type === 'Ready');
      if (c?.status !== 'True' || c.observedGeneration !== it.metadata.generation) continue;
      if (mtu !== undefined && backendMtu.get(it.metadata.name) !== mtu) continue;
      n++;
    }
    return n;
  }

  /** Waits until `count` networks are ready (see readyNetworks); returns ms taken, or throws.
   *  `samples` gets [ms since the call, ready] at each poll. */
  async waitReady(count: number, timeoutMs: number, mtu?: number, only?: number[], samples?: [number, number][]): Promise<number> {
    const t0 = Date.now();
    let last = 0;
    while (Date.now() - t0 < timeoutMs) {
      last = await this.readyNetworks(mtu, only);
      samples?.push([Date.now() - t0, last]);
      if (last >= count) return Date.now() - t0;
      for (const r of this.replicas) if (r.killedAt === undefined && r.child.exitCode !== null) throw new Error(`replica ${r.identity} exited ${r.child.exitCode}:\n${r.stderr().slice(-3000)}`);
      await sleep(500);
    }
    throw new Error(`only ${last} of ${count} networks ready after ${timeoutMs} ms`);
  }

  /** Every replica's shard terms, from its logs. */
  terms(): ShardTerm[] {
    return this.replicas.flatMap((r) => termsFromLogs(r.identity, r.logs(), r.killedAt));
  }

  /** The shard of a write's object (`owner:<instance>:Network/<name>`), undefined for others. */
  shardOfObject = (object: string): number | undefined => {
    const m = /^owner:[^:]+:Network\/net-(\d+)$/.exec(object);
    return m ? this.shardOfNetwork(Number(m[1])) : undefined;
  };
}
