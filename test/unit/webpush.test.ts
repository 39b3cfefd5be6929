// Web Push pieces without a network: RFC 8291 encryption (the RFC's own test vector, and a round
// trip opened with the subscriber's private key), the RFC 8292 VAPID token, the keys parameter,
// endpoint and address checks, highlight matching, the bounded queue and the store.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSubscriptionKeys, encryptPayload, MAX_PAYLOAD, Vapid } from '../../src/modules/webpush/crypto.js';
import { PushQueue } from '../../src/modules/webpush/deliver.js';
import { endpointProblem, forbiddenRange } from '../../src/modules/webpush/endpoint.js';
import { mentions } from '../../src/modules/webpush/highlight.js';
import { asciiFold, rfc1459Fold, utf8Fold } from '../../src/protocol/casemap.js';
import { parseCidr } from '../../src/protocol/mask.js';
import { AccountStore } from '../../src/store/accounts.js';
import { openStore } from '../../src/store/db.js';
import { WebPushStore } from '../../src/store/webpush.js';
import { checkVapid, decryptPush, userAgent } from '../support/webpush.js';

const b64 = (s: string) => Buffer.from(s, 'base64url');

/** RFC 8291 Appendix A. */
const RFC8291 = {
  plaintext: 'When I grow up, I want to be a watermelon',
  senderPrivateKey: 'yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw',
  uaPublic: 'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4',
  uaPrivate: 'q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94',
  salt: 'DGv6ra1nlYgDCS1FRnbzlw',
  auth: 'BTBZMqHH6r4Tts7J_aSIgg',
  body:
    'DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_' +
    'yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN',
};

describe('RFC 8291 encryption', () => {
  it("reproduces Appendix A's message byte for byte from its keys and salt", () => {
    const body = encryptPayload(
      Buffer.from(RFC8291.plaintext),
      { p256dh: b64(RFC8291.uaPublic), auth: b64(RFC8291.auth) },
      { salt: b64(RFC8291.salt), senderPrivateKey: b64(RFC8291.senderPrivateKey) },
    );
    expect(body.toString('base64url')).toBe(RFC8291.body);
  });

  it('makes messages the subscriber opens with its private key, and no one else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: MAX_PAYLOAD }), (bytes) => {
        const ua = userAgent();
        const payload = Buffer.from(bytes);
        const body = encryptPayload(payload, { p256dh: ua.ecdh.getPublicKey(), auth: ua.auth });
        expect(body.length).toBeLessThanOrEqual(4096);
        expect(decryptPush(body, ua.ecdh, ua.auth)).toEqual(payload);
        const other = userAgent();
        expect(() => decryptPush(body, other.ecdh, ua.auth)).toThrow();
        expect(() => decryptPush(body, ua.ecdh, other.auth)).toThrow();
      }),
      { numRuns: 50 },
    );
  });

  it('refuses a payload one record cannot hold', () => {
    const ua = userAgent();
    expect(() => encryptPayload(Buffer.alloc(MAX_PAYLOAD + 1), { p256dh: ua.ecdh.getPublicKey(), auth: ua.auth })).toThrow(/at most 3993 bytes/);
  });
});

describe('VAPID (RFC 8292)', () => {
  it('signs an ES256 JWT for the endpoint origin that verifies with the announced key', () => {
    const ua = userAgent(); // any P-256 key pair will do as the server's
    const keys = { privateKey: ua.ecdh.getPrivateKey(), publicKey: ua.ecdh.getPublicKey() };
    const vapid = new Vapid(keys);
    const now = Date.now();
    const header = vapid.authorization(new URL('https://push.example:8443/send/abc?x=1'), 'mailto:ops@example.net', now);
    const checked = checkVapid(header, 'https://push.example:8443', now);
    expect(checked.key).toBe(keys.publicKey.toString('base64url'));
    expect(vapid.publicKeyText).toBe(checked.key);
    expect(checked.sub).toBe('mailto:ops@example.net');
    expect(checked.exp).toBe(Math.floor(now / 1000) + 12 * 3600);
    // Another key does not verify it.
    const forged = header.replace(/k=[\w-]+$/, `k=${userAgent().ecdh.getPublicKey().toString('base64url')}`);
    expect(() => checkVapid(forged, 'https://push.example:8443', now)).toThrow(/does not verify/);
  });
});

describe('WEBPUSH REGISTER keys', () => {
  it('decodes p256dh and auth in message-tag syntax, and says what is wrong otherwise', () => {
    const ua = userAgent();
    const keys = decodeSubscriptionKeys(ua.keys);
    expect(keys).toEqual({ p256dh: ua.ecdh.getPublicKey(), auth: ua.auth });
    expect(decodeSubscriptionKeys(`auth=${ua.auth.toString('base64url')}`)).toBe('p256dh (URL-safe base64) is missing');
    expect(decodeSubscriptionKeys(`p256dh=${ua.ecdh.getPublicKey().toString('base64url')}`)).toBe('auth (URL-safe base64) is missing');
    expect(decodeSubscriptionKeys(`p256dh=${Buffer.alloc(65, 4).toString('base64url')};auth=${ua.auth.toString('base64url')}`)).toBe(
      'p256dh is not a P-256 public key',
    );
    expect(decodeSubscriptionKeys(`p256dh=${ua.ecdh.getPublicKey().toString('base64url')};auth=AAAA`)).toBe('auth must be 16 bytes');
    expect(decodeSubscriptionKeys('p256dh=!!;auth=??')).toBe('p256dh (URL-safe base64) is missing');
  });
});

describe('push endpoints', () => {
  it('must be https URLs without credentials', () => {
    expect(endpointProblem('https://push.example/abc')).toBeUndefined();
    expect(endpointProblem('http://push.example/abc')).toBe('the endpoint must be an https URL');
    expect(endpointProblem('file:///etc/passwd')).toBe('the endpoint must be an https URL');
    expect(endpointProblem('not a url')).toBe('the endpoint is not a URL');
    expect(endpointProblem('https://user:pw@push.example/')).toBe('the endpoint must not carry credentials');
    expect(endpointProblem(`https://push.example/${'a'.repeat(1100)}`)).toMatch(/longer than 1024/);
  });

  it('may not resolve to loopback, private, link-local, unspecified or reserved addresses unless allowed', () => {
    const cases: Array<[string, string | undefined]> = [
      ['127.0.0.1', 'loopback'],
      ['::1', 'loopback'],
      ['::ffff:127.0.0.2', 'loopback'],
      ['::ffff:7f00:1', 'loopback'],
      ['10.1.2.3', 'private'],
      ['172.20.0.1', 'private'],
      ['192.168.1.1', 'private'],
      ['100.64.0.1', 'private'],
      ['fd00::1', 'private'],
      ['169.254.169.254', 'link-local'],
      ['fe80::1', 'link-local'],
      ['0.0.0.0', 'unspecified'],
      ['::', 'unspecified'],
      ['224.0.0.1', 'multicast'],
      ['255.255.255.255', 'reserved'],
      ['64:ff9b::a00:1', 'reserved'],
      ['8.8.8.8', undefined],
      ['2606:4700:4700::1111', undefined],
    ];
    for (const [ip, kind] of cases) expect([ip, forbiddenRange(ip, [])]).toEqual([ip, kind]);
    const allowed = [parseCidr('127.0.0.1/32')!, parseCidr('fd00::/8')!];
    expect(forbiddenRange('127.0.0.1', allowed)).toBeUndefined();
    expect(forbiddenRange('127.0.0.2', allowed)).toBe('loopback');
    expect(forbiddenRange('fd12::1', allowed)).toBeUndefined();
  });
});

describe('highlights', () => {
  it('match the nick as a word, in any case of the casemapping', () => {
    for (const text of ['bob: hi', 'hi @bob!', 'BOB?', 'so, Bob.', 'bob']) expect([text, mentions(text, 'bob', rfc1459Fold)]).toEqual([text, true]);
    for (const text of ['bobby', 'hi kbob', 'bob_', 'bob-2', 'no one']) expect([text, mentions(text, 'bob', rfc1459Fold)]).toEqual([text, false]);
    expect(mentions('ping b{b}', 'b[b]', rfc1459Fold)).toBe(true);
    expect(mentions('ping b{b}', 'b[b]', asciiFold)).toBe(false);
    expect(mentions('salut JOSÉ !', 'José', utf8Fold)).toBe(true);
    expect(mentions('bobby bob', 'bob', rfc1459Fold)).toBe(true); // a later occurrence counts
  });
});

describe('PushQueue', () => {
  /** A job that finishes when the test says so. */
  function gate() {
    let open!: () => void;
    const done = new Promise<void>((resolve) => (open = resolve));
    return { open, job: () => done };
  }

  it('runs at most `concurrency` jobs, holds at most `capacity`, and refuses (and counts) the rest', async () => {
    const queue = new PushQueue(() => ({ concurrency: 2, capacity: 3 }));
    const gates = Array.from({ length: 6 }, gate);
    const started: number[] = [];
    const accepted = gates.map((g, i) =>
      queue.add(() => {
        started.push(i);
        return g.job();
      }),
    );
    expect(accepted).toEqual([true, true, true, true, true, false]);
    expect(queue.dropped).toBe(1);
    expect(started).toEqual([0, 1]);
    gates[0]!.open();
    await gates[0]!.job();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    queue.clear();
    for (const g of gates) g.open();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
  });
});

describe('WebPushStore', () => {
  function stores() {
    const db = openStore(':memory:');
    const accounts = new AccountStore(db, asciiFold);
    const credentials = { salt: Buffer.alloc(16), iterations: 4096, storedKey: Buffer.alloc(32), serverKey: Buffer.alloc(32) };
    accounts.create('alice', credentials, undefined);
    return { db, accounts, push: new WebPushStore(db) };
  }
  const sub = (n: number) => ({ endpoint: `https://push.example/${n}`, p256dh: Buffer.alloc(65, n), auth: Buffer.alloc(16, n) });

  it('makes the VAPID key pair once and keeps it', () => {
    const { db, push } = stores();
    const keys = push.vapidKeys();
    expect(keys.privateKey.length).toBe(32);
    expect(keys.publicKey.length).toBe(65);
    expect(new WebPushStore(db).vapidKeys()).toEqual(keys);
  });

  it('bounds subscriptions per account, renews known endpoints, expires and drops them with the account', () => {
    const { accounts, push } = stores();
    expect(push.subscribe('alice', sub(1), 2, 1000)).toBe('added');
    expect(push.subscribe('alice', sub(2), 2, 1000)).toBe('added');
    expect(push.subscribe('alice', sub(3), 2, 1000)).toBe('full');
    expect(push.subscribe('alice', { ...sub(1), auth: Buffer.alloc(16, 9) }, 2, 5000)).toBe('refreshed');
    expect(push.subscriptionsOf('alice', 2000)).toEqual([{ ...sub(1), auth: Buffer.alloc(16, 9) }]);
    expect(push.expire(2000)).toBe(1);
    expect(push.has('alice', sub(2).endpoint)).toBe(false);
    expect(push.unsubscribe('alice', sub(1).endpoint)).toBe(true);
    expect(push.unsubscribe('alice', sub(1).endpoint)).toBe(false);
    push.subscribe('alice', sub(4), 2, 1000);
    accounts.drop('alice');
    expect(push.subscriptionsOf('alice', 0)).toEqual([]);
  });
});
