// Where a Provider's secrets come from: the port the core resolves credentials through. File mode
// reads files (adapters/files/credentials.ts), cluster mode reads Secrets (adapters/kube/secrets.ts).
import type { Provider } from './kinds.ts';

/** Credentials as resolved from a Secret or a 0600 file. Never logged, never written to status. */
export type Credentials = Readonly<Record<string, string>>;

/** A credentials problem the user must fix; its message never contains secret values. */
export class CredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialsError';
  }
}

export interface ResolvedSecrets {
  credentials?: Credentials;
  ca?: string;
}

export interface CredentialSource {
  /** Reads what the provider's spec points at. `baseDir` is the directory of its manifest. */
  resolve(provider: Provider, baseDir: string | undefined): Promise<ResolvedSecrets>;
}
