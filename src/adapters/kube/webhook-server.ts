// The webhook HTTPS server (issue 16): POST /validate takes an AdmissionReview and answers with the
// decision of `validate` (admission-review.ts); POST /convert takes a ConversionReview and answers with
// `convert`'s (conversion-review.ts); GET /healthz answers ok. The certificate can be
// replaced while it serves (`setCertificate`): connections made after use the new one, those open keep
// theirs, so a rotation fails no admission.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { AdmissionReview, AdmissionReviewAnswer } from './admission-review.ts';
import { convertReview, type ConversionReview, type ConversionReviewAnswer } from './conversion-review.ts';
import type { ServingCert } from './webhook-cert.ts';

/** The apiserver sends at most a few MB (an object is limited to 1.5 MiB by etcd; twice, for updates). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface WebhookServer {
  readonly port: number;
  /** Serves new connections with `cert` from now on. */
  setCertificate(cert: ServingCert): void;
  close(): Promise<void>;
}

export async function startWebhookServer(o: {
  host: string;
  port: number;
  cert: ServingCert;
  /** Admission; without it, /validate is not served. */
  validate?: (review: AdmissionReview) => AdmissionReviewAnswer | Promise<AdmissionReviewAnswer>;
  /** Conversion between API versions (default: convertReview). */
  convert?: (review: ConversionReview) => ConversionReviewAnswer;
  log: Logger;
  /** Closes a connection after this many requests (Node's maxRequestsPerSocket; default: no limit).
   *  1: every admission is a new TLS handshake, against the certificate served then (a test of
   *  renewals sets it, since a kept-alive connection never sees a renewal). */
  maxRequestsPerSocket?: number;
  /** Does not keep the process alive (a test harness's server). */
  unref?: boolean;
}): Promise<WebhookServer> {
  const server: Server = createServer({ cert: o.cert.certPem, key: o.cert.keyPem, minVersion: 'TLSv1.2' }, (req, res) => {
    const reply = (status: number, body: unknown) => {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json' });
      res.end(text);
    };
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') return reply(200, 'ok');
    const validate = o.validate;
    if (!(path === '/validate' && validate) && path !== '/convert') return reply(404, 'not found');
    if (req.method !== 'POST') return reply(405, `POST a ${path === '/convert' ? 'ConversionReview' : 'AdmissionReview'}`);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reply(413, `an AdmissionReview of at most ${MAX_BODY_BYTES} bytes`);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return reply(400, 'the body is not JSON');
      }
      if (path === '/convert') {
        const review = body as ConversionReview;
        if (!review || typeof review !== 'object' || review.kind !== 'ConversionReview') return reply(400, 'a ConversionReview was expected');
        try {
          const answer = (o.convert ?? convertReview)(review);
          if (answer.response.result.status !== 'Success') o.log.warn({ uid: answer.response.uid, reason: answer.response.result.message }, 'conversion refused');
          return reply(200, answer);
        } catch (err) {
          o.log.error({ err: (err as Error).message }, 'conversion webhook failed');
          return reply(500, 'the conversion failed');
        }
      }
      const review = body as AdmissionReview;
      if (!review || typeof review !== 'object' || review.kind !== 'AdmissionReview') return reply(400, 'an AdmissionReview was expected');
      Promise.resolve()
        .then(() => validate!(review))
        .then(
          (answer) => {
            if (!answer.response.allowed) o.log.info({ uid: answer.response.uid, object: `${review.request?.kind?.kind ?? '?'}/${review.request?.namespace ? `${review.request.namespace}/` : ''}${review.request?.name ?? review.request?.object?.metadata?.name ?? '?'}`, reason: answer.response.status?.message }, 'admission refused');
            reply(200, answer);
          },
          (err: unknown) => {
            o.log.error({ err: (err as Error).message }, 'admission webhook failed');
            reply(500, 'the admission check failed');
          },
        );
    });
  });
  if (o.maxRequestsPerSocket !== undefined) server.maxRequestsPerSocket = o.maxRequestsPerSocket;
  if (o.unref) server.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    setCertificate(cert) {
      server.setSecureContext({ cert: cert.certPem, key: cert.keyPem, minVersion: 'TLSv1.2' });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
