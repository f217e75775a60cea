// File mode's credential source: a Provider's credentials file (it must be 0600) and CA file.
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { load } from 'js-yaml';
import { CredentialsError, type Credentials, type CredentialSource, type ResolvedSecrets } from '../../api/credentials.ts';
import type { Provider } from '../../api/kinds.ts';

/** File mode: `spec.credentials.file` (must not be readable by group or others) and `spec.tls.caFile`. */
export class FileCredentialSource implements CredentialSource {
  async resolve(provider: Provider, baseDir: string | undefined): Promise<ResolvedSecrets> {
    const out: ResolvedSecrets = {};
    const spec = provider.spec;
    const at = (p: string) => (isAbsolute(p) ? p : resolve(baseDir ?? '.', p));
    if (spec.credentials?.secretRef) {
      throw new CredentialsError('credentials.secretRef needs cluster mode; in file mode use credentials.file');
    }
    if (spec.credentials?.file) {
      const path = at(spec.credentials.file);
      let st;
      try {
        st = await stat(path);
      } catch {
        throw new CredentialsError(`credentials file ${path} cannot be read`);
      }
      if ((st.mode & 0o077) !== 0) {
        throw new CredentialsError(
          `credentials file ${path} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 on it`,
        );
      }
      out.credentials = parseCredentials(await readFile(path, 'utf8'), path);
    }
    if (spec.tls?.caBundle) out.ca = spec.tls.caBundle;
    if (spec.tls?.caFile) {
      const path = at(spec.tls.caFile);
      try {
        out.ca = await readFile(path, 'utf8');
      } catch {
        throw new CredentialsError(`CA file ${path} cannot be read`);
      }
    }
    return out;
  }
}

/** Parses a YAML or JSON mapping of strings. The error names the file and the key, never a value. */
export function parseCredentials(text: string, where: string): Credentials {
  let data: unknown;
  try {
    data = load(text);
  } catch {
    throw new CredentialsError(`credentials file ${where} is not valid YAML or JSON`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new CredentialsError(`credentials file ${where} must be a mapping of names to strings`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== 'string') throw new CredentialsError(`credentials file ${where}: the value of ${k} must be a string`);
    out[k] = v;
  }
  return Object.freeze(out);
}
