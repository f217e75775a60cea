// One driver instance per Provider, rebuilt when the provider's spec or credentials change.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Provider } from '../../api/kinds.ts';
import type { ProviderSpec } from '../../api/types.gen.ts';
import { validateSpec } from '../../api/validate.ts';
import type { NeutronOptions, ProviderConfig, ProviderDriver, UcsmOptions } from '../../drivers/driver.ts';
import type { DriverRegistry } from '../../drivers/registry.ts';
import type { CredentialSource } from '../../api/credentials.ts';

interface Session {
  fingerprint: string;
  driver: ProviderDriver;
}

/**
 * The admitted spec with its type's options block present. Admission fills in the schema's defaults
 * only inside a block the manifest gives; for a left-out block, the same validation is run on a copy
 * that has an empty one, so its defaults come from the CRD as well — never from a driver (ADR 11).
 */
function withOptionsBlock(spec: ProviderSpec, key: 'neutron' | 'ucsm'): ProviderSpec {
  if (spec[key]) return spec;
  // The spec passed admission already: what matters here is only the defaults the schema fills in.
  return validateSpec<ProviderSpec>('Provider', { ...spec, [key]: {} }).spec;
}

const physicalNetworks = (spec: ProviderSpec) => (spec.physicalNetworks ? { physicalNetworks: spec.physicalNetworks } : {});

function neutronOptions(spec: ProviderSpec): NeutronOptions {
  const { neutron } = withOptionsBlock(spec, 'neutron');
  if (!neutron) throw new Error('no neutron options after admission');
  return { ...neutron, ...physicalNetworks(spec) };
}

function ucsmOptions(spec: ProviderSpec): UcsmOptions {
  const { ucsm } = withOptionsBlock(spec, 'ucsm');
  if (!ucsm) throw new Error('no ucsm options after admission');
  return { ...ucsm, ...physicalNetworks(spec) };
}

export class ProviderSessions {
  readonly registry: DriverRegistry;
  readonly #credentials: CredentialSource;
  readonly #log: Logger;
  readonly #sessions = new Map<string, Session>();

  constructor(opts: { registry: DriverRegistry; credentials: CredentialSource; log: Logger }) {
    this.registry = opts.registry;
    this.#credentials = opts.credentials;
    this.#log = opts.log;
  }

  /** The driver for a provider, built on first use or when its spec or credentials changed.
   *  Throws CredentialsError for unusable credentials, and an Error when no driver has the type. */
  async get(provider: Provider, baseDir: string | undefined): Promise<ProviderDriver> {
    const name = provider.metadata.name;
    if (!this.registry.has(provider.spec.type)) {
      throw new Error(`no driver for provider type ${provider.spec.type} in this build`);
    }
    const secrets = await this.#credentials.resolve(provider, baseDir);
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([provider.spec, secrets.credentials ?? null, secrets.ca ?? null]))
      .digest('hex');
    const current = this.#sessions.get(name);
    if (current?.fingerprint === fingerprint) return current.driver;
    if (current) await this.#close(name, current);
    const spec = provider.spec;
    const base = {
      name,
      endpoint: spec.endpoint,
      tls: { insecureSkipVerify: spec.tls?.insecureSkipVerify ?? false },
      requestTimeoutMs: spec.requestTimeoutSeconds * 1000,
      maxConcurrency: spec.maxConcurrency,
    };
    const config: ProviderConfig =
      spec.type === 'neutron' ? { ...base, type: 'neutron', options: neutronOptions(spec) } : { ...base, type: 'ucsm', options: ucsmOptions(spec) };
    if (secrets.credentials) config.credentials = secrets.credentials;
    if (secrets.ca) config.tls.ca = secrets.ca;
    if (spec.tls?.serverName) config.tls.serverName = spec.tls.serverName;
    const driver = this.registry.create(config, { log: this.#log.child({ provider: name, type: spec.type }) });
    this.#sessions.set(name, { fingerprint, driver });
    return driver;
  }

  async drop(name: string): Promise<void> {
    const s = this.#sessions.get(name);
    if (s) await this.#close(name, s);
  }

  async closeAll(): Promise<void> {
    for (const [name, s] of [...this.#sessions]) await this.#close(name, s);
  }

  async #close(name: string, s: Session): Promise<void> {
    this.#sessions.delete(name);
    try {
      await s.driver.close();
    } catch (err) {
      this.#log.warn({ provider: name, err }, 'closing the provider driver failed');
    }
  }
}
