// The admission webhook's serving certificate when none is given (issue 16): self-signed, for the
// Service's DNS names (and loopback addresses for a controller run outside the cluster), its own CA
// (the certificate is the caBundle). Keys from Node's crypto; the X.509 structure from node-forge,
// loaded at first use (only a controller serving the webhook needs it).
import { createRequire } from 'node:module';
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type Forge from 'node-forge';

export interface ServingCert {
  certPem: string;
  keyPem: string;
}

let loaded: typeof Forge | undefined;
const forge = (): typeof Forge => (loaded ??= createRequire(import.meta.url)('node-forge') as typeof Forge);

const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** A new self-signed serving certificate for `dnsNames` and `ipAddresses`, valid from an hour ago for `days`. */
export function selfSignedServingCert(o: { dnsNames: readonly string[]; ipAddresses?: readonly string[]; days?: number; now?: Date }): ServingCert {
  const ips = o.ipAddresses ?? [];
  for (const d of o.dnsNames) if (!DNS_NAME.test(d)) throw new Error(`webhook certificate: "${d}" is not a DNS name`);
  for (const ip of ips) if (isIP(ip) === 0) throw new Error(`webhook certificate: "${ip}" is not an IP address`);
  if (o.dnsNames.length + ips.length === 0) throw new Error('webhook certificate: no DNS name or IP address to serve');
  const f = forge();
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const cert = f.pki.createCertificate();
  cert.publicKey = f.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`; // positive, 128 bits
  const now = o.now ?? new Date();
  cert.validity.notBefore = new Date(now.getTime() - 3_600_000);
  cert.validity.notAfter = new Date(now.getTime() + (o.days ?? 365) * 86_400_000);
  const subject = [{ name: 'commonName', value: o.dnsNames[0] ?? ips[0]! }, { name: 'organizationName', value: 'netform' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [...o.dnsNames.map((value) => ({ type: 2, value })), ...ips.map((ip) => ({ type: 7, ip }))] },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(f.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()), f.md.sha256.create());
  return { certPem: f.pki.certificateToPem(cert), keyPem };
}

/**
 * Why `cert` must be replaced, or undefined when it may stay: it does not parse, expires within
 * `renewBeforeMs`, or does not cover every name and address to serve. A certificate given by
 * someone else (cert-manager) is judged the same way, but only reported: the caller decides.
 */
export function replaceReason(cert: ServingCert, o: { dnsNames: readonly string[]; ipAddresses?: readonly string[]; renewBeforeMs: number; now?: Date }): string | undefined {
  let x: X509Certificate;
  try {
    x = new X509Certificate(cert.certPem);
  } catch {
    return 'the certificate does not parse';
  }
  const now = (o.now ?? new Date()).getTime();
  if (new Date(x.validTo).getTime() - now < o.renewBeforeMs) return `it expires at ${new Date(x.validTo).toISOString()}`;
  for (const d of o.dnsNames) if (x.checkHost(d, { subject: 'never' }) === undefined) return `it does not name ${d}`;
  for (const ip of o.ipAddresses ?? []) if (x.checkIP(ip) === undefined) return `it does not name ${ip}`;
  return undefined;
}
