// VnicAttachment: once its network is Ready and its host exists, create the vNIC's port on every
// provider of the network that has per-vNIC objects; on removal, delete (or orphan) them.
import { isReady } from '../../api/conditions.ts';
import { objectKey, type Provider, type VnicAttachment } from '../../api/kinds.ts';
import { bindOn, deleteEverywhere, mergeBindings } from '../runtime/bind.ts';
import { summarizeBindings } from '../runtime/bindings.ts';
import type { BindingOutcome, BindingStatus } from '../runtime/managed.ts';
import type { ObjectRecord } from '../../state/records.ts';
import {
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
import { toVnicModel } from './vnic.model.ts';
import { vnicDeviceName } from '../../drivers/host/model.ts';

export class VnicController implements Controller {
  readonly kind = 'VnicAttachment' as const;
  readonly #rt: Runtime;

  constructor(rt: Runtime) {
    this.#rt = rt;
  }

  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const rt = this.#rt;
    if (isFrozen(rt, key)) return reportInvalid(rt, key);
    const adm = rt.store.get(key);
    if (!adm) return this.#remove(key, signal);
    const vnic = adm.object as VnicAttachment;
    const rec = recordFor(rt, adm);
    const netKey = objectKey('Network', vnic.spec.network);
    const netRec = rt.records.get(netKey);
    const waiting: string[] = [];
    if (!rt.store.get(netKey)) waiting.push(`Network ${vnic.spec.network} is not available`);
    else if (!rt.dryRun && !isReady(netRec?.status)) waiting.push(`Network ${vnic.spec.network} is not Ready`);
    if (!rt.store.get(objectKey('Host', vnic.spec.host))) waiting.push(`Host ${vnic.spec.host} is not available`);
    if (waiting.length) {
      setOutcome(rt, rec, {
        ready: { status: 'False', reason: 'WaitingForDependencies', message: waiting.join('; ') },
        synced: { status: 'True', reason: 'ReconcileSuccess' },
        progressing: true,
      });
      if (rt.dryRun) for (const w of waiting) rt.plan.push({ object: key, target: 'netform', resource: 'vnic', action: 'wait', message: w });
      await writeRecord(rt, rec);
      return { requeueAfterMs: rt.waitMs };
    }
    const netBindings = new Map(((netRec?.status.providers as BindingStatus[] | undefined) ?? []).map((b) => [b.name, b]));
    const network = rt.store.object('Network', vnic.spec.network)!;
    const current = new Map(((rec.status.providers as BindingStatus[] | undefined) ?? []).map((b) => [b.name, b]));
    const outcomes: BindingOutcome[] = [];
    const wanted = new Set<string>();
    for (const ref of network.spec.providerRefs ?? []) {
      const found = lookup(rt, 'Provider', ref.name);
      const netId = netBindings.get(ref.name)?.externalId;
      if (!found || !netId) continue; // dry-run before the network exists; a Ready network has both
      wanted.add(ref.name);
      // An unplugged vNIC keeps no port.
      outcomes.push(await this.#bind(rec, found, vnic, netId, { deleting: !vnic.spec.plugged, current: current.get(ref.name), signal }));
    }
    for (const [name, b] of current) {
      if (wanted.has(name)) continue;
      const found = lookup(rt, 'Provider', name);
      if (!found) continue;
      outcomes.push(await this.#bind(rec, found, vnic, netBindings.get(name)?.externalId ?? '', { deleting: true, current: b, signal }));
    }
    rec.status.providers = mergeBindings(outcomes);
    const facts = outcomes.find((o) => o.facts)?.facts as { mac?: string; addresses?: string[] } | undefined;
    const mac = facts?.mac ?? vnic.spec.mac?.toLowerCase();
    if (mac) rec.status.mac = mac;
    if (facts?.addresses) rec.status.addresses = facts.addresses;
    rec.status.deviceName = vnicDeviceName(key.slice('VnicAttachment/'.length));
    const { outcome, retry } = summarizeBindings(outcomes, 'vNIC');
    setOutcome(rt, rec, outcome);
    await writeRecord(rt, rec);
    if (retry) return { retry };
    return { requeueAfterMs: jittered(rt, rt.resyncMs) };
  }

  #bind(
    rec: ObjectRecord,
    found: { object: Provider; baseDir?: string },
    vnic: VnicAttachment,
    networkExternalId: string,
    a: { deleting: boolean; current?: BindingStatus; signal: AbortSignal },
  ): Promise<BindingOutcome> {
    return bindOn(this.#rt, {
      rec,
      provider: found.object,
      baseDir: found.baseDir,
      resource: 'port',
      pick: (d) => d.vnics,
      desired: toVnicModel(vnic, networkExternalId),
      deleting: a.deleting,
      current: a.current,
      policy: { managementPolicy: vnic.spec.managementPolicy, deletionPolicy: vnic.spec.deletionPolicy, allowReplace: true },
      signal: a.signal,
    });
  }

  async #remove(key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const rt = this.#rt;
    const old = rt.records.get(key);
    if (!old) return {};
    const rec = structuredClone(old);
    if (rec.spec === undefined) {
      await removeRecord(rt, key);
      return {};
    }
    const vnic = objectFromRecord<'VnicAttachment'>(rec);
    const pending = await deleteEverywhere(rt, rec, 'vNIC', (found, b) => this.#bind(rec, found, vnic, '', { deleting: true, current: b, signal }));
    if (pending) return pending;
    await removeRecord(rt, key);
    return {};
  }
}
