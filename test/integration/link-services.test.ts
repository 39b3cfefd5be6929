// Services over TS6: a fake services server (a test speaking TS6 over a socket, as Atheme does)
// links to our daemon, introduces NickServ and SaslServ, and sends SU, SVSLOGIN, RSFNC,
// NICKDELAY, MLOCK and notices; SASL of a server without accounts is relayed to it. Then two of
// our daemons: B, without accounts, logs its clients in by SASL against A's store; and a Solanum
// server, played by the test, asks A's SaslServ as its SASL agent.
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/password.js';
import { makeCredentials } from '../../src/auth/scram.js';
import { accountStore } from '../../src/modules/accounts.js';
import { nickHeld } from '../../src/modules/link/nickdelay.js';
import { saslRelay } from '../../src/modules/sasl.js';
import type { Message } from '../../src/protocol/message.js';
import { capLs, client, startServer, TestClient, waitUntil, type RawConfig, type TestServer } from '../support/harness.js';
import { scramLogin } from '../support/login.js';
import { operConfig, operUp } from '../support/oper.js';

const PASSWORD = 'linkpass';
const HASH = hashPassword(PASSWORD);
const SERVICES = 'services.test';

const running: TestServer[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of running.splice(0).reverse()) await s.stop();
});

type Daemon = TestServer & { serverPort: number };

/** A daemon `<name>.test` with a server listener and [[link]] blocks for `peers`; `patch` adds sections. */
async function daemon(name: string, sid: string, peers: Array<{ name: string; port?: number; autoconnect?: boolean; hub?: boolean }>, patch: RawConfig = {}): Promise<Daemon> {
  const ts = await startServer({
    server: { name: `${name}.test`, network: 'TestNet', motd: 'motd.txt', sid },
    listen: [
      { address: '127.0.0.1', port: 0 },
      { address: '127.0.0.1', port: 0, servers: true },
    ],
    link: peers.map((p) => ({
      name: p.name,
      address: '127.0.0.1',
      port: p.port ?? 1,
      send_password: PASSWORD,
      accept_password: HASH,
      autoconnect: p.autoconnect ?? false,
      retry: 1,
      hub: p.hub ?? false,
    })),
    ...patch,
  });
  running.push(ts);
  const listeners = [...ts.server.listeners.values()];
  return { ...ts, port: listeners.find((l) => !l.cfg.servers)!.port, serverPort: listeners.find((l) => l.cfg.servers)!.port };
}

async function user(s: TestServer, nick: string): Promise<TestClient> {
  const c = await client(s.port, nick);
  clients.push(c);
  return c;
}

/** A services server as Atheme links: PASS, CAPAB, SERVER, SVINFO, its pseudo-users by EUID, then PING. */
async function fakeServices(d: Daemon, name = SERVICES, sid = '0SV', nicks = ['NickServ', 'SaslServ']): Promise<TestClient & { uidOf(nick: string): Promise<string> }> {
  const link = await TestClient.connect(d.serverPort);
  clients.push(link);
  const now = Math.floor(Date.now() / 1000);
  link.send(`PASS ${PASSWORD} TS 6 :${sid}`);
  link.send('CAPAB :QS EX IE KLN UNKLN ENCAP TB SERVICES EUID EOPMOD MLOCK');
  link.send(`SERVER ${name} 1 :Fake services`);
  link.send(`SVINFO 6 3 0 :${now}`);
  await link.waitFor('SVINFO');
  nicks.forEach((nick, i) => link.send(`:${sid} EUID ${nick} 1 ${now} +ioS ${nick.toLowerCase()} ${name} 0 ${sid}AAAAA${i} * * :${nick}`));
  link.send(`PING :${name}`);
  await link.waitFor('PONG');
  /** The UID our daemon gave a nick, from its EUID (burst or later). */
  const uidOf = async (nick: string) => (await link.waitFor((m) => m.command === 'EUID' && m.params[0] === nick, { from: 0 })).params[7]!;
  return Object.assign(link, { uidOf });
}

const servicesConfig = (extra: RawConfig = {}): RawConfig => ({ services: { enabled: false, servers: [SERVICES] }, ...extra });

describe('services over TS6', () => {
  it('shows a services server’s +S users as network services, and routes messages to them over the link', async () => {
    const a = await daemon('a', '1AA', [{ name: SERVICES }], operConfig(servicesConfig()));
    const svc = await fakeServices(a);
    const alice = await client(a.port, 'alice', { caps: ['draft/chathistory', 'batch'] });
    clients.push(alice);
    alice.send('WHOIS NickServ');
    expect((await alice.waitFor('313')).params).toEqual(['alice', 'NickServ', 'is a Network Service']);
    await operUp(alice);
    alice.send('KILL NickServ :go away');
    expect((await alice.waitFor('483')).params[1]).toMatch(/NickServ|kill/i);
    alice.send('LUSERS');
    expect((await alice.waitFor('251')).params[1]).toMatch(/^There are 1 users/);
    const aliceUid = await svc.uidOf('alice');
    alice.send('PRIVMSG NickServ :IDENTIFY secret');
    const relayed = await svc.waitFor((m) => m.command === 'PRIVMSG' && m.source === aliceUid);
    expect(relayed.params).toEqual(['0SVAAAAA0', 'IDENTIFY secret']);
    // As NickServ@<its server> too; and what users tell services is not kept in history.
    alice.send(`PRIVMSG NickServ@${SERVICES} :HELP`);
    expect((await svc.waitFor((m) => m.command === 'PRIVMSG' && m.source === aliceUid)).params).toEqual(['0SVAAAAA0', 'HELP']);
    expect(a.server.state.findNick('NickServ')).toBeDefined();
    const targets = await alice.ask('CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z timestamp=2100-01-01T00:00:00.000Z 10');
    expect(targets.filter((m) => m.command === 'BATCH')).toHaveLength(2);
    expect(targets.filter((m) => m.command === 'CHATHISTORY')).toEqual([]);
    // Its answer, and a notice from the server itself.
    svc.send(`:0SVAAAAA0 NOTICE ${aliceUid} :You are now identified.`);
    expect((await alice.waitFor('NOTICE')).source).toMatch(/^NickServ!/);
    svc.send(`:0SV NOTICE ${aliceUid} :from the services server`);
    const notice = await alice.waitFor((m) => m.command === 'NOTICE' && m.source === SERVICES);
    expect(notice.params).toEqual(['alice', 'from the services server']);
  });

  it('sets accounts from ENCAP SU and SVSLOGIN of a services server only', async () => {
    const a = await daemon('a', '1AA', [{ name: SERVICES }, { name: 'rogue.test' }], servicesConfig());
    const svc = await fakeServices(a);
    const rogue = await fakeServices(a, 'rogue.test', '0RG', []);
    const alice = await user(a, 'alice');
    const uid = await svc.uidOf('alice');
    // A server that is not one of [services] servers may not log other servers' users in.
    rogue.send(`:0RG ENCAP * SU ${uid} mallory`);
    svc.send(`:0SV ENCAP * SU ${uid} alice`);
    expect((await alice.waitFor('900')).params[2]).toBe('alice');
    expect(a.server.state.findNick('alice')!.account).toBe('alice');
    svc.send(`:0SV ENCAP * SU ${uid}`);
    await alice.waitFor('901');
    expect(a.server.state.findNick('alice')!.account).toBeUndefined();
    svc.send(`:0SV ENCAP a.test SVSLOGIN ${uid} * * cloaked.example alice2`);
    expect((await alice.waitFor('900')).params[2]).toBe('alice2');
    expect(a.server.state.findNick('alice')!.host).toBe('cloaked.example');
    // SU went on to the other link as it came, with the services server as its source.
    const passed = await rogue.waitFor((m) => m.command === 'ENCAP' && m.params[1] === 'SU');
    expect(passed.source).toBe('0SV');
  });

  it('honours RSFNC (forced nick change), NICKDELAY (nick held) and MLOCK (modes locked)', async () => {
    const a = await daemon('a', '1AA', [{ name: SERVICES }], servicesConfig());
    const svc = await fakeServices(a);
    const alice = await user(a, 'alice');
    const euid = await svc.waitFor((m) => m.command === 'EUID' && m.params[0] === 'alice', { from: 0 });
    const uid = euid.params[7]!;
    // A stale RSFNC (the old nick TS differs) changes nothing; the right one renames.
    svc.send(`:0SV ENCAP a.test RSFNC ${uid} Guest1 ${Number(euid.params[2]) + 1} 12345`);
    svc.send(`:0SV ENCAP a.test RSFNC ${uid} Guest2 ${Number(euid.params[2]) + 1} ${euid.params[2]}`);
    const nick = await alice.waitFor('NICK');
    expect(nick.params).toEqual(['Guest2']);
    expect((await svc.waitFor((m) => m.command === 'NICK' && m.source === uid)).params[0]).toBe('Guest2');

    svc.send(':0SV ENCAP * NICKDELAY 60 alice');
    await svc.collectUntilPong();
    alice.send('NICK alice');
    expect((await alice.waitFor('437')).params.slice(1)).toEqual(['alice', 'Nick/channel is temporarily unavailable']);
    svc.send(':0SV ENCAP * NICKDELAY 0 alice');
    await svc.collectUntilPong();
    alice.send('NICK alice');
    await alice.waitFor('NICK');

    alice.send('JOIN #locked');
    await alice.waitFor('366');
    const sjoin = await svc.waitFor((m: Message) => m.command === 'SJOIN' && m.params[1] === '#locked');
    // A lock for a younger channel is not ours: ignored.
    svc.send(`:0SV MLOCK ${Number(sjoin.params[0]) + 100} #locked :s`);
    svc.send(`:0SV MLOCK ${sjoin.params[0]} #locked :nt`);
    await svc.collectUntilPong();
    const answer = await alice.ask('MODE #locked -n+s');
    expect(answer.find((m) => m.command === '742')?.params).toEqual(['alice', '#locked', 'n', 'nt', 'MODE cannot be set due to channel having an active MLOCK restriction policy']);
    expect(answer.find((m) => m.command === 'MODE')?.params).toEqual(['#locked', '+s']);
  });

  it('relays SASL to the services’ agent when this server has no accounts', async () => {
    const a = await daemon('a', '1AA', [{ name: SERVICES }], servicesConfig({ accounts: { enabled: false } }));
    const svc = await fakeServices(a);
    // The agent's mechanisms are the ones offered.
    svc.send(':0SV ENCAP * MECHLIST :PLAIN,EXTERNAL');
    await svc.collectUntilPong();
    const carol = await TestClient.connect(a.port);
    clients.push(carol);
    carol.send('CAP LS 302');
    expect(await capLs(carol)).toContain('sasl=PLAIN,EXTERNAL');
    carol.send('CAP REQ :sasl');
    await carol.waitFor((m) => m.command === 'CAP' && m.params[1] === 'ACK');
    carol.send('AUTHENTICATE PLAIN');
    const host = await svc.waitFor((m) => m.command === 'ENCAP' && m.params[1] === 'SASL' && m.params[4] === 'H');
    const [target, , cuid, agent] = host.params;
    expect([target, agent]).toEqual([SERVICES, '0SVAAAAA1']);
    expect(cuid).toMatch(/^1AA/);
    expect((await svc.waitFor((m) => m.command === 'ENCAP' && m.params[4] === 'S')).params[5]).toBe('PLAIN');
    svc.send(`:0SV ENCAP a.test SASL 0SVAAAAA1 ${cuid} C +`);
    await carol.waitFor((m) => m.command === 'AUTHENTICATE' && m.params[0] === '+');
    const payload = Buffer.from('\0carol\0pw').toString('base64');
    carol.send(`AUTHENTICATE ${payload}`);
    expect((await svc.waitFor((m) => m.command === 'ENCAP' && m.params[4] === 'C')).params[5]).toBe(payload);
    // Another server's agent may not answer this exchange.
    svc.send(`:0SV ENCAP a.test SASL 0SVAAAAA0 ${cuid} D S`);
    svc.send(`:0SV ENCAP a.test SVSLOGIN ${cuid} * * * carol`);
    svc.send(`:0SV ENCAP a.test SASL 0SVAAAAA1 ${cuid} D S`);
    expect((await carol.waitFor('900')).params[2]).toBe('carol');
    await carol.waitFor('903');
    carol.send('CAP END');
    carol.send('NICK carol');
    carol.send('USER carol 0 * :Carol');
    await carol.waitFor('001');
    // Its EUID carries the account, under the UID the agent knew.
    const euid = await svc.waitFor((m) => m.command === 'EUID' && m.params[0] === 'carol');
    expect([euid.params[7], euid.params[9]]).toEqual([cuid, 'carol']);
    // REGISTER is refused: there are no accounts here.
    expect((await carol.ask('REGISTER * * pw')).find((m) => m.command === 'FAIL')?.params[1]).toBe('TEMPORARILY_UNAVAILABLE');
  });

  it('reaches users of a server behind another: ENCAP goes on as it came, and that server trusts the services', async () => {
    const a = await daemon('a', '1AA', [{ name: SERVICES }, { name: 'b.test' }], servicesConfig());
    const b = await daemon('b', '2BB', [{ name: 'a.test', port: a.serverPort, autoconnect: true, hub: true }], servicesConfig());
    expect(await waitUntil(() => !!b.server.state.findServer('a.test'), 5000)).toBe(true);
    const svc = await fakeServices(a);
    expect(await waitUntil(() => !!b.server.state.findNick('NickServ'), 3000)).toBe(true);
    expect(b.server.state.isService(b.server.state.findNick('NickServ')!)).toBe(true);
    const bob = await user(b, 'bob');
    const euid = await svc.waitFor((m) => m.command === 'EUID' && m.params[0] === 'bob');
    const uid = euid.params[7]!;
    svc.send(`:0SV ENCAP * SU ${uid} bobby`);
    expect((await bob.waitFor('900')).params[2]).toBe('bobby');
    expect(await waitUntil(() => a.server.state.findNick('bob')?.account === 'bobby', 3000)).toBe(true);
    svc.send(`:0SV ENCAP b.test RSFNC ${uid} Guest7 ${Number(euid.params[2]) + 1} ${euid.params[2]}`);
    expect((await bob.waitFor('NICK')).params).toEqual(['Guest7']);
    expect((await svc.waitFor((m) => m.command === 'NICK' && m.source === uid)).params[0]).toBe('Guest7');
    svc.send(':0SV ENCAP * NICKDELAY 60 bob');
    expect(await waitUntil(() => nickHeld(b.server, 'bob'), 3000)).toBe(true);
    bob.send('NICK bob');
    await bob.waitFor('437');
    // A message to NickServ from b reaches the services through a.
    bob.send('PRIVMSG NickServ :INFO');
    expect((await svc.waitFor((m) => m.command === 'PRIVMSG' && m.source === uid)).params).toEqual(['0SVAAAAA0', 'INFO']);
  });

  it('keeps the read markers of a services account for its other connections; push subscriptions are refused', async () => {
    const a = await daemon('a', '1AA', [{ name: SERVICES }], servicesConfig({ accounts: { enabled: false }, webpush: { enabled: true } }));
    const svc = await fakeServices(a);
    const connect = async (nick: string) => {
      const c = await client(a.port, nick, { caps: ['draft/read-marker'] });
      clients.push(c);
      svc.send(`:0SV ENCAP * SU ${await svc.uidOf(nick)} acct`);
      await c.waitFor('900');
      return c;
    };
    const first = await connect('first');
    first.send('MARKREAD #room timestamp=2026-01-01T00:00:00.000Z');
    expect((await first.waitFor('MARKREAD')).params).toEqual(['#room', 'timestamp=2026-01-01T00:00:00.000Z']);
    const second = await connect('second');
    second.send('MARKREAD #room');
    expect((await second.waitFor('MARKREAD')).params).toEqual(['#room', 'timestamp=2026-01-01T00:00:00.000Z']);
    second.send('WEBPUSH REGISTER https://push.example/x p256dh=AAAA;auth=AAAA');
    const refused = await second.waitFor('FAIL');
    expect(refused.params.slice(0, 3)).toEqual(['WEBPUSH', 'FORBIDDEN', 'REGISTER']);
    expect(refused.params[4]).toMatch(/accounts here are the services/);
  });

  it('refuses a services server whose NickServ meets our own', async () => {
    const a = await daemon('a', '1AA', [{ name: SERVICES }], { services: { enabled: true, servers: [SERVICES] } });
    const link = await TestClient.connect(a.serverPort);
    clients.push(link);
    link.send(`PASS ${PASSWORD} TS 6 :0SV`);
    link.send('CAPAB :QS EX IE ENCAP TB SERVICES EUID');
    link.send(`SERVER ${SERVICES} 1 :Fake services`);
    link.send(`SVINFO 6 3 0 :${Math.floor(Date.now() / 1000)}`);
    link.send(`:0SV EUID NickServ 1 1 +ioS nickserv ${SERVICES} 0 0SVAAAAA0 * * :NickServ`);
    const error = await link.waitFor('ERROR');
    expect(error.params[0]).toMatch(/NickServ is a service of a\.test: set \[services\] enabled = false/);
  });
});

describe('our accounts for the whole network', () => {
  it('logs a client of a server without accounts in by SASL against another server’s store', async () => {
    const a = await daemon('a', '1AA', [{ name: 'b.test' }], { sasl: { serve_network: true } });
    const b = await daemon('b', '2BB', [{ name: 'a.test', port: a.serverPort, autoconnect: true, hub: true }], {
      accounts: { enabled: false },
      services: { enabled: false, servers: ['a.test'] },
    });
    accountStore(a.server).create('dana', await makeCredentials('sesame', 4096), undefined);
    expect(await waitUntil(() => !!b.server.state.findNick('SaslServ'), 5000)).toBe(true);
    expect(b.server.state.isService(b.server.state.findNick('SaslServ')!)).toBe(true);
    // B offers the mechanisms A's agent told (its MECHLIST in A's burst, which may still be on its way).
    expect(await waitUntil(() => saslRelay.get(b.server)?.mechanisms() !== undefined, 5000)).toBe(true);
    const looker = await TestClient.connect(b.port);
    clients.push(looker);
    looker.send('CAP LS 302');
    expect(await capLs(looker)).toContain('sasl=PLAIN,EXTERNAL,SCRAM-SHA-256');

    const sasl = async (password: string) => {
      const c = await TestClient.connect(b.port);
      clients.push(c);
      c.send('CAP REQ :sasl');
      await c.waitFor('CAP');
      c.send('AUTHENTICATE PLAIN');
      await c.waitFor((m) => m.command === 'AUTHENTICATE' && m.params[0] === '+');
      c.send(`AUTHENTICATE ${Buffer.from(`\0dana\0${password}`).toString('base64')}`);
      return c;
    };
    const wrong = await sasl('not-it');
    await wrong.waitFor('904');

    const dana = await sasl('sesame');
    expect((await dana.waitFor('900')).params[2]).toBe('dana');
    await dana.waitFor('903');
    // SCRAM-SHA-256 goes through the relay too, challenges and all.
    const erin = await TestClient.connect(b.port);
    clients.push(erin);
    erin.send('CAP REQ :sasl');
    await erin.waitFor('CAP');
    expect(await scramLogin(erin, 'dana', 'sesame')).toEqual({ result: '903', serverVerified: true });
    dana.send('CAP END');
    dana.send('NICK dana');
    dana.send('USER dana 0 * :Dana');
    await dana.waitFor('001');
    expect(b.server.state.findNick('dana')!.account).toBe('dana');
    // A sees the login too: the account came with dana's EUID.
    expect(await waitUntil(() => a.server.state.findNick('dana')?.account === 'dana', 3000)).toBe(true);
    const alice = await user(a, 'alice');
    alice.send('WHOIS dana');
    expect((await alice.waitFor('330')).params.slice(1, 3)).toEqual(['dana', 'dana']);
  });

  it('is the SASL agent of a Solanum server: SaslServ reaches it marked +S, and its ENCAP SASL is answered', async () => {
    const a = await daemon('a', '1AA', [{ name: 'solanum.test' }], { sasl: { serve_network: true } });
    accountStore(a.server).create('dana', await makeCredentials('sesame', 4096), undefined);
    // Solanum's CAPAB describes no modes: it is taken for the charybdis family, and our modes are translated.
    const solanum = await TestClient.connect(a.serverPort);
    clients.push(solanum);
    solanum.send(`PASS ${PASSWORD} TS 6 :9SO`);
    solanum.send('CAPAB :QS EX CHW IE GLN KNOCK TB ENCAP SAVE SAVETS_100 EUID EOPMOD BAN MLOCK RSFNC SERVICES');
    solanum.send('SERVER solanum.test 1 :Solanum');
    solanum.send(`SVINFO 6 6 0 :${Math.floor(Date.now() / 1000)}`);
    // Solanum takes a user for a service (and its sasl_service for the agent) only with +S.
    const euid = await solanum.waitFor((m) => m.command === 'EUID' && m.params[0] === 'SaslServ');
    expect(euid.params[3]).toContain('S');
    const agent = euid.params[7]!;
    // The mechanisms it offers, for Solanum's sasl capability.
    expect((await solanum.waitFor((m) => m.command === 'ENCAP' && m.params[1] === 'MECHLIST')).params).toEqual(['*', 'MECHLIST', 'PLAIN,EXTERNAL,SCRAM-SHA-256']);
    await solanum.waitFor((m) => m.command === 'PING' && m.source === '1AA');
    solanum.send(':9SO PONG solanum.test :1AA');

    // As Solanum's m_sasl asks: H (host, ip, plain or secure), S (mechanism), then C (the response).
    const sasl = (uid: string, ...rest: string[]) => solanum.send(`:9SO ENCAP a.test SASL ${uid} ${agent} ${rest.join(' ')}`);
    const answer = (uid: string, command = 'SASL') => solanum.waitFor((m) => m.command === 'ENCAP' && m.params[1] === command && m.params.includes(uid));
    const exchange = async (uid: string, password: string) => {
      sasl(uid, 'H', 'host.example', '192.0.2.7', 'P');
      sasl(uid, 'S', 'PLAIN');
      expect((await answer(uid)).params).toEqual(['solanum.test', 'SASL', agent, uid, 'C', '+']);
      sasl(uid, 'C', Buffer.from(`\0dana\0${password}`).toString('base64'));
    };
    await exchange('9SOAAAAAA', 'sesame');
    expect((await answer('9SOAAAAAA', 'SVSLOGIN')).params).toEqual(['solanum.test', 'SVSLOGIN', '9SOAAAAAA', '*', '*', '*', 'dana']);
    expect((await answer('9SOAAAAAA')).params.slice(4)).toEqual(['D', 'S']);
    await exchange('9SOAAAAAB', 'not-it');
    expect((await answer('9SOAAAAAB')).params.slice(4)).toEqual(['D', 'F']);
  });
});
