import { Agent, request } from 'node:https';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { AdmissionReview, AdmissionReviewAnswer } from './admission-review.ts';
import { replaceReason, selfSignedServingCert, type ServingCert } from './webhook-cert.ts';
import { startWebhookServer, type WebhookServer } from './webhook-server.ts';

const servers: WebhookServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

const names = { dnsNames: ['netform-webhook.netform-system.svc'], ipAddresses: ['127.0.0.1'] };

/** POSTs `body` over TLS that verifies the server against `ca` only. */
function post(port: number, ca: string, body: string, o: { agent?: Agent; method?: string; path?: string } = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: o.path ?? '/validate', method: o.method ?? 'POST', ca, agent: o.agent ?? false, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const review = (uid: string): AdmissionReview => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid, operation: 'CREATE', object: { kind: 'Network', metadata: { name: 'n' } } } });

async function serve(cert: ServingCert, validate = (r: AdmissionReview): AdmissionReviewAnswer => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: r.request!.uid, allowed: r.request!.uid !== 'no', ...(r.request!.uid === 'no' ? { status: { code: 422, reason: 'Invalid' as const, message: 'spec.vlan.id: taken' } } : {}) } })) {
  const s = await startWebhookServer({ host: '127.0.0.1', port: 0, cert, validate, log: pino({ level: 'silent' }) });
  servers.push(s);
  return s;
}

describe('webhook certificate', () => {
  it('is for the names and addresses asked, verifiable against itself, and judged for replacement', () => {
    const now = new Date('2026-12-05T12:00:00Z');
    const c = selfSignedServingCert({ ...names, days: 30, now });
    expect(replaceReason(c, { ...names, renewBeforeMs: 7 * 86_400_000, now })).toBeUndefined();
    expect(replaceReason(c, { ...names, renewBeforeMs: 7 * 86_400_000, now: new Date('2026-12-30T12:00:00Z') })).toMatch(/expires at 2027-01-04/);
    expect(replaceReason(c, { dnsNames: ['other.netform-system.svc'], renewBeforeMs: 0, now })).toBe('it does not name other.netform-system.svc');
    expect(replaceReason(c, { dnsNames: [], ipAddresses: ['10.0.0.1'], renewBeforeMs: 0, now })).toBe('it does not name 10.0.0.1');
    expect(replaceReason({ certPem: 'nonsense', keyPem: '' }, { ...names, renewBeforeMs: 0 })).toBe('the certificate does not parse');
    expect(() => selfSignedServingCert({ dnsNames: ['bad name; rm -rf'] })).toThrow(/not a DNS name/);
    expect(() => selfSignedServingCert({ dnsNames: [], ipAddresses: ['300.1.1.1'] })).toThrow(/not an IP address/);
  });
});

describe('webhook server', () => {
  it('answers an AdmissionReview over TLS verified against its certificate; refuses what is not one', async () => {
    const cert = selfSignedServingCert(names);
    const s = await serve(cert);
    const ok = await post(s.port, cert.certPem, JSON.stringify(review('u-1')));
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text)).toEqual({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u-1', allowed: true } });
    const no = JSON.parse((await post(s.port, cert.certPem, JSON.stringify(review('no')))).text) as AdmissionReviewAnswer;
    expect(no.response).toMatchObject({ uid: 'no', allowed: false, status: { code: 422, message: 'spec.vlan.id: taken' } });
    expect((await post(s.port, cert.certPem, '{not json')).status).toBe(400);
    expect((await post(s.port, cert.certPem, '{"kind":"Pod"}')).status).toBe(400);
    expect((await post(s.port, cert.certPem, '', { method: 'GET' })).status).toBe(405);
    expect(await post(s.port, cert.certPem, '', { method: 'GET', path: '/healthz' })).toEqual({ status: 200, text: 'ok' });
    // Another CA does not verify it: TLS is checked, not skipped.
    await expect(post(s.port, selfSignedServingCert(names).certPem, JSON.stringify(review('u-2')))).rejects.toThrow();
  });

  it('a failing check is a 500 (the apiserver then applies the failure policy), not an answer', async () => {
    const cert = selfSignedServingCert(names);
    const s = await serve(cert, () => {
      throw new Error('informers not synced');
    });
    expect((await post(s.port, cert.certPem, JSON.stringify(review('u-1')))).status).toBe(500);
  });

  it('a new certificate serves new connections; a connection opened before keeps working', async () => {
    const first = selfSignedServingCert(names);
    const s = await serve(first);
    const keep = new Agent({ keepAlive: true, maxSockets: 1, ca: first.certPem });
    try {
      expect((await post(s.port, first.certPem, JSON.stringify(review('a')), { agent: keep })).status).toBe(200);
      const second = selfSignedServingCert(names);
      s.setCertificate(second);
      expect((await post(s.port, second.certPem, JSON.stringify(review('b')))).status).toBe(200);
      await expect(post(s.port, first.certPem, JSON.stringify(review('c')))).rejects.toThrow();
      // The kept-alive connection made with the first certificate is not broken by the rotation.
      expect((await post(s.port, first.certPem, JSON.stringify(review('d')), { agent: keep })).status).toBe(200);
    } finally {
      keep.destroy();
    }
  });
});

describe('webhook server: conversion (/convert)', () => {
  it('answers a ConversionReview with every object in the desired version, in order, metadata and status untouched', async () => {
    const cert = selfSignedServingCert(names);
    const s = await serve(cert);
    const host = { apiVersion: 'netform.io/v1alpha1', kind: 'Host', metadata: { name: 'hv1', uid: 'u', resourceVersion: '7', labels: { a: 'b' } }, spec: { cluster: 'prod', approval: 'Manual', nics: [{ name: 'eth0' }] }, status: { observedGeneration: 3 } };
    const vnic = { apiVersion: 'netform.io/v1beta1', kind: 'VnicAttachment', metadata: { name: 'v', namespace: 'a' }, spec: { vm: { name: 'vm' }, interfaceName: 'nic1', networkRef: { name: 'web' }, hostRef: { name: 'hv1' }, lifecycle: { deletionPolicy: 'Orphan' } } };
    const body = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'ConversionReview', request: { uid: 'c-1', desiredAPIVersion: 'netform.io/v1beta1', objects: [host, vnic] } };
    const r = await post(s.port, cert.certPem, JSON.stringify(body), { path: '/convert' });
    expect(r.status).toBe(200);
    const answer = JSON.parse(r.text);
    expect(answer).toMatchObject({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'ConversionReview', response: { uid: 'c-1', result: { status: 'Success' } } });
    const [h, v] = answer.response.convertedObjects;
    expect(h).toEqual({ ...host, apiVersion: 'netform.io/v1beta1', spec: { clusterRef: { name: 'prod' }, lifecycle: { approval: 'Manual' }, nics: [{ name: 'eth0' }] } });
    expect(v).toEqual(vnic); // already in the desired version
    // And back.
    const back = JSON.parse((await post(s.port, cert.certPem, JSON.stringify({ ...body, request: { uid: 'c-2', desiredAPIVersion: 'netform.io/v1alpha1', objects: [h, v] } }), { path: '/convert' })).text);
    expect(back.response.convertedObjects[0]).toEqual(host);
    expect(back.response.convertedObjects[1].spec).toEqual({ vm: { name: 'vm' }, interfaceName: 'nic1', network: 'web', host: 'hv1', deletionPolicy: 'Orphan' });
  });

  it('refuses an unknown version or a foreign object with a Failure result, and what is not a ConversionReview with 400', async () => {
    const cert = selfSignedServingCert(names);
    const s = await serve(cert);
    const ask = async (request: unknown) => JSON.parse((await post(s.port, cert.certPem, JSON.stringify({ kind: 'ConversionReview', request }), { path: '/convert' })).text);
    expect((await ask({ uid: 'x', desiredAPIVersion: 'netform.io/v2', objects: [] })).response).toEqual({ uid: 'x', convertedObjects: [], result: { status: 'Failure', message: 'netform.io/v2 is not a version of netform.io' } });
    expect((await ask({ uid: 'y', desiredAPIVersion: 'netform.io/v1beta1', objects: [{ apiVersion: 'v1', kind: 'Pod' }] })).response.result).toEqual({ status: 'Failure', message: 'object 0: v1 Pod is not a netform object' });
    expect((await post(s.port, cert.certPem, JSON.stringify(review('u')), { path: '/convert' })).status).toBe(400);
    expect((await post(s.port, cert.certPem, '{}', { path: '/convert', method: 'GET' })).status).toBe(405);
  });

  it('serves /convert without /validate when it is given no admission', async () => {
    const cert = selfSignedServingCert(names);
    const s = await startWebhookServer({ host: '127.0.0.1', port: 0, cert, log: pino({ level: 'silent' }) });
    servers.push(s);
    expect((await post(s.port, cert.certPem, JSON.stringify(review('u')))).status).toBe(404);
    const r = await post(s.port, cert.certPem, JSON.stringify({ kind: 'ConversionReview', request: { uid: 'z', desiredAPIVersion: 'netform.io/v1alpha1', objects: [] } }), { path: '/convert' });
    expect(JSON.parse(r.text).response).toEqual({ uid: 'z', convertedObjects: [], result: { status: 'Success' } });
  });
});
