// The webhook certificate's Secret: made once for all replicas, renewed in two steps (the bundle names
// both certificates before the new one is served), and compare-and-swap between replicas.
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { reconcileCertSecret, type CertSecretApi, type CertSecretData } from './webhook-secret.ts';

const DAY = 86_400_000;

/** One Secret in memory, with a resourceVersion, and a hook run before each write (a rival replica). */
class MemorySecret implements CertSecretApi {
  data: CertSecretData | undefined;
  rv = 0;
  beforeWrite: (() => Promise<void>) | undefined;
  writes = 0;
  async get() {
    return this.data ? { data: { ...this.data }, resourceVersion: String(this.rv) } : undefined;
  }
  async create(data: CertSecretData) {
    await this.#rival();
    if (this.data) return false;
    this.data = { ...data };
    this.rv++;
    this.writes++;
    return true;
  }
  async replace(data: CertSecretData, resourceVersion: string) {
    await this.#rival();
    if (String(this.rv) !== resourceVersion) return false;
    this.data = { ...data };
    this.rv++;
    this.writes++;
    return true;
  }
  async #rival() {
    const f = this.beforeWrite;
    this.beforeWrite = undefined;
    await f?.();
  }
}

const pems = (bundle: string) => bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

describe('reconcileCertSecret', () => {
  const names = { dnsNames: ['netform-webhook.netform-system.svc'] };

  it('makes the certificate once: a second replica serves the same one', async () => {
    const api = new MemorySecret();
    const a = await reconcileCertSecret(api, names);
    const b = await reconcileCertSecret(api, names);
    expect(api.writes).toBe(1);
    expect(b.cert).toEqual(a.cert);
    expect(pems(a.caBundle).map(fingerprint)).toEqual([fingerprint(a.cert.certPem)]);
    expect(new X509Certificate(a.cert.certPem).checkHost('netform-webhook.netform-system.svc')).toBeDefined();
  });

  it('two replicas starting at once: the one that loses the create serves the winner\'s certificate', async () => {
    const api = new MemorySecret();
    let rival: Awaited<ReturnType<typeof reconcileCertSecret>> | undefined;
    api.beforeWrite = async () => {
      rival = await reconcileCertSecret(api, names);
    };
    const mine = await reconcileCertSecret(api, names);
    expect(rival).toBeDefined();
    expect(mine.cert).toEqual(rival!.cert);
    expect(api.writes).toBe(1);
  });

  it('renews in two steps: both in the bundle first, the new one served only after the grace time', async () => {
    const api = new MemorySecret();
    let t = Date.parse('2026-01-01T00:00:00Z');
    const o = { ...names, days: 40, renewBeforeMs: 30 * DAY, graceMs: 60_000, now: () => new Date(t) };
    const first = await reconcileCertSecret(api, o);
    expect(first.renewing).toBe(false);
    // 11 days on, 29 days are left: step 1.
    t += 11 * DAY;
    const step1 = await reconcileCertSecret(api, o);
    expect(step1.renewing).toBe(true);
    expect(step1.cert).toEqual(first.cert);
    const both = pems(step1.caBundle).map(fingerprint);
    expect(both).toHaveLength(2);
    expect(both[0]).toBe(fingerprint(first.cert.certPem));
    const next = api.data!['next.crt']!;
    expect(both[1]).toBe(fingerprint(next));
    // Another replica meanwhile: the same, nothing written.
    const writes = api.writes;
    t += 30_000;
    expect(await reconcileCertSecret(api, o)).toEqual(step1);
    expect(api.writes).toBe(writes);
    // After the grace time: step 2, the new one served, the old one still trusted.
    t += 30_000;
    const step2 = await reconcileCertSecret(api, o);
    expect(step2.renewing).toBe(false);
    expect(step2.cert.certPem).toBe(next);
    expect(pems(step2.caBundle).map(fingerprint).sort()).toEqual([fingerprint(first.cert.certPem), fingerprint(next)].sort());
    expect(api.data!['next.crt']).toBeUndefined();
    // And it stays so.
    t += 60_000;
    expect((await reconcileCertSecret(api, o)).cert.certPem).toBe(next);
  });

  it('does not start the next renewal (dropping the old certificate) until the grace time after the last one', async () => {
    const api = new MemorySecret();
    let t = Date.parse('2026-01-01T00:00:00Z');
    // Renewing always (renew-before longer than the validity): only the grace time paces it.
    const o = { ...names, days: 10, renewBeforeMs: 30 * DAY, graceMs: 60_000, now: () => new Date(t) };
    await reconcileCertSecret(api, o);
    const s1 = await reconcileCertSecret(api, o);
    expect(s1.renewing).toBe(true);
    t += 60_000;
    const s2 = await reconcileCertSecret(api, o);
    expect(s2.renewing).toBe(false);
    // Right after: the old certificate stays in the bundle, no new renewal yet.
    t += 59_000;
    const still = await reconcileCertSecret(api, o);
    expect(still).toEqual(s2);
    expect(pems(still.caBundle)).toHaveLength(2);
    t += 1_000;
    const s3 = await reconcileCertSecret(api, o);
    expect(s3.renewing).toBe(true);
    expect(s3.cert).toEqual(s2.cert);
    expect(pems(s3.caBundle).map(fingerprint)).toContain(fingerprint(s2.cert.certPem));
  });

  it('replaces at once a certificate that cannot serve (another name, or not a certificate)', async () => {
    const api = new MemorySecret();
    const first = await reconcileCertSecret(api, names);
    const other = await reconcileCertSecret(api, { dnsNames: ['webhook.elsewhere.svc'] });
    expect(other.cert).not.toEqual(first.cert);
    expect(other.renewing).toBe(false);
    expect(new X509Certificate(other.cert.certPem).checkHost('webhook.elsewhere.svc')).toBeDefined();
    api.data = { 'tls.crt': 'garbage', 'tls.key': 'garbage' };
    const again = await reconcileCertSecret(api, names);
    expect(new X509Certificate(again.cert.certPem).checkHost(names.dnsNames[0]!)).toBeDefined();
  });
});
