// The cryptography of Web Push, on node:crypto alone: message encryption (RFC 8291,
// https://www.rfc-editor.org/rfc/rfc8291, in the aes128gcm content coding of RFC 8188) and the
// VAPID authorization header (RFC 8292, https://www.rfc-editor.org/rfc/rfc8292: an ES256 JWT).
import { createCipheriv, createECDH, createPrivateKey, createPublicKey, hkdfSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { parseTags } from '../../protocol/message.js';

/** The one record's size (RFC 8188 "rs"); RFC 8291 section 4 caps a push message at 4096 bytes. */
export const RECORD_SIZE = 4096;
/** Salt (16), rs (4), idlen (1) and the sender's public key (65): RFC 8291 section 4. */
const HEADER_LENGTH = 86;
/** The longest payload one record holds: the record less its padding delimiter and the GCM tag. */
export const MAX_PAYLOAD = RECORD_SIZE - HEADER_LENGTH - 1 - 16;

/** A subscription's keys: the user agent's P-256 public key (65 bytes) and its 16-byte auth secret. */
export interface SubscriptionKeys {
  p256dh: Buffer;
  auth: Buffer;
}

/**
 * Encrypts one push message for a subscription (RFC 8291 section 3.4): an ephemeral ECDH key
 * pair and salt per message, unless `fixed` gives them (the RFC's test vector).
 */
export function encryptPayload(payload: Buffer, keys: SubscriptionKeys, fixed?: { salt: Buffer; senderPrivateKey: Buffer }): Buffer {
  if (payload.length > MAX_PAYLOAD) throw new Error(`a push payload holds at most ${MAX_PAYLOAD} bytes`);
  const ecdh = createECDH('prime256v1');
  if (fixed) ecdh.setPrivateKey(fixed.senderPrivateKey);
  else ecdh.generateKeys();
  const senderPublic = ecdh.getPublicKey();
  const shared = ecdh.computeSecret(keys.p256dh);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), keys.p256dh, senderPublic]);
  const ikm = Buffer.from(hkdfSync('sha256', shared, keys.auth, keyInfo, 32));
  const salt = fixed?.salt ?? randomBytes(16);
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, 'Content-Encoding: aes128gcm\0', 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, 'Content-Encoding: nonce\0', 12));
  const header = Buffer.alloc(21);
  salt.copy(header, 0);
  header.writeUInt32BE(RECORD_SIZE, 16);
  header[20] = senderPublic.length;
  const cipher = createCipheriv('aes-128-gcm', cek, nonce);
  // The last (and only) record ends with the delimiter 0x02 and no padding (RFC 8188 section 2).
  const sealed = Buffer.concat([cipher.update(payload), cipher.update(Buffer.from([2])), cipher.final(), cipher.getAuthTag()]);
  return Buffer.concat([header, senderPublic, sealed]);
}

/** A P-256 public key (65 bytes, uncompressed) as a KeyObject; throws when it is not a point of the curve. */
function publicKeyObject(point: Buffer): KeyObject {
  if (point.length !== 65 || point[0] !== 4) throw new Error('not an uncompressed P-256 point');
  const x = point.subarray(1, 33).toString('base64url');
  const y = point.subarray(33).toString('base64url');
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x, y }, format: 'jwk' });
}

/**
 * The `<keys>` of WEBPUSH REGISTER: message-tag syntax, values in URL-safe base64 (`p256dh`, a
 * P-256 public key; `auth`, 16 bytes), or why they are not usable.
 */
export function decodeSubscriptionKeys(text: string): SubscriptionKeys | string {
  const tags = parseTags(text, 8);
  const base64url = /^[A-Za-z0-9_-]+={0,2}$/;
  if (!tags.p256dh || !base64url.test(tags.p256dh)) return 'p256dh (URL-safe base64) is missing';
  if (!tags.auth || !base64url.test(tags.auth)) return 'auth (URL-safe base64) is missing';
  const p256dh = Buffer.from(tags.p256dh, 'base64url');
  const auth = Buffer.from(tags.auth, 'base64url');
  try {
    publicKeyObject(p256dh);
  } catch {
    return 'p256dh is not a P-256 public key';
  }
  if (auth.length !== 16) return 'auth must be 16 bytes';
  return { p256dh, auth };
}

/** How long a VAPID token is good for (RFC 8292 section 2: at most 24 hours). */
const TOKEN_SECONDS = 12 * 3600;

/** The server's VAPID identity: its key pair, for the Authorization header of every push. */
export class Vapid {
  private readonly signingKey: KeyObject;
  /** The public key as the VAPID ISUPPORT token and the `k` parameter give it. */
  readonly publicKeyText: string;

  constructor(keys: { privateKey: Buffer; publicKey: Buffer }) {
    const jwk = publicKeyObject(keys.publicKey).export({ format: 'jwk' });
    this.signingKey = createPrivateKey({ key: { ...jwk, d: keys.privateKey.toString('base64url') }, format: 'jwk' });
    this.publicKeyText = keys.publicKey.toString('base64url');
  }

  /**
   * The Authorization header value for a request to `endpoint` (RFC 8292 section 3), naming
   * `subject` (a mailto: or https: URI) as the contact push services may use.
   */
  authorization(endpoint: URL, subject: string, now: number): string {
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const claims = { aud: endpoint.origin, exp: Math.floor(now / 1000) + TOKEN_SECONDS, sub: subject };
    const unsigned = `${encode({ typ: 'JWT', alg: 'ES256' })}.${encode(claims)}`;
    const signature = sign('sha256', Buffer.from(unsigned), { key: this.signingKey, dsaEncoding: 'ieee-p1363' });
    return `vapid t=${unsigned}.${signature.toString('base64url')}, k=${this.publicKeyText}`;
  }
}
