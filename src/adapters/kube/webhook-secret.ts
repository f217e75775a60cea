// The admission webhook's serving certificate kept in a Secret (issue 16, ADR 28): every controller
// replica serves the same certificate, the first to find none makes it, and a renewal goes in two
// steps so that no admission fails on the way:
//
//   1. a new certificate is put into the Secret as `next.crt`/`next.key`, and the CA bundle (`ca.crt`,
//      what the caBundle of the ValidatingWebhookConfiguration is made from) names both the current
//      and the new one; replicas keep serving the current one;
//   2. once `graceMs` has passed since step 1 (every replica has published the bundle with both, and
//      the apiserver has taken it), the new one becomes `tls.crt`/`tls.key` (`tls.since`: when); the
//      bundle keeps the old one too, for a replica that has not switched yet, and the next renewal
//      (which drops it) waits `graceMs` after that. Replicas must check more often than `graceMs`.
//
// Writes are compare-and-swap on the Secret's resourceVersion: of two replicas deciding at once, one
// wins and the other reads what it wrote.
import { replaceReason, selfSignedServingCert, type ServingCert } from './webhook-cert.ts';

/** The Secret's data, decoded (`tls.crt`, `tls.key`, `ca.crt`, and during a renewal `next.crt`,
 *  `next.key`, `next.since`). */
export type CertSecretData = Record<string, string>;

/** Reading and writing the one Secret (the kube client in the controller; a map in unit tests). */
export interface CertSecretApi {
  get(): Promise<{ data: CertSecretData; resourceVersion: string } | undefined>;
  /** false: it exists already (another replica made it first). */
  create(data: CertSecretData): Promise<boolean>;
  /** false: the resourceVersion moved (another replica wrote first). */
  replace(data: CertSecretData, resourceVersion: string): Promise<boolean>;
}

export interface CertSecretOptions {
  dnsNames: readonly string[];
  ipAddresses?: readonly string[];
  /** A certificate expiring within this is renewed (default 30 days). */
  renewBeforeMs?: number;
  /** How long step 1 lasts before the new certificate is served (default 2 minutes). */
  graceMs?: number;
  /** Validity of a new certificate, in days (default 365). */
  days?: number;
  now?: () => Date;
}

/** What to serve, and the CA bundle (PEM, one or two certificates) to publish as the caBundle. */
export interface HeldCert {
  cert: ServingCert;
  caBundle: string;
  /** A renewal is in step 1 (a new certificate waits in the Secret). */
  renewing: boolean;
}

const DAY = 86_400_000;

/**
 * Makes the Secret's content current (creates it, starts or ends a renewal) and returns what this
 * replica is to serve and publish. Safe to call from every replica, often.
 */
export async function reconcileCertSecret(api: CertSecretApi, o: CertSecretOptions): Promise<HeldCert> {
  const now = o.now ?? (() => new Date());
  const renewBeforeMs = o.renewBeforeMs ?? 30 * DAY;
  const graceMs = o.graceMs ?? 120_000;
  const make = () => selfSignedServingCert({ dnsNames: o.dnsNames, ipAddresses: o.ipAddresses ?? [], days: o.days, now: now() });
  for (let attempt = 1; attempt <= 10; attempt++) {
    const s = await api.get();
    if (!s) {
      const c = make();
      if (await api.create({ 'tls.crt': c.certPem, 'tls.key': c.keyPem, 'ca.crt': c.certPem })) return { cert: c, caBundle: c.certPem, renewing: false };
      continue;
    }
    const d = s.data;
    const current = d['tls.crt'] && d['tls.key'] ? { certPem: d['tls.crt'], keyPem: d['tls.key'] } : undefined;
    // Nothing usable (emptied or edited by hand): start again, as when it was absent.
    if (!current || (replaceReason(current, { dnsNames: o.dnsNames, ipAddresses: o.ipAddresses, renewBeforeMs: 0, now: now() }) && !d['next.crt'])) {
      const c = make();
      if (await api.replace({ 'tls.crt': c.certPem, 'tls.key': c.keyPem, 'ca.crt': c.certPem }, s.resourceVersion)) return { cert: c, caBundle: c.certPem, renewing: false };
      continue;
    }
    if (d['next.crt'] && d['next.key']) {
      const since = Date.parse(d['next.since'] ?? '');
      if (!(now().getTime() - since >= graceMs)) return { cert: current, caBundle: d['ca.crt'] ?? current.certPem, renewing: true };
      // Step 2: the new certificate is served; the bundle keeps the old one for late replicas.
      const next = { certPem: d['next.crt'], keyPem: d['next.key'] };
      const caBundle = bundle(next.certPem, current.certPem);
      const data = { 'tls.crt': next.certPem, 'tls.key': next.keyPem, 'ca.crt': caBundle, 'tls.since': now().toISOString() };
      if (await api.replace(data, s.resourceVersion)) return { cert: next, caBundle, renewing: false };
      continue;
    }
    // The next renewal drops the oldest certificate from the bundle: not before every replica has had
    // `graceMs` to switch to the one served since the last renewal (`tls.since`).
    const servedFor = now().getTime() - Date.parse(d['tls.since'] ?? '');
    const settled = !(servedFor < graceMs);
    if (settled && replaceReason(current, { dnsNames: o.dnsNames, ipAddresses: o.ipAddresses, renewBeforeMs, now: now() })) {
      // Step 1: the new certificate waits, the bundle names both.
      const n = make();
      const caBundle = bundle(current.certPem, n.certPem);
      const data = { 'tls.crt': current.certPem, 'tls.key': current.keyPem, 'ca.crt': caBundle, 'next.crt': n.certPem, 'next.key': n.keyPem, 'next.since': now().toISOString() };
      if (await api.replace(data, s.resourceVersion)) return { cert: current, caBundle, renewing: true };
      continue;
    }
    return { cert: current, caBundle: d['ca.crt'] ?? current.certPem, renewing: false };
  }
  throw new Error('webhook certificate Secret: 10 conflicting writes in a row');
}

/** PEM certificates, one after the other, each once. */
function bundle(...pems: string[]): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const p of pems) {
    const t = p.trim();
    if (!seen.has(t)) {
      seen.add(t);
      out.push(t);
    }
  }
  return `${out.join('\n')}\n`;
}
