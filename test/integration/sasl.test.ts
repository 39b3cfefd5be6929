// SASL (IRCv3 sasl 3.1/3.2): PLAIN, SCRAM-SHA-256 and EXTERNAL against real accounts, chunking,
// abort, re-authentication, registration interplay, brute force limits and require_sasl.
import { describe, expect, it } from 'vitest';
import { makeCredentials } from '../../src/auth/scram.js';
import { accountStore } from '../../src/modules/accounts.js';
import type { Server } from '../../src/server/server.js';
import { sleep, TestClient, type RawConfig } from '../support/harness.js';
import { scramLogin } from '../support/login.js';
import { useSession } from '../support/session.js';
import { makeSelfSignedCert } from '../support/tls.js';

const session = useSession();

async function addAccount(server: Server, name: string, password: string): Promise<void> {
  accountStore(server).create(name, await makeCredentials(password, 4096), undefined);
}

const plainB64 = (authzid: string, authcid: string, password: string) => Buffer.from(`${authzid}\0${authcid}\0${password}`).toString('base64');

/** A connection that has requested sasl and not yet ended CAP negotiation. */
async function saslConn(port: number, connect: (p: number) => Promise<TestClient> = (p) => TestClient.connect(p)): Promise<TestClient> {
  const c = await connect(port);
  c.send('CAP LS 302');
  c.send('CAP REQ :sasl');
  await c.waitFor((m) => m.command === 'CAP' && m.params[1] === 'ACK');
  return c;
}

async function start(patch: RawConfig = {}) {
  const srv = await session.start(patch);
  await addAccount(srv.server, 'jilles', 'sesame');
  return srv;
}

async function authenticatePlain(c: TestClient, b64: string): Promise<string> {
  c.send('AUTHENTICATE PLAIN');
  await c.waitFor((m) => m.command === 'AUTHENTICATE' && m.params[0] === '+');
  for (let i = 0; i < b64.length; i += 400) c.send(`AUTHENTICATE ${b64.slice(i, i + 400)}`);
  if (b64.length % 400 === 0) c.send('AUTHENTICATE +');
  return (await c.waitFor((m) => ['903', '904', '905'].includes(m.command))).command;
}

describe('SASL PLAIN', () => {
  it('logs in before registration: 900 with the account, 903, then registration continues', async () => {
    const srv = await start();
    const c = await saslConn(srv.port);
    c.send('NICK foo');
    c.send('USER foo 0 * :Foo');
    c.send('AUTHENTICATE PLAIN');
    await c.waitFor((m) => m.command === 'AUTHENTICATE' && m.params[0] === '+');
    c.send(`AUTHENTICATE ${plainB64('', 'JILLES', 'sesame')}`);
    const logged = await c.waitFor('900');
    expect(logged.params).toEqual(['foo', 'foo!foo@127.0.0.1', 'jilles', 'You are now logged in as jilles']);
    await c.waitFor('903');
    c.send('CAP END');
    await c.waitFor('001');
    c.close();
  });

  it('answers 904 to a wrong password, an unknown account, bad base64 and a foreign authzid, and allows a retry', async () => {
    const srv = await start();
    const c = await saslConn(srv.port);
    expect(await authenticatePlain(c, plainB64('jilles', 'jilles', 'millet'))).toBe('904');
    expect(await authenticatePlain(c, plainB64('', 'nobody', 'sesame'))).toBe('904');
    expect(await authenticatePlain(c, plainB64('other', 'jilles', 'sesame'))).toBe('904');
    expect(await authenticatePlain(c, Buffer.from('\0\0sesame').toString('base64'))).toBe('904');
    c.send('AUTHENTICATE PLAIN');
    await c.waitFor((m) => m.command === 'AUTHENTICATE' && m.params[0] === '+');
    c.send('AUTHENTICATE !!!');
    await c.waitFor('904');
    expect(await authenticatePlain(c, plainB64('jilles', 'jilles', 'sesame'))).toBe('903');
    expect([...srv.server.state.clients].find((u) => !srv.server.state.isService(u))!.account).toBe('jilles');
    c.close();
  });

  it('reassembles 400-byte chunks ended by "+" and by a shorter chunk', async () => {
    const srv = await session.start();
    const exact = 'bar'.repeat(97); // base64 of "foo\0foo\0" + this is exactly 400 bytes
    await addAccount(srv.server, 'foo', exact);
    const c = await saslConn(srv.port);
    expect(plainB64('foo', 'foo', exact)).toHaveLength(400);
    expect(await authenticatePlain(c, plainB64('foo', 'foo', exact))).toBe('903');

    const long = 'x'.repeat(400); // two chunks, the second shorter
    await addAccount(srv.server, 'bar', long);
    const d = await saslConn(srv.port);
    expect(plainB64('bar', 'bar', long).length).toBeGreaterThan(400);
    expect(await authenticatePlain(d, plainB64('bar', 'bar', long))).toBe('903');
    c.close();
    d.close();
  });

  it('answers 905 to a chunk over 400 bytes, 906 to "*", and 908+904 to an unknown mechanism', async () => {
    const srv = await start();
    const c = await saslConn(srv.port);
    c.send('AUTHENTICATE PLAIN');
    await c.waitFor((m) => m.command === 'AUTHENTICATE');
    c.send(`AUTHENTICATE ${'A'.repeat(401)}`);
    expect((await c.waitFor('905')).params[0]).toBe('*');
    c.send('AUTHENTICATE PLAIN');
    await c.waitFor((m) => m.command === 'AUTHENTICATE');
    c.send('AUTHENTICATE *');
    await c.waitFor('906');
    c.send('AUTHENTICATE FOO');
    expect((await c.waitFor('908')).params[1]).toBe('PLAIN,EXTERNAL,SCRAM-SHA-256');
    await c.waitFor('904');
    c.close();
  });

  it('fails a response longer than sasl.max_response instead of buffering it', async () => {
    const srv = await start({ sasl: { max_response: 800 } });
    const c = await saslConn(srv.port);
    c.send('AUTHENTICATE PLAIN');
    await c.waitFor((m) => m.command === 'AUTHENTICATE');
    for (let i = 0; i < 3; i++) c.send(`AUTHENTICATE ${'A'.repeat(400)}`);
    await c.waitFor('904');
    c.close();
  });

  it('refuses AUTHENTICATE without the sasl capability', async () => {
    const srv = await start();
    const c = await TestClient.connect(srv.port);
    c.send('AUTHENTICATE PLAIN');
    await c.waitFor('904');
    c.close();
  });
});

describe('SASL and registration', () => {
  it('aborts an exchange with 906 when registration completes during it', async () => {
    const srv = await start();
    const c = await saslConn(srv.port);
    c.send('AUTHENTICATE PLAIN');
    await c.waitFor((m) => m.command === 'AUTHENTICATE');
    c.send('NICK reg');
    c.send('USER reg 0 * :Reg');
    c.send('CAP END');
    await c.waitFor('906');
    await c.waitFor('001');
    expect(srv.server.state.findNick('reg')!.account).toBeUndefined();
    c.close();
  });

  it('re-authenticates after registration and tells account-notify peers', async () => {
    const srv = await start();
    await addAccount(srv.server, 'foo', 'barbarbar');
    const c = await session.connect('user', { caps: ['sasl', 'account-notify'] });
    const watcher = await session.connect('watcher', { caps: ['account-notify'] });
    c.send('JOIN #room');
    await c.waitFor('366');
    watcher.send('JOIN #room');
    await watcher.waitFor('366');
    const mark = c.mark;
    expect(await authenticatePlain(c, plainB64('', 'foo', 'barbarbar'))).toBe('903');
    expect((await watcher.waitFor('ACCOUNT')).params).toEqual(['foo']);
    await c.waitFor((m) => m.command === 'ACCOUNT' && m.params[0] === 'foo', { from: mark });
    expect(await authenticatePlain(c, plainB64('', 'jilles', 'sesame'))).toBe('903');
    expect((await watcher.waitFor('ACCOUNT')).source).toBe('user!user@127.0.0.1');
    expect(srv.server.state.findNick('user')!.account).toBe('jilles');
  });

  it('answers 907 to an authenticated client that dropped the sasl capability', async () => {
    await start();
    const c = await session.connect('user', { caps: ['sasl'] });
    expect(await authenticatePlain(c, plainB64('', 'jilles', 'sesame'))).toBe('903');
    c.send('CAP REQ :-sasl');
    await c.waitFor((m) => m.command === 'CAP' && m.params[1] === 'ACK');
    c.send('AUTHENTICATE PLAIN');
    await c.waitFor('907');
  });

  it('requires a login in a class with require_sasl', async () => {
    const srv = await start({
      class: [{ name: 'default', max_per_ip: 100, flood: { burst: 1000, rate: 1000 }, recvq: 65536, require_sasl: true }],
    });
    const anon = await TestClient.connect(srv.port);
    anon.send('NICK anon');
    anon.send('USER anon 0 * :Anon');
    const fail = await anon.waitFor('FAIL');
    expect(fail.params.slice(0, 2)).toEqual(['*', 'ACCOUNT_REQUIRED']);
    await anon.waitClosed();

    const c = await saslConn(srv.port);
    expect(await authenticatePlain(c, plainB64('', 'jilles', 'sesame'))).toBe('903');
    c.send('NICK member');
    c.send('USER member 0 * :Member');
    c.send('CAP END');
    await c.waitFor('001');
    c.close();
  });

  it('rate limits failures per IP and per account, then answers 904 at once', async () => {
    const srv = await start({ sasl: { failures_per_ip: 3, failures_per_account: 2 } });
    const c = await saslConn(srv.port);
    expect(await authenticatePlain(c, plainB64('', 'jilles', 'wrong1'))).toBe('904');
    expect(await authenticatePlain(c, plainB64('', 'jilles', 'wrong2'))).toBe('904');
    // The account is now locked for the window, even with the right password.
    expect(await authenticatePlain(c, plainB64('', 'jilles', 'sesame'))).toBe('904');
    // And this IP has used its three failures: the mechanism is refused before any exchange.
    c.send('AUTHENTICATE PLAIN');
    const m = await c.waitFor((x) => x.command === '904' || x.command === 'AUTHENTICATE');
    expect(m.command).toBe('904');
    c.close();
  });

  it('never locks the owner out: failures from many addresses close the account only to those addresses', async () => {
    const srv = await start({ sasl: { failures_per_ip: 5, failures_per_account: 3 } });
    const from = (ip: string) => saslConn(srv.port, (p) => TestClient.connect(p, { localAddress: ip }));
    const guessers = await Promise.all(['127.0.0.2', '127.0.0.3', '127.0.0.4'].map(from));
    for (const [i, g] of guessers.entries()) expect(await authenticatePlain(g, plainB64('', 'jilles', `guess${i}`))).toBe('904');
    // A guesser that has failed meets the account's count, even with the right password...
    expect(await authenticatePlain(guessers[0]!, plainB64('', 'jilles', 'sesame'))).toBe('904');
    // ...while the owner, from an address without failures, logs in, as often as it likes.
    for (let i = 0; i < 2; i++) {
      const owner = await from('127.0.0.5');
      expect(await authenticatePlain(owner, plainB64('', 'jilles', 'sesame'))).toBe('903');
      owner.close();
    }
    for (const g of guessers) g.close();
  });

  it('counts PLAIN attempts still hashing against the address, so parallel guesses meet its limit', async () => {
    const srv = await session.start({ sasl: { failures_per_ip: 2 } });
    // A slow hash keeps the first guesses under way while the last one arrives.
    accountStore(srv.server).create('slow', await makeCredentials('sesame', 300000), undefined);
    const conns = await Promise.all(Array.from({ length: 6 }, () => saslConn(srv.port)));
    for (const c of conns) {
      c.send('AUTHENTICATE PLAIN');
      await c.waitFor((m) => m.command === 'AUTHENTICATE' && m.params[0] === '+');
    }
    const wrong = conns.slice(0, 5);
    for (const [i, c] of wrong.entries()) c.send(`AUTHENTICATE ${plainB64('', 'slow', `guess${i}`)}`);
    await sleep(30);
    // Without counting attempts under way, this one would be checked (and succeed) too.
    const right = conns[5]!;
    right.send(`AUTHENTICATE ${plainB64('', 'slow', 'sesame')}`);
    expect((await right.waitFor((m) => ['903', '904'].includes(m.command), { timeout: 10000 })).command).toBe('904');
    for (const c of wrong) expect((await c.waitFor((m) => ['903', '904'].includes(m.command), { timeout: 10000 })).command).toBe('904');
  });
});


describe('SASL SCRAM-SHA-256', () => {
  it('logs in and proves the server knows the verifier', async () => {
    const srv = await start();
    await addAccount(srv.server, 'Scramtest', 'sesame');
    const c = await saslConn(srv.port);
    expect(await scramLogin(c, 'scramtest', 'sesame')).toEqual({ result: '903', serverVerified: true });
    c.close();
  });

  it('fails a wrong password and an unknown account', async () => {
    const srv = await start();
    const c = await saslConn(srv.port);
    expect((await scramLogin(c, 'jilles', 'millet')).result).toBe('904');
    expect((await scramLogin(c, 'nobody', 'sesame')).result).toBe('904');
    c.close();
  });

  it('answers a missing account as it would an existing one until the final failure', async () => {
    const srv = await start();
    const c = await saslConn(srv.port);
    /** The server-first-message's attributes for `user`, then abort (906 counts as no failure). */
    const serverFirstFor = async (user: string) => {
      c.send('AUTHENTICATE SCRAM-SHA-256');
      await c.waitFor((m) => m.command === 'AUTHENTICATE' && m.params[0] === '+');
      c.send(`AUTHENTICATE ${Buffer.from(`n,,n=${user},r=abcdef`).toString('base64')}`);
      const challenge = await c.waitFor((m) => m.command === 'AUTHENTICATE' || m.command === '904');
      expect(challenge.command, user).toBe('AUTHENTICATE');
      c.send('AUTHENTICATE *');
      await c.waitFor('906');
      const attrs = Object.fromEntries(Buffer.from(challenge.params[0]!, 'base64').toString().split(',').map((a) => [a[0], a.slice(2)]));
      return { salt: Buffer.from(attrs.s!, 'base64'), iterations: attrs.i, nonce: attrs.r! };
    };
    const real = await serverFirstFor('jilles');
    const missing = await serverFirstFor('nobody');
    expect(missing.salt).toHaveLength(real.salt.length);
    expect(missing.iterations).toBe(real.iterations);
    expect(missing.nonce.length).toBe(real.nonce.length);
    // The salt stays the same for a name, casefolded, as a real account's does; another name gets another.
    expect((await serverFirstFor('NoBody')).salt).toEqual(missing.salt);
    expect((await serverFirstFor('somebody')).salt).not.toEqual(missing.salt);
    expect(await scramLogin(c, 'nobody', 'sesame')).toEqual({ result: '904', serverVerified: false });
    c.close();
  });

  it('fails a malformed client-first-message and one that asks for channel binding', async () => {
    const srv = await start();
    const c = await saslConn(srv.port);
    for (const first of ['garbage', 'p=tls-unique,,n=jilles,r=abc']) {
      c.send('AUTHENTICATE SCRAM-SHA-256');
      await c.waitFor((m) => m.command === 'AUTHENTICATE');
      c.send(`AUTHENTICATE ${Buffer.from(first).toString('base64')}`);
      await c.waitFor('904');
    }
    c.close();
  });
});

describe('SASL EXTERNAL', () => {
  it('logs in with a client certificate bound by CERTFP ADD, and fails without one', async () => {
    const server = makeSelfSignedCert('irc.test');
    const user = makeSelfSignedCert('jilles');
    const srv = await start({ listen: [{ address: '127.0.0.1', port: 0, tls: { cert: server.cert, key: server.key } }] });
    const { readFileSync } = await import('node:fs');
    const withCert = (p: number) => TestClient.connectTls(p, { cert: readFileSync(user.cert), key: readFileSync(user.key) });

    // Unbound certificate: 904.
    const first = await saslConn(srv.port, withCert);
    first.send('AUTHENTICATE EXTERNAL');
    await first.waitFor((m) => m.command === 'AUTHENTICATE');
    first.send('AUTHENTICATE +');
    await first.waitFor('904');
    // Log in by password and bind this connection's certificate.
    expect(await authenticatePlain(first, plainB64('', 'jilles', 'sesame'))).toBe('903');
    first.send('NICK jilles');
    first.send('USER jilles 0 * :J');
    first.send('CAP END');
    await first.waitFor('001');
    first.send('CERTFP ADD');
    await first.waitFor((m) => m.command === 'NOTICE' && /added to jilles/.test(m.params[1]!));
    first.close();

    const again = await saslConn(srv.port, withCert);
    again.send('AUTHENTICATE EXTERNAL');
    await again.waitFor((m) => m.command === 'AUTHENTICATE');
    again.send('AUTHENTICATE +');
    expect((await again.waitFor('900')).params[2]).toBe('jilles');
    await again.waitFor('903');
    again.close();

    const noCert = await saslConn(srv.port, (p) => TestClient.connectTls(p));
    noCert.send('AUTHENTICATE EXTERNAL');
    await noCert.waitFor((m) => m.command === 'AUTHENTICATE');
    noCert.send('AUTHENTICATE +');
    await noCert.waitFor('904');
    noCert.close();
  });
});
