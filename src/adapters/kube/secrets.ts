// Cluster mode's credentials: a Provider's `spec.credentials.secretRef` names a Secret whose keys are
// the credential fields (the same names as in file mode's credentials file). Secrets are read with
// `get` only (no list/watch), cached briefly, so a rotated Secret is picked up within `ttlMs`.
// Values never reach logs, events or status; errors name the Secret and the key, never a value.
import type { Provider } from '../../api/kinds.ts';
import { classify } from '../../api/errors.ts';
import { CredentialsError, type Credentials, type CredentialSource, type ResolvedSecrets } from '../../api/credentials.ts';
import { isStatus, type KubeClient } from './client.ts';
import { SECRETS } from './resources.ts';

interface SecretObject {
  data?: Record<string, string>;
}

export interface SecretCredentialOptions {
  client: KubeClient;
  /** Where a secretRef without a namespace points: the controller's own namespace. */
  namespace: string;
  ttlMs?: number;
  now?: () => number;
}

export class SecretCredentialSource implements CredentialSource {
  readonly #o: SecretCredentialOptions;
  readonly #cache = new Map<string, { at: number; credentials: Credentials }>();

  constructor(o: SecretCredentialOptions) {
    this.#o = o;
  }

  async resolve(provider: Provider): Promise<ResolvedSecrets> {
    const spec = provider.spec;
    const out: ResolvedSecrets = {};
    if (spec.credentials?.file) {
      throw new CredentialsError('credentials.file is for file mode; in a cluster put the credentials in a Secret and use credentials.secretRef');
    }
    if (spec.tls?.caFile) throw new CredentialsError('tls.caFile is for file mode; in a cluster use tls.caBundle');
    if (spec.tls?.caBundle) out.ca = spec.tls.caBundle;
    const ref = spec.credentials?.secretRef;
    if (ref) out.credentials = await this.#read(ref.namespace ?? this.#o.namespace, ref.name);
    return out;
  }

  async #read(namespace: string, name: string): Promise<Credentials> {
    const now = (this.#o.now ?? Date.now)();
    const id = `${namespace}/${name}`;
    const hit = this.#cache.get(id);
    if (hit && now - hit.at < (this.#o.ttlMs ?? 30_000)) return hit.credentials;
    let secret: SecretObject;
    try {
      secret = await this.#o.client.get<SecretObject>(SECRETS, name, namespace);
    } catch (err) {
      this.#cache.delete(id);
      if (isStatus(err, 404)) throw new CredentialsError(`Secret ${id} does not exist`);
      if (isStatus(err, 403)) throw new CredentialsError(`netform may not read Secret ${id}: grant get on it (the controller's Role covers its own namespace)`);
      if (classify(err) === 'Terminal') throw new CredentialsError(`Secret ${id} cannot be read: ${(err as Error).message}`);
      throw err;
    }
    const credentials = decodeSecretData(secret.data ?? {}, id);
    this.#cache.set(id, { at: now, credentials });
    return credentials;
  }
}

/** A Secret's data (base64 values) as credential fields. Pure. */
export function decodeSecretData(data: Record<string, string>, id: string): Credentials {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) {
    const text = Buffer.from(v, 'base64').toString('utf8');
    if (text.includes('\uFFFD')) throw new CredentialsError(`Secret ${id}: the value of ${k} is not UTF-8 text`);
    out[k] = text;
  }
  if (!Object.keys(out).length) throw new CredentialsError(`Secret ${id} has no data`);
  return Object.freeze(out);
}
