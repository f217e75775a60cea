// The test driver: a ProviderDriver for the FakeBackend's HTTP API. It follows the driver contract
// the way a real driver must (owner tags, adoption, compare-and-swap, classified errors) so the
// engine can be tested end to end. It is registered only by tests, never in production.
import { BackendError, conflict, notFound, terminal, transient } from '../../src/api/errors.ts';
import {
  ownerKey,
  type DriverContext,
  type DriverFactory,
  type FieldChange,
  type Observed,
  type ObserveRequest,
  type Owner,
  type ProviderConfig,
  type ProviderDriver,
  type ResourceDriver,
} from '../../src/drivers/driver.ts';
import type { NetworkModel, VnicModel } from '../../src/drivers/model.ts';
import type { BackendObject } from './fake-backend.ts';

type Fields = Record<string, unknown>;

/** Which replica this process is, sent with every request so the FakeBackend can record who wrote
 *  what (the sharded-controller tests' checker); from the environment the test spawns it with. */
const REPLICA = process.env.NETFORM_TEST_REPLICA ?? '';

async function call(base: string, ctx: DriverContext, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(base + path, {
      method,
      headers: { 'content-type': 'application/json', ...(REPLICA ? { 'x-netform-replica': REPLICA } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(5000)]),
    });
  } catch (err) {
    throw transient(`${method} ${path}: ${(err as Error).message}`, { cause: err });
  }
  const text = await res.text();
  const data = text ? (JSON.parse(text) as { error?: { type: string; message: string } }) : undefined;
  if (res.ok) return data;
  const msg = data?.error?.message ?? `HTTP ${res.status}`;
  const code = data?.error?.type;
  if (res.status === 404) throw notFound(msg, code);
  if (res.status === 412) throw conflict(msg, code);
  if (res.status >= 500) throw transient(msg, { code });
  throw terminal(msg, code);
}

const tagOf = (o: Owner) => `owner:${ownerKey(o)}`;

function networkFields(m: NetworkModel): Fields {
  return {
    name: m.name,
    description: m.description ?? '',
    physicalNetwork: m.physicalNetwork,
    vlan: m.vlan ?? null,
    mtu: m.mtu,
    shared: m.shared,
    adminStateUp: m.adminStateUp,
    portSecurity: m.portSecurity,
    subnets: m.subnets.map((s) => ({ ...s })),
  };
}

function vnicFields(m: VnicModel): Fields {
  return { name: m.name, network: m.networkExternalId, mac: m.mac ?? null, host: m.host, vm: m.vmUid ?? m.vmName, linked: m.linked };
}

const IMMUTABLE = new Set(['vlan', 'physicalNetwork', 'network']);

function diffFields(desired: Fields, observed: Fields): FieldChange[] {
  const out: FieldChange[] = [];
  for (const k of Object.keys(desired).sort()) {
    // The name is set at creation; an imported object keeps its own, so it is never drift.
    if (k === 'subnets' || k === 'name') continue;
    if (JSON.stringify(desired[k]) !== JSON.stringify(observed[k])) {
      const c: FieldChange = { path: k, from: observed[k], to: desired[k] };
      if (IMMUTABLE.has(k)) c.immutable = true;
      out.push(c);
    }
  }
  if ('subnets' in desired) {
    const want = new Map((desired.subnets as { name: string; cidr: string }[]).map((s) => [s.name, s]));
    const have = new Map(((observed.subnets as { name: string; cidr: string }[] | undefined) ?? []).map((s) => [s.name, s]));
    for (const [name, s] of want) {
      const h = have.get(name);
      if (!h) out.push({ path: `subnets[${name}]`, to: s });
      else if (h.cidr !== s.cidr) out.push({ path: `subnets[${name}].cidr`, from: h.cidr, to: s.cidr, immutable: true });
      else if (JSON.stringify(h) !== JSON.stringify(s)) out.push({ path: `subnets[${name}]`, from: h, to: s });
    }
    for (const [name, h] of have) if (!want.has(name)) out.push({ path: `subnets[${name}]`, from: h });
  }
  return out;
}

class TestResource<M> implements ResourceDriver<M, Fields> {
  readonly #base: string;
  readonly #kind: BackendObject['kind'];
  readonly #fields: (m: M) => Fields;

  constructor(base: string, kind: BackendObject['kind'], fields: (m: M) => Fields) {
    this.#base = base;
    this.#kind = kind;
    this.#fields = fields;
  }

  #observed(o: BackendObject, owner: Owner, recorded: boolean): Observed<Fields> {
    const others = o.tags.filter((t) => t.startsWith('owner:') && t !== tagOf(owner));
    if (others.length && !o.tags.includes(tagOf(owner))) {
      if (recorded) throw terminal(`${this.#kind} ${o.id} belongs to ${others[0]!.slice(6)}`);
    }
    return { externalId: o.id, state: o.fields, version: String(o.revision), owned: o.tags.includes(tagOf(owner)) || (recorded && !others.length) };
  }

  async #byOwner(ctx: DriverContext, owner: Owner): Promise<BackendObject | undefined> {
    const r = (await call(this.#base, ctx, 'GET', `/objects?kind=${this.#kind}&tag=${encodeURIComponent(tagOf(owner))}`)) as { objects: BackendObject[] };
    if (r.objects.length > 1) throw terminal(`${r.objects.length} ${this.#kind}s carry the owner tag of ${ownerKey(owner)}`);
    return r.objects[0];
  }

  async observe(ctx: DriverContext, req: ObserveRequest<M>): Promise<Observed<Fields> | undefined> {
    if (req.externalId) {
      try {
        return this.#observed((await call(this.#base, ctx, 'GET', `/objects/${req.externalId}`)) as BackendObject, req.owner, true);
      } catch (err) {
        if (!(err instanceof BackendError) || err.errorClass !== 'NotFound') throw err;
      }
    }
    if (req.import) {
      if (req.import.id) {
        try {
          return this.#observed((await call(this.#base, ctx, 'GET', `/objects/${req.import.id}`)) as BackendObject, req.owner, false);
        } catch (err) {
          if (err instanceof BackendError && err.errorClass === 'NotFound') return undefined;
          throw err;
        }
      }
      const r = (await call(this.#base, ctx, 'GET', `/objects?kind=${this.#kind}`)) as { objects: BackendObject[] };
      const o = r.objects.find((x) => x.fields.name === req.import!.name);
      return o ? this.#observed(o, req.owner, false) : undefined;
    }
    const o = await this.#byOwner(ctx, req.owner);
    return o ? this.#observed(o, req.owner, false) : undefined;
  }

  diff(desired: M, observed: Fields): FieldChange[] {
    return diffFields(this.#fields(desired), observed);
  }

  async create(ctx: DriverContext, owner: Owner, desired: M): Promise<Observed<Fields>> {
    const existing = await this.#byOwner(ctx, owner); // adopt what a crashed run created
    if (existing) return this.#observed(existing, owner, false);
    const o = (await call(this.#base, ctx, 'POST', '/objects', { kind: this.#kind, tags: ['netform', tagOf(owner)], fields: this.#fields(desired) })) as BackendObject;
    return this.#observed(o, owner, false);
  }

  async update(ctx: DriverContext, owner: Owner, observed: Observed<Fields>, desired: M): Promise<Observed<Fields>> {
    const o = (await call(this.#base, ctx, 'PUT', `/objects/${observed.externalId}`, { fields: this.#fields(desired) }, observed.version ? { 'if-match': observed.version } : {})) as BackendObject;
    return this.#observed(o, owner, true);
  }

  async delete(ctx: DriverContext, observed: Observed<Fields>): Promise<void> {
    try {
      await call(this.#base, ctx, 'DELETE', `/objects/${observed.externalId}`);
    } catch (err) {
      if (!(err instanceof BackendError) || err.errorClass !== 'NotFound') throw err;
    }
  }
}

export class TestDriver implements ProviderDriver {
  readonly type;
  readonly networks: TestResource<NetworkModel>;
  readonly vnics: TestResource<VnicModel>;
  readonly #base: string;

  constructor(config: ProviderConfig) {
    this.type = config.type;
    this.#base = config.endpoint.replace(/\/$/, '');
    this.networks = new TestResource(this.#base, 'network', networkFields);
    this.vnics = new TestResource(this.#base, 'port', vnicFields);
  }

  async probe(ctx: DriverContext): Promise<{ version?: string }> {
    const r = (await call(this.#base, ctx, 'GET', '/version')) as { version: string };
    return { version: r.version };
  }

  async close(): Promise<void> {}
}

export const testDriverFactory: DriverFactory = (config) => new TestDriver(config);
