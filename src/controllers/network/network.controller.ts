// Network: resolve the VLAN (fixed or from the pool), then bring the network to each provider it
// names through the generic managed-resource reconciler; remove it from providers it no longer names;
// on removal, delete (or orphan) it everywhere, then give the VLAN back.
import { isReady } from '../../api/conditions.ts';
import { objectKey, parseKey, type Network, type Provider } from '../../api/kinds.ts';
import type { ImportRef } from '../../drivers/driver.ts';
import type { NetworkModel } from '../../drivers/model.ts';
import { bindOn, deleteEverywhere, mergeBindings } from '../runtime/bind.ts';
import type { BindingOutcome, BindingStatus } from '../runtime/managed.ts';
import type { ObjectRecord } from '../../state/records.ts';
import {
  blockDeletion,
  isFrozen,
  jittered,
  lookup,
  objectFromRecord,
  recordFor,
  removeRecord,
  reportInvalid,
  setOutcome,
  writeRecord,
  type Controller,
  type ReconcileResult,
  type Runtime,
} from '../runtime/runtime.ts';
import type { PoolAllocations } from '../vlanpool/allocations.ts';
import { toNetworkModel } from './network.model.ts';
import { hostNetworks } from '../host/host.model.ts';
import { summarizeBindings } from '../runtime/bindings.ts';

export class NetworkController implements Controller {
  readonly kind = 'Network' as const;
  readonly #rt: Runtime;
  readonly #pools: PoolAllocations;

  constructor(rt: Runtime, pools: PoolAllocations) {
    this.#rt = rt;
    this.#pools = pools;
  }

  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const rt = this.#rt;
    if (isFrozen(rt, key)) return reportInvalid(rt, key);
    const adm = rt.store.get(key);
    if (!adm) return this.#remove(key, signal);
    const net = adm.object as Network;
    const rec = recordFor(rt, adm);

    const waiting: string[] = [];
    for (const ref of net.spec.providerRefs ?? []) {
      const pkey = objectKey('Provider', ref.name);
      if (!rt.store.get(pkey)) waiting.push(`Provider ${ref.name} is not available`);
      else if (!rt.dryRun && !isReady(rt.records.get(pkey)?.status)) waiting.push(`Provider ${ref.name} is not Ready`);
    }
    let vlan = net.spec.vlan?.id;
    let exhausted: string | undefined;
    if (net.spec.vlan?.poolRef) {
      const got = await this.#pools.vlanFor(net);
      if ('error' in got) {
        if (got.error.includes('no free VLAN')) exhausted = got.error;
        else waiting.push(got.error);
      } else {
        vlan = got.vlan;
        if (got.allocated && rt.dryRun) {
          rt.plan.push({ object: key, target: 'netform', resource: 'vlan', action: 'allocate', message: `VLAN ${vlan} from VlanPool ${net.spec.vlan.poolRef.name}` });
        }
      }
    }
    if (vlan !== undefined) {
      rec.status.vlan = vlan;
      rec.status.physicalNetwork = net.spec.physicalNetwork;
    }
    if (exhausted || waiting.length) {
      setOutcome(rt, rec, {
        ready: { status: 'False', reason: 'WaitingForDependencies', message: exhausted ?? waiting.join('; ') },
        synced: { status: exhausted ? 'False' : 'True', reason: exhausted ? 'BackendRejected' : 'ReconcileSuccess', message: exhausted },
        stalled: !!exhausted,
        progressing: !exhausted,
      });
      if (rt.dryRun) for (const w of waiting) rt.plan.push({ object: key, target: 'netform', resource: 'network', action: 'wait', message: w });
      await writeRecord(rt, rec);
      return { requeueAfterMs: rt.waitMs };
    }

    const model = toNetworkModel(net, vlan, hostsCarrying(rt, net.metadata.name));
    const current = new Map(((rec.status.providers as BindingStatus[] | undefined) ?? []).map((b) => [b.name, b]));
    const outcomes: BindingOutcome[] = [];
    const wanted = new Set((net.spec.providerRefs ?? []).map((r) => r.name));
    for (const ref of net.spec.providerRefs ?? []) {
      const found = lookup(rt, 'Provider', ref.name)!;
      outcomes.push(await this.#bind(rec, found, net, model, { deleting: false, current: current.get(ref.name), importRef: ref.import, signal }));
    }
    // Providers the network no longer names: remove it there too (or let it go, per policy).
    for (const [name, b] of current) {
      if (wanted.has(name)) continue;
      const found = lookup(rt, 'Provider', name);
      if (!found) {
        rt.log.warn({ network: key, provider: name }, 'provider gone; forgetting the network on it');
        continue;
      }
      outcomes.push(await this.#bind(rec, found, net, model, { deleting: true, current: b, signal }));
    }
    rec.status.providers = mergeBindings(outcomes);
    const { outcome, retry } = summarizeBindings(outcomes, 'network');
    setOutcome(rt, rec, outcome);
    await writeRecord(rt, rec);
    if (retry) return { retry };
    return { requeueAfterMs: jittered(rt, rt.resyncMs) };
  }

  #bind(
    rec: ObjectRecord,
    found: { object: Provider; baseDir?: string },
    net: Network,
    model: NetworkModel,
    a: { deleting: boolean; current?: BindingStatus; importRef?: ImportRef; signal: AbortSignal },
  ): Promise<BindingOutcome> {
    return bindOn(this.#rt, {
      rec,
      provider: found.object,
      baseDir: found.baseDir,
      resource: 'network',
      pick: (d) => d.networks,
      desired: model,
      deleting: a.deleting,
      current: a.current,
      importRef: a.importRef,
      policy: { managementPolicy: net.spec.managementPolicy, deletionPolicy: net.spec.deletionPolicy, allowReplace: net.spec.allowReplace },
      signal: a.signal,
    });
  }

  async #remove(key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const rt = this.#rt;
    const old = rt.records.get(key);
    if (!old) return {};
    const rec = structuredClone(old);
    const name = parseKey(key).name;
    const users = vnicsOn(rt, name);
    if (users.length) return blockDeletion(rt, rec, users, 'waiting for vNICs to leave the network');
    if (rec.spec === undefined) {
      await removeRecord(rt, key);
      return {};
    }
    const net = objectFromRecord<'Network'>(rec);
    const model = toNetworkModel(net, rec.status.vlan as number | undefined);
    const pending = await deleteEverywhere(rt, rec, 'network', (found, b) => this.#bind(rec, found, net, model, { deleting: true, current: b, signal }));
    if (pending) return pending;
    const pool = net.spec.vlan?.poolRef?.name;
    if (pool && !rt.dryRun) await this.#pools.release(pool, name);
    if (rt.dryRun && pool && rec.status.vlan !== undefined) {
      rt.plan.push({ object: key, target: 'netform', resource: 'vlan', action: 'release', message: `VLAN ${String(rec.status.vlan)} back to VlanPool ${pool}` });
    }
    await removeRecord(rt, key);
    return {};
  }
}

/** The Hosts whose placement (by name, label, or the cluster's required networks) carries the network. */
function hostsCarrying(rt: Runtime, network: string): string[] {
  const networks = new Map(rt.store.list('Network').map((n) => [n.metadata.name, n] as const));
  const out: string[] = [];
  for (const h of rt.store.list('Host')) {
    const cluster = rt.store.object('Cluster', h.spec.cluster);
    if (hostNetworks(h, cluster, networks).placements.some((p) => p.network === network)) out.push(h.metadata.name);
  }
  return out.sort();
}

/** VnicAttachments (desired, or still on backends) that use the network. */
function vnicsOn(rt: Runtime, network: string): string[] {
  const out = new Set<string>();
  for (const v of rt.store.list('VnicAttachment')) if (v.spec.network === network) out.add(`VnicAttachment/${v.metadata.namespace}/${v.metadata.name}`);
  for (const r of rt.records.list()) {
    if (r.kind === 'VnicAttachment' && (r.spec as { network?: string } | undefined)?.network === network) out.add(r.key);
  }
  return [...out].sort();
}
