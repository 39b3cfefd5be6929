// draft/webpush over sockets, against a push service on loopback HTTPS that opens what it gets
// with the subscriber's private key and checks the VAPID signature: registration and its
// refusals, the test push, delivery of direct messages and highlights to a logged-in user with no
// session, removal on 410, expiry, limits, timeouts, and the SSRF checks.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { User } from '../../src/server/user.js';
import { parseMessage } from '../../src/protocol/message.js';
import { type RawConfig, sleep, TestClient } from '../support/harness.js';
import { useSession } from '../support/session.js';
import { checkVapid, decryptPush, PushReceiver, type ReceivedPush, type UserAgent, userAgent } from '../support/webpush.js';

const s = useSession();
let receiver: PushReceiver;
afterEach(() => receiver?.close());

async function start(webpush: RawConfig = {}, extra: RawConfig = {}) {
  receiver = await PushReceiver.start();
  return s.start({ webpush: { enabled: true, allow_destinations: ['127.0.0.1/32'], ca: receiver.caFile, timeout: 5, ...webpush }, ...extra });
}

/** A client logged in to a new account named after its nick. */
async function account(nick: string): Promise<TestClient> {
  const c = await s.connect(nick, { caps: ['draft/account-registration', 'standard-replies'] });
  c.send('REGISTER * * hunter2hunter2');
  await c.waitFor('900');
  return c;
}

async function ask(c: TestClient, line: string): Promise<string[][]> {
  c.send(line);
  return (await c.collectUntilPong()).map((m) => [m.command, ...m.params]);
}

/** What a push carried, opened as the device would, after checking its headers and VAPID token. */
function open(push: ReceivedPush, ua: UserAgent, vapidKey: string): string {
  expect(push.headers['content-encoding']).toBe('aes128gcm');
  expect(push.headers['ttl']).toBe('86400');
  const vapid = checkVapid(String(push.headers['authorization']), `https://127.0.0.1:${receiver.port}`);
  expect(vapid.key).toBe(vapidKey);
  expect(vapid.sub).toBe('mailto:admin@example.net');
  return decryptPush(push.body, ua.ecdh, ua.auth).toString();
}

function vapidOf(c: TestClient): string {
  const token = c.lines.join(' ').match(/ VAPID=([\w-]+) /);
  return token![1]!;
}

/** Makes the account's user sessionless: what an always-on user with every device offline is. */
function sessionless(nick: string, accountName: string, channels: string[] = []): User {
  const server = s.srv.server;
  const ghost = server.introduceSessionlessUser({ nick, user: nick, host: 'ghost.example', realname: 'Ghost', ip: '192.0.2.7' });
  server.state.setAccount(ghost, accountName);
  for (const name of channels) server.state.addMember(server.state.findChannel(name)!, ghost, '');
  return ghost;
}

describe('draft/webpush', () => {
  it('announces the VAPID key and the capability only when enabled, and keeps the key across restarts', async () => {
    const dir = (await start()).dir;
    await s.srv.stop();
    const path = join(dir, 'push.db');
    await s.start({ webpush: { enabled: true }, store: { path } });
    const first = await s.connect('first', { caps: ['draft/webpush'] });
    expect(first.lines.some((l) => / CAP \* ACK :?draft\/webpush/.test(l))).toBe(true);
    const key = vapidOf(first);
    expect(Buffer.from(key, 'base64url').length).toBe(65);
    await s.srv.stop();
    await s.start({ webpush: { enabled: true }, store: { path } });
    expect(vapidOf(await s.connect('second'))).toBe(key);
    await s.srv.stop();
    await s.start({ store: { path } });
    const off = await s.connect('off');
    expect(off.lines.join(' ')).not.toContain('VAPID=');
    const ls = await ask(off, 'CAP LS 302');
    expect(ls.filter((m) => m[0] === 'CAP').length).toBeGreaterThan(0);
    expect(ls.flat().join(' ')).not.toContain('draft/webpush');
  });

  it('registers after a test push the service can open and verify, and answers each bad REGISTER', async () => {
    await start();
    const ua = userAgent();
    const guest = await s.connect('guest');
    const endpoint = receiver.endpoint('/sub/1');
    expect(await ask(guest, `WEBPUSH REGISTER ${endpoint} ${ua.keys}`)).toEqual([
      ['FAIL', 'WEBPUSH', 'FORBIDDEN', 'REGISTER', endpoint, 'You must be logged in to receive push notifications'],
    ]);
    const alice = await account('alice');
    expect(await ask(alice, `WEBPUSH REGISTER http://127.0.0.1:${receiver.port}/ ${ua.keys}`)).toEqual([
      ['FAIL', 'WEBPUSH', 'INVALID_PARAMS', 'REGISTER', `http://127.0.0.1:${receiver.port}/`, 'Invalid push endpoint: the endpoint must be an https URL'],
    ]);
    expect(await ask(alice, `WEBPUSH REGISTER ${endpoint} auth=AAAA`)).toEqual([
      ['FAIL', 'WEBPUSH', 'INVALID_PARAMS', 'REGISTER', endpoint, 'Invalid subscription keys: p256dh (URL-safe base64) is missing'],
    ]);
    expect(await ask(alice, 'WEBPUSH LIST x')).toEqual([['FAIL', 'WEBPUSH', 'INVALID_PARAMS', 'LIST', '*', 'Unknown WEBPUSH subcommand, use REGISTER or UNREGISTER']]);
    expect(await ask(alice, 'WEBPUSH REGISTER x')).toEqual([['461', 'alice', 'WEBPUSH', 'Not enough parameters']]);
    expect(receiver.received).toEqual([]);

    expect(await ask(alice, `WEBPUSH REGISTER ${endpoint} ${ua.keys}`)).toEqual([['WEBPUSH', 'REGISTER', endpoint, ua.keys]]);
    const [test] = await receiver.waitFor(1);
    expect(test!.path).toBe('/sub/1');
    expect(open(test!, ua, vapidOf(alice))).toBe('PING webpush');
    // Registering again renews it without another test push.
    expect(await ask(alice, `WEBPUSH REGISTER ${endpoint} ${ua.keys}`)).toEqual([['WEBPUSH', 'REGISTER', endpoint, ua.keys]]);
    expect(receiver.received.length).toBe(1);
  });

  it('refuses endpoints that are or resolve to loopback unless allowed, and endpoints that fail the test push', async () => {
    await start({ allow_destinations: [] });
    const alice = await account('alice');
    const ua = userAgent();
    const byIp = receiver.endpoint('/a');
    expect(await ask(alice, `WEBPUSH REGISTER ${byIp} ${ua.keys}`)).toEqual([
      ['FAIL', 'WEBPUSH', 'INVALID_PARAMS', 'REGISTER', byIp, 'The test push failed: 127.0.0.1 resolves to 127.0.0.1, a loopback address'],
    ]);
    // A name is judged by what it resolves to.
    const byName = `https://localhost:${receiver.port}/a`;
    const [fail] = await ask(alice, `WEBPUSH REGISTER ${byName} ${ua.keys}`);
    expect(fail!.slice(0, 5)).toEqual(['FAIL', 'WEBPUSH', 'INVALID_PARAMS', 'REGISTER', byName]);
    expect(fail![5]).toMatch(/^The test push failed: localhost resolves to (127\.0\.0\.1|::1), a loopback address$/);
    expect(receiver.received).toEqual([]);
  });

  it('turns a service that answers an error, or not at all within the timeout, into a refusal', async () => {
    // Long enough that the answering case is not taken for silence on a loaded machine, short
    // enough for the silent case to end before the PONG wait (3 s).
    await start({ timeout: 2 });
    const alice = await account('alice');
    const ua = userAgent();
    receiver.status = () => 500;
    const endpoint = receiver.endpoint('/err');
    expect(await ask(alice, `WEBPUSH REGISTER ${endpoint} ${ua.keys}`)).toEqual([
      ['FAIL', 'WEBPUSH', 'INVALID_PARAMS', 'REGISTER', endpoint, 'The test push failed: the push service answered 500'],
    ]);
    receiver.status = () => 0;
    expect(await ask(alice, `WEBPUSH REGISTER ${endpoint} ${ua.keys}`)).toEqual([
      ['FAIL', 'WEBPUSH', 'INVALID_PARAMS', 'REGISTER', endpoint, 'The test push failed: no answer within the delivery timeout'],
    ]);
  });

  it('holds an account to max_subscriptions', async () => {
    await start({ max_subscriptions: 2 });
    const alice = await account('alice');
    const ua = userAgent();
    for (const n of [1, 2]) expect((await ask(alice, `WEBPUSH REGISTER ${receiver.endpoint(`/${n}`)} ${ua.keys}`))[0]![0]).toBe('WEBPUSH');
    expect(await ask(alice, `WEBPUSH REGISTER ${receiver.endpoint('/3')} ${ua.keys}`)).toEqual([
      ['FAIL', 'WEBPUSH', 'MAX_REGISTRATIONS', 'REGISTER', receiver.endpoint('/3'), 'An account may hold 2 push subscriptions; unregister one first'],
    ]);
    expect(await ask(alice, `WEBPUSH UNREGISTER ${receiver.endpoint('/1')}`)).toEqual([['WEBPUSH', 'UNREGISTER', receiver.endpoint('/1')]]);
    expect(await ask(alice, `WEBPUSH UNREGISTER ${receiver.endpoint('/1')}`)).toEqual([['WEBPUSH', 'UNREGISTER', receiver.endpoint('/1')]]);
    expect((await ask(alice, `WEBPUSH REGISTER ${receiver.endpoint('/3')} ${ua.keys}`))[0]![0]).toBe('WEBPUSH');
  });

  it('pushes direct messages and highlights to a user with no session, and nothing to one with a session', async () => {
    await start();
    const alice = await account('alice');
    const ua = userAgent();
    await ask(alice, `WEBPUSH REGISTER ${receiver.endpoint('/alice')} ${ua.keys}`);
    await receiver.waitFor(1);
    const vapidKey = vapidOf(alice);
    const bob = await s.connect('bob');
    bob.send('JOIN #room');
    await bob.waitFor('366');
    // With a session open, nothing is pushed.
    bob.send('PRIVMSG alice :are you there?');
    await alice.waitFor('PRIVMSG');
    alice.close();
    await bob.collectUntilPong();
    for (let i = 0; i < 100 && s.srv.server.state.findNick('alice'); i++) await sleep(10);

    sessionless('alice', 'alice', ['#room']);
    bob.send('PRIVMSG alice :hello there');
    const dm = open((await receiver.waitFor(2))[1]!, ua, vapidKey);
    const msg = parseMessage(dm);
    expect([msg.source, msg.command, ...msg.params]).toEqual(['bob!bob@127.0.0.1', 'PRIVMSG', 'alice', 'hello there']);
    expect(Object.keys(msg.tags ?? {}).sort()).toEqual(['msgid', 'time']);
    expect(receiver.received[1]!.headers['urgency']).toBe('high');

    bob.send('PRIVMSG #room :nobody mentioned here, not even alicex');
    bob.send('TAGMSG alice');
    bob.send('PRIVMSG @#room :ops only, alice is not one');
    bob.send('PRIVMSG #room :ALICE: a highlight');
    const highlight = parseMessage(open((await receiver.waitFor(3))[2]!, ua, vapidKey));
    expect(highlight.params).toEqual(['#room', 'ALICE: a highlight']);
    await bob.collectUntilPong();
    expect(receiver.received.length).toBe(3);
  });

  it('deletes a subscription the service says is gone (410), and skips expired ones', async () => {
    await start({ expiration: 1 });
    const alice = await account('alice');
    const ua = userAgent();
    await ask(alice, `WEBPUSH REGISTER ${receiver.endpoint('/gone')} ${ua.keys}`);
    await receiver.waitFor(1);
    alice.close();
    for (let i = 0; i < 100 && s.srv.server.state.findNick('alice'); i++) await sleep(10);
    sessionless('alice', 'alice');
    const bob = await s.connect('bob');
    const count = () =>
      (s.srv.server.db.prepare('SELECT COUNT(*) AS n FROM webpush_subscriptions').get() as { n: number }).n;
    expect(count()).toBe(1);
    receiver.status = () => 410;
    bob.send('PRIVMSG alice :first');
    await receiver.waitFor(2);
    for (let i = 0; i < 100 && count() > 0; i++) await sleep(10);
    expect(count()).toBe(0);

    // Expiry: a subscription not renewed within `expiration` seconds is not pushed to.
    receiver.status = () => 201;
    const carol = await account('carol');
    await ask(carol, `WEBPUSH REGISTER ${receiver.endpoint('/carol')} ${ua.keys}`);
    await receiver.waitFor(3);
    carol.close();
    for (let i = 0; i < 100 && s.srv.server.state.findNick('carol'); i++) await sleep(10);
    sessionless('carol', 'carol');
    await sleep(1100);
    bob.send('PRIVMSG carol :too late');
    await bob.collectUntilPong();
    await sleep(100);
    expect(receiver.received.length).toBe(3);
  });
});
