// SCRAM-SHA-256 (RFC 5802, RFC 7677) as pure functions, plus the salted-password verifier we
// store for accounts. The same verifier checks SASL PLAIN passwords, so no plaintext is kept.
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';

/** What the store keeps per account: enough to run SCRAM and to check a PLAIN password. */
export interface ScramCredentials {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

const hmac = (key: Buffer, text: string | Buffer): Buffer => createHmac('sha256', key).update(text).digest();
const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();

/**
 * A small subset of SASLprep (RFC 4013): non-ASCII spaces become spaces, "mapped to nothing"
 * characters go, and the result is NFKC-normalized, so the same password typed on different
 * systems derives the same keys.
 */
export function saslPrep(text: string): string {
  return text
    .replace(/[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g, ' ')
    .replace(/[\u00AD\u034F\u1806\u180B-\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g, '')
    .normalize('NFKC');
}

/** SaltedPassword := Hi(Normalize(password), salt, i), computed off the event loop's thread. */
export function saltPassword(password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    pbkdf2(Buffer.from(saslPrep(password), 'utf8'), salt, iterations, 32, 'sha256', (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export function credentialsFromSalted(salted: Buffer, salt: Buffer, iterations: number): ScramCredentials {
  return {
    salt,
    iterations,
    storedKey: sha256(hmac(salted, 'Client Key')),
    serverKey: hmac(salted, 'Server Key'),
  };
}

/** Derives the stored verifier for a new password with a fresh random salt. */
export async function makeCredentials(password: string, iterations: number): Promise<ScramCredentials> {
  const salt = randomBytes(16);
  return credentialsFromSalted(await saltPassword(password, salt, iterations), salt, iterations);
}

/** Keys the decoys: random per process, so nobody can compute a name's decoy, and fixed while it runs. */
const DECOY_KEY = randomBytes(32);

/**
 * A verifier for an account that does not exist, so that SASL answers as it would for one that
 * does: the salt is derived from the (casefolded) name, the same on every attempt as a real
 * account's salt is, and the keys match no password.
 */
export function decoyCredentials(foldedName: string, iterations: number): ScramCredentials {
  const derive = (purpose: string) => hmac(DECOY_KEY, `${purpose}\0${foldedName}`);
  return { salt: derive('salt').subarray(0, 16), iterations, storedKey: derive('stored key'), serverKey: derive('server key') };
}

/** Checks a plaintext password (SASL PLAIN) against the stored verifier. */
export async function checkPassword(password: string, creds: ScramCredentials): Promise<boolean> {
  const salted = await saltPassword(password, creds.salt, creds.iterations);
  return timingSafeEqual(sha256(hmac(salted, 'Client Key')), creds.storedKey);
}

/** The parsed client-first-message. */
export interface ClientFirst {
  /** "n,," or "y,,", or with an authzid "n,a=name,"; echoed back base64-encoded in "c=". */
  gs2Header: string;
  authzid: string | undefined;
  username: string;
  nonce: string;
  /** client-first-message-bare, part of the AuthMessage. */
  bare: string;
}

/** saslname decoding: "=2C" is ",", "=3D" is "="; any other "=" is invalid. */
function decodeSaslName(raw: string): string | undefined {
  if (/=(?!2C|3D)/.test(raw)) return undefined;
  return raw.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

/** Printable ASCII except ",", as RFC 5802 requires for nonces. */
const NONCE_RE = /^[\x21-\x2B\x2D-\x7E]+$/;

/** Parses a client-first-message; undefined when malformed or when channel binding is demanded (we offer no -PLUS). */
export function parseClientFirst(text: string): ClientFirst | undefined {
  const m = /^([ny]),(a=[^,]*)?,(.*)$/.exec(text);
  if (!m) return undefined;
  const authzid = m[2] === undefined ? undefined : decodeSaslName(m[2].slice(2));
  if (m[2] !== undefined && authzid === undefined) return undefined;
  const bare = m[3]!;
  const attrs = bare.split(',');
  // A leading "m=" is a mandatory extension we do not know: the RFC says to fail.
  if (attrs.length < 2 || !attrs[0]!.startsWith('n=') || !attrs[1]!.startsWith('r=')) return undefined;
  const username = decodeSaslName(attrs[0]!.slice(2));
  const nonce = attrs[1]!.slice(2);
  if (!username || !NONCE_RE.test(nonce)) return undefined;
  return { gs2Header: `${m[1]},${m[2] ?? ''},`, authzid, username: saslPrep(username), nonce, bare };
}

export function serverFirst(nonce: string, creds: ScramCredentials): string {
  return `r=${nonce},s=${creds.salt.toString('base64')},i=${creds.iterations}`;
}

/** A fresh server nonce part (printable, no commas). */
export function newServerNonce(): string {
  return randomBytes(18).toString('base64');
}

export interface ClientFinal {
  channelBinding: string;
  nonce: string;
  proof: Buffer;
  /** client-final-message-without-proof, part of the AuthMessage. */
  withoutProof: string;
}

export function parseClientFinal(text: string): ClientFinal | undefined {
  const attrs = text.split(',');
  const c = attrs[0];
  const r = attrs[1];
  const p = attrs[attrs.length - 1];
  if (attrs.length < 3 || !c?.startsWith('c=') || !r?.startsWith('r=') || !p?.startsWith('p=')) return undefined;
  const proof = p.slice(2);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(proof)) return undefined;
  return {
    channelBinding: c.slice(2),
    nonce: r.slice(2),
    proof: Buffer.from(proof, 'base64'),
    withoutProof: text.slice(0, text.length - p.length - 1),
  };
}

export function authMessage(first: ClientFirst, serverFirstText: string, final: ClientFinal): string {
  return `${first.bare},${serverFirstText},${final.withoutProof}`;
}

/** ClientKey := ClientProof XOR HMAC(StoredKey, AuthMessage); valid when H(ClientKey) = StoredKey. */
export function verifyClientProof(creds: ScramCredentials, authMsg: string, proof: Buffer): boolean {
  const signature = hmac(creds.storedKey, authMsg);
  if (proof.length !== signature.length) return false;
  const clientKey = Buffer.alloc(signature.length);
  for (let i = 0; i < signature.length; i++) clientKey[i] = proof[i]! ^ signature[i]!;
  return timingSafeEqual(sha256(clientKey), creds.storedKey);
}

/** server-final-message: "v=" ServerSignature, which proves to the client that we know the verifier. */
export function serverFinal(creds: ScramCredentials, authMsg: string): string {
  return `v=${hmac(creds.serverKey, authMsg).toString('base64')}`;
}
