// The other side of Web Push, for tests: a user agent's key pair, the decryption a browser does
// (RFC 8291 section 3.4 with the user agent's private key), the VAPID check a push service does
// (RFC 8292 section 2), and a push service on loopback HTTPS that records what it is sent.
import { createDecipheriv, createECDH, createPublicKey, type ECDH, hkdfSync, randomBytes, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { makeSelfSignedCert } from './tls.js';

export interface UserAgent {
  ecdh: ECDH;
  auth: Buffer;
  /** The <keys> parameter of WEBPUSH REGISTER. */
  keys: string;
}

export function userAgent(): UserAgent {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16);
  return { ecdh, auth, keys: `p256dh=${ecdh.getPublicKey().toString('base64url')};auth=${auth.toString('base64url')}` };
}

/** Opens an aes128gcm push message with the user agent's private key; throws when it does not authenticate. */
export function decryptPush(body: Buffer, ecdh: ECDH, auth: Buffer): Buffer {
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body[20]!;
  const senderPublic = body.subarray(21, 21 + idLength);
  const sealed = body.subarray(21 + idLength);
  if (sealed.length > recordSize) throw new Error('more than one record');
  const shared = ecdh.computeSecret(senderPublic);
  const info = Buffer.concat([Buffer.from('WebPush: info\0'), ecdh.getPublicKey(), senderPublic]);
  const ikm = Buffer.from(hkdfSync('sha256', shared, auth, info, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, 'Content-Encoding: aes128gcm\0', 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, 'Content-Encoding: nonce\0', 12));
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  const plain = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
  let end = plain.length;
  while (end > 0 && plain[end - 1] === 0) end--;
  if (plain[end - 1] !== 2) throw new Error('no last-record delimiter');
  return plain.subarray(0, end - 1);
}

/** Checks an Authorization header as a push service would: the JWT's ES256 signature with key `k`, and its claims. */
export function checkVapid(header: string, audience: string, now = Date.now()): { key: string; sub: string; exp: number } {
  const m = /^vapid t=([\w-]+)\.([\w-]+)\.([\w-]+), k=([\w-]+)$/.exec(header);
  if (!m) throw new Error(`not a vapid Authorization header: ${header}`);
  const [, head, claims, signature, key] = m as unknown as [string, string, string, string, string];
  const point = Buffer.from(key, 'base64url');
  const publicKey = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') },
    format: 'jwk',
  });
  if (!verify('sha256', Buffer.from(`${head}.${claims}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url')))
    throw new Error('the VAPID signature does not verify');
  const header0 = JSON.parse(Buffer.from(head, 'base64url').toString());
  if (header0.alg !== 'ES256') throw new Error(`alg ${header0.alg}`);
  const payload = JSON.parse(Buffer.from(claims, 'base64url').toString());
  if (payload.aud !== audience) throw new Error(`aud ${payload.aud}, expected ${audience}`);
  if (!(payload.exp > now / 1000 && payload.exp <= now / 1000 + 86400)) throw new Error(`exp ${payload.exp} is not within 24 hours`);
  return { key, sub: payload.sub, exp: payload.exp };
}

export interface ReceivedPush {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * A push service on 127.0.0.1 over HTTPS (its own self-signed certificate); answers each POST with
 * `status(path)`, or never when that is 0 (a service that hangs).
 */
export class PushReceiver {
  readonly received: ReceivedPush[] = [];
  private waiters: Array<() => void> = [];
  status: (path: string) => number = () => 201;

  private constructor(
    private readonly server: HttpsServer,
    /** The PEM of its certificate, for [webpush] ca. */
    readonly caFile: string,
  ) {}

  static async start(): Promise<PushReceiver> {
    const cert = makeSelfSignedCert('127.0.0.1', undefined, 'IP:127.0.0.1,DNS:localhost');
    let receiver: PushReceiver | undefined;
    const server = createServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '';
        receiver!.received.push({ path, headers: req.headers, body: Buffer.concat(chunks) });
        const status = receiver!.status(path);
        if (status !== 0) res.writeHead(status).end();
        for (const wake of receiver!.waiters.splice(0)) wake();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    receiver = new PushReceiver(server, cert.cert);
    return receiver;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  endpoint(path: string): string {
    return `https://127.0.0.1:${this.port}${path}`;
  }

  /** Waits until `count` pushes in all have arrived (the test's timeout bounds it). */
  async waitFor(count: number): Promise<ReceivedPush[]> {
    while (this.received.length < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.received;
  }

  close(): void {
    this.server.close();
    this.server.closeAllConnections();
  }
}
