// The shards a replica of a sharded controller holds (ADR 25): one coordination.k8s.io/v1 Lease per
// shard, `<prefix>-shard-<i>`, each campaigned for by its own LeaderElector (so each shard has the
// fencing of leader election: no two replicas hold one shard at once, a holder that cannot renew
// stops within its renew deadline), plus one membership Lease per replica, `<prefix>-member-<hash of
// identity>`, renewed like a Lease it leads, from which every replica counts the live ones.
//
// Every retry period the replica lists the Leases of its namespace, counts live members (a member
// Lease seen unchanged for its duration on this replica's monotonic clock, or released, is not live:
// no wall clocks compared, as in leader.ts) and asks `balance` whether it should give a shard back.
// Whether it may take a free one, each shard's elector asks before it writes (its `mayAcquire` gate):
// `balance` again, on that list's live replicas and holders, counting as this replica's the shards it
// holds now and those it let an elector take since the list, so that one decision does not let every
// shard's elector take its free shard within the same retry period. Giving back is a graceful stop of
// that shard's elector: its engine is stopped first (the onGained promise), then the Lease is released
// and a new elector campaigns for the shard under the same gate.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { Sleeper, systemWallClock, type WallClock } from './clock.ts';
import { isStatus, resourcePath, type KubeClient } from './client.ts';
import { LeaderElector, observe, type Lease, type Observation } from './leader.ts';
import { LEASES } from './resources.ts';
import { balance, type BalanceDecision } from './shard-balance.ts';

export const shardLeaseName = (prefix: string, shard: number): string => `${prefix}-shard-${shard}`;

/** A Lease name for a replica's membership (identities need not be valid object names). */
export const memberLeaseName = (prefix: string, identity: string): string => `${prefix}-member-${createHash('sha256').update(identity).digest('hex').slice(0, 12)}`;

export interface ShardSetOptions {
  client: Pick<KubeClient, 'request'>;
  namespace: string;
  /** Lease names start with it (default netform-controller). */
  prefix: string;
  shards: number;
  identity: string;
  timing: { durationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
  log: Logger;
  clock?: WallClock;
  /** In [0, 1), for the electors' jitter (default Math.random); tests pass a fixed one. */
  random?: () => number;
  /** How long a membership Lease must be seen unchanged before it is deleted (default 10 × durationMs). */
  sweepAfterMs?: number;
  /** This replica now holds `shard`; `signal` aborts when it must stop acting for it. The promise
   *  should settle once it stopped (a graceful release waits for it). */
  onGained: (shard: number, signal: AbortSignal) => Promise<void>;
  /** The shard's term ended (its signal aborted). */
  onLost?: (shard: number) => void;
}

export class ShardSet {
  readonly #o: ShardSetOptions;
  readonly #clock: WallClock;
  readonly #log: Logger;
  readonly #electors: LeaderElector[] = [];
  readonly #runs = new Set<Promise<void>>();
  readonly #member: LeaderElector;
  readonly #members = new Map<string, Observation>();
  readonly #sleeper: Sleeper;
  #decision: BalanceDecision | undefined;
  /** The live replicas and the shards' holders of the last list that decided. */
  #view: { live: string[]; holders: (string | undefined)[] } | undefined;
  /** Shards whose electors were let take them since that list: they count as this replica's, held or
   *  not yet (the write may be in flight, or may have lost a race). */
  readonly #granted = new Set<number>();
  /** Lists of the Leases so far: the first only observes (members started at the same moment have
   *  not written their Leases yet; deciding then, every replica would think it is alone). */
  #lists = 0;
  #releasing = false;
  #stopping = false;
  /** False once a delete was refused (403): this replica then leaves leftover Leases alone. */
  #sweeping = true;
  #loop: Promise<void> | undefined;

  constructor(o: ShardSetOptions) {
    if (!(Number.isInteger(o.shards) && o.shards >= 1)) throw new RangeError(`shards must be an integer >= 1, not ${o.shards}`);
    this.#o = o;
    this.#clock = o.clock ?? systemWallClock;
    this.#sleeper = new Sleeper(this.#clock);
    this.#log = o.log.child({ shards: o.shards });
    this.#member = this.#elector(memberLeaseName(o.prefix, o.identity));
    for (let i = 0; i < o.shards; i++) this.#electors.push(this.#shardElector(i));
  }

  /** The shards this replica holds now (each elector's renew deadline not passed). */
  held(): number[] {
    return this.#electors.flatMap((e, i) => (e.isLeader() ? [i] : []));
  }

  /** Whether this replica holds `shard` now. */
  holds(shard: number): boolean {
    return this.#electors[shard]?.isLeader() ?? false;
  }

  /** The last balance decision (undefined before the first list of Leases). */
  decision(): BalanceDecision | undefined {
    return this.#decision;
  }

  run(): Promise<void> {
    if (this.#loop) throw new Error('ShardSet.run() was already called');
    this.#track(this.#member.run());
    for (const e of this.#electors) this.#track(e.run());
    this.#loop = this.#balanceLoop();
    return this.#loop;
  }

  /** Stops every shard's work, then releases (or, `release: false`, leaves to expire) the Leases. */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#sleeper.wake();
    await this.#loop;
    await Promise.all(this.#electors.map((e) => e.stop(opts)));
    await this.#member.stop(opts);
    await Promise.all(this.#runs);
  }

  #track(p: Promise<void>): void {
    this.#runs.add(p);
    void p.finally(() => this.#runs.delete(p));
  }

  #elector(name: string, extra: Partial<ConstructorParameters<typeof LeaderElector>[0]> = {}): LeaderElector {
    const t = this.#o.timing;
    return new LeaderElector({
      client: this.#o.client,
      namespace: this.#o.namespace,
      name,
      identity: this.#o.identity,
      leaseDurationMs: t.durationMs,
      renewDeadlineMs: t.renewDeadlineMs,
      retryPeriodMs: t.retryPeriodMs,
      log: this.#o.log,
      ...(this.#o.clock ? { clock: this.#o.clock } : {}),
      ...(this.#o.random ? { random: this.#o.random } : {}),
      ...extra,
    });
  }

  #shardElector(shard: number): LeaderElector {
    return this.#elector(shardLeaseName(this.#o.prefix, shard), {
      mayAcquire: () => this.#mayAcquire(shard),
      onStartedLeading: (signal) => {
        this.#log.info({ shard, held: this.held() }, `shard ${shard} gained`);
        return this.#o.onGained(shard, signal);
      },
      onStoppedLeading: () => {
        this.#log.info({ shard, held: this.held() }, `shard ${shard} lost`);
        this.#o.onLost?.(shard);
      },
    });
  }

  /** Whether the elector of `shard` may take it now: `balance` asked again with the shards this
   *  replica holds or was let take since the last list (a yes is one of them from then on). */
  #mayAcquire(shard: number): boolean {
    if (this.#stopping || this.#releasing || !this.#view) return false;
    const mine = new Set([...this.held(), ...this.#granted]);
    mine.delete(shard);
    const { shards, identity } = this.#o;
    if (!balance({ shards, me: identity, live: this.#view.live, holders: this.#view.holders, mine: [...mine] }).mayAcquire) return false;
    this.#granted.add(shard);
    return true;
  }

  async #balanceLoop(): Promise<void> {
    while (!this.#stopping) {
      try {
        await this.#balance();
      } catch (err) {
        this.#log.warn({ err: err instanceof Error ? err.message : String(err) }, 'shards: cannot list the Leases; holding what is held');
      }
      if (this.#stopping) break;
      await this.#sleeper.sleep(this.#o.timing.retryPeriodMs);
    }
  }

  async #balance(): Promise<void> {
    const { prefix, namespace, shards, identity } = this.#o;
    const list = await this.#o.client.request<{ items?: Lease[] }>('GET', resourcePath(LEASES, { namespace }), { signal: AbortSignal.timeout(this.#o.timing.renewDeadlineMs) });
    const now = this.#clock.now();
    const live = [identity];
    const holders: (string | undefined)[] = new Array<string | undefined>(shards).fill(undefined);
    const seen = new Set<string>();
    for (const l of list.items ?? []) {
      const name = l.metadata.name;
      if (name.startsWith(`${prefix}-member-`)) {
        seen.add(name);
        const obs = observe(this.#members.get(name), l.spec, now);
        this.#members.set(name, obs);
        const durMs = (l.spec?.leaseDurationSeconds ?? Math.ceil(this.#o.timing.durationMs / 1000)) * 1000;
        if (obs.holder && now - obs.sinceMs < durMs) live.push(obs.holder);
      } else if (name.startsWith(`${prefix}-shard-`)) {
        const i = Number(name.slice(`${prefix}-shard-`.length));
        if (Number.isInteger(i) && i >= 0 && i < shards) holders[i] = l.spec?.holderIdentity || undefined;
      }
    }
    for (const k of this.#members.keys()) if (!seen.has(k)) this.#members.delete(k);
    await this.#sweep(list.items ?? [], now);
    if (++this.#lists === 1) return;
    const d = balance({ shards, me: identity, live, holders, mine: this.held() });
    this.#decision = d;
    this.#view = { live, holders };
    this.#granted.clear();
    if (d.release !== undefined && !this.#releasing && !this.#stopping) await this.#giveBack(d.release, d);
  }

  /** Deletes the membership Leases seen unchanged for `sweepAfterMs` (see the top of this file). */
  async #sweep(items: Lease[], now: number): Promise<void> {
    if (!this.#sweeping || this.#stopping) return;
    const { prefix, namespace, identity } = this.#o;
    const after = this.#o.sweepAfterMs ?? 10 * this.#o.timing.durationMs;
    const own = memberLeaseName(prefix, identity);
    for (const l of items) {
      const name = l.metadata.name;
      const obs = this.#members.get(name);
      if (name === own || !obs || now - obs.sinceMs < after || !l.metadata.resourceVersion) continue;
      try {
        await this.#o.client.request('DELETE', resourcePath(LEASES, { namespace, name }), {
          body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { resourceVersion: l.metadata.resourceVersion } },
          signal: AbortSignal.timeout(this.#o.timing.renewDeadlineMs),
        });
        this.#members.delete(name);
        this.#log.info({ lease: name, holder: obs.holder || undefined, unchangedForMs: now - obs.sinceMs }, `shards: deleted the membership Lease ${name} of a replica gone`);
      } catch (err) {
        if (isStatus(err, 404) || isStatus(err, 409)) continue; // another replica swept it, or its replica renewed it
        if (isStatus(err, 403)) {
          this.#sweeping = false;
          this.#log.warn({ lease: name }, 'shards: may not delete Leases; membership Leases of replicas gone are left (manifests/optional/shards grants delete)');
        } else {
          // Not in the way of balancing: tried again after the next list.
          this.#log.warn({ lease: name, err: err instanceof Error ? err.message : String(err) }, 'shards: cannot delete a membership Lease of a replica gone');
        }
        return;
      }
    }
  }

  /** Gives one shard back: its work stops, its Lease is released, a new elector campaigns for it. */
  async #giveBack(shard: number, d: BalanceDecision): Promise<void> {
    this.#releasing = true;
    try {
      this.#log.info({ shard, held: this.held(), share: [d.min, d.max] }, `giving shard ${shard} back: above this replica's share`);
      const old = this.#electors[shard]!;
      await old.stop({ release: true });
      if (this.#stopping) return;
      const next = this.#shardElector(shard);
      this.#electors[shard] = next;
      this.#track(next.run());
    } finally {
      this.#releasing = false;
    }
  }
}
