// Always-on users: a logged-in user of an always-on account stays when its last connection closes
// (no QUIT, away after the delay), keeps what is said to it, comes back after a restart (in-process
// and kill -9) in its channels, and a connection that logs in to its account attaches and gets
// what it missed: CHATHISTORY, a plain replay, or znc.in/playback. Expiry, limits and /metrics.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMessage, type Message } from '../../src/protocol/message.js';
import { daemonFiles, useDaemons } from '../support/daemon.js';
import { client, sleep, storeFile, TestClient, testConfig, toToml, useServers, waitUntil, type RawConfig, type TestServer } from '../support/harness.js';
import { loggedInClient } from '../support/login.js';
import { operConfig, operUp } from '../support/oper.js';

const daemons = useDaemons();
const { start: startTracked, stop, track } = useServers();

/** A server where every account is always-on unless `always_on` says otherwise. */
function start(extra: RawConfig = {}, alwaysOn: RawConfig = {}): Promise<TestServer> {
  return startTracked({ always_on: { policy: 'opt-out', ...alwaysOn }, ...extra });
}

async function login(srv: TestServer, nick: string, account = nick, caps: string[] = []): Promise<TestClient> {
  return track(await loggedInClient(srv.server, srv.port, nick, account, caps));
}

async function plain(srv: TestServer, nick: string, caps: string[] = []): Promise<TestClient> {
  return track(await client(srv.port, nick, { caps }));
}

async function joinChannel(c: TestClient, channel: string): Promise<void> {
  c.send(`JOIN ${channel}`);
  await c.waitFor((m) => m.command === '366' && m.params[1] === channel);
}

/** Closes the connection and waits until the server has seen it go (the user is then detached). */
async function detach(srv: TestServer, c: TestClient, nick: string): Promise<void> {
  c.close();
  expect(await waitUntil(() => srv.server.state.findNick(nick)?.sessions.length === 0, 3000)).toBe(true);
}

/** Everything a client got after its MOTD (an attached session's channels and replay), up to a PONG. */
async function burst(c: TestClient): Promise<Message[]> {
  await c.collectUntilPong();
  const end = c.lines.findIndex((l) => / (376|422) /.test(l));
  return c.lines.slice(end + 1).map((l) => parseMessage(l)).filter((m) => m.command !== 'PONG');
}

const commands = (msgs: Message[]) => msgs.map((m) => m.command);
const said = (msgs: Message[]) => msgs.filter((m) => m.command === 'PRIVMSG').map((m) => `${m.params[0]} ${m.params[1]}`);

describe('detaching', () => {
  it('keeps the user when its last connection closes: nick, channels, no QUIT, away at once', async () => {
    const srv = await start();
    const alys = await login(srv, 'alys');
    await joinChannel(alys, '#room');
    const bob = await plain(srv, 'bob', ['away-notify']);
    await joinChannel(bob, '#room');
    await detach(srv, alys, 'alys');

    expect((await bob.waitFor('AWAY')).params).toEqual(['Detached: no client is connected']);
    await bob.collectUntilPong();
    expect(bob.lines.some((l) => / QUIT /.test(l))).toBe(false);
    const names = await bob.ask('NAMES #room');
    expect(names.find((m) => m.command === '353')!.params[3]!.split(' ').sort()).toEqual(['@alys', 'bob']);
    const whois = await bob.ask('WHOIS alys');
    expect(whois.find((m) => m.command === '301')?.params[2]).toBe('Detached: no client is connected');
    // The nick is held.
    const other = await TestClient.connect(srv.port);
    track(other);
    other.send('NICK alys');
    other.send('USER x 0 * :x');
    expect((await other.waitFor('433')).params[1]).toBe('alys');
  });

  it('marks the user away only after away_after, and keeps an away message of its own', async () => {
    const srv = await start({}, { away_after: 1 });
    const alys = await login(srv, 'alys');
    const carol = await login(srv, 'carol');
    carol.send('AWAY :gone fishing');
    await carol.waitFor('306');
    const bob = await plain(srv, 'bob');
    await detach(srv, alys, 'alys');
    await detach(srv, carol, 'carol');
    expect(commands(await bob.ask('WHOIS alys'))).not.toContain('301');
    const user = srv.server.state.findNick('alys')!;
    expect(await waitUntil(() => user.away !== undefined, 3000)).toBe(true);
    expect((await bob.ask('WHOIS alys')).find((m) => m.command === '301')?.params[2]).toBe('Detached: no client is connected');
    expect((await bob.ask('WHOIS carol')).find((m) => m.command === '301')?.params[2]).toBe('gone fishing');
  });

  it('lets the user quit for real when ghosted and when its account is not always-on', async () => {
    const srv = await start({}, { policy: 'opt-in' });
    const alys = await login(srv, 'alys');
    const bob = await plain(srv, 'bob');
    await joinChannel(alys, '#room');
    await joinChannel(bob, '#room');
    alys.close();
    await bob.waitFor((m) => m.command === 'QUIT' && m.source!.startsWith('alys!'));

    // Opting in with NickServ makes the user always-on at once.
    const dana = await login(srv, 'dana');
    await joinChannel(dana, '#room');
    dana.send('PRIVMSG NickServ :SET ALWAYS-ON ON');
    expect((await dana.waitFor('NOTICE')).params[1]).toMatch(/Always-on is now on for dana/);
    await detach(srv, dana, 'dana');
    await bob.collectUntilPong();
    expect(bob.lines.some((l) => l.startsWith(':dana!') && / QUIT /.test(l))).toBe(false);
    // GHOST (with the account's password) ends it.
    const eve = await plain(srv, 'eve');
    eve.send('PRIVMSG NickServ :GHOST dana sesame');
    expect((await bob.waitFor((m) => m.command === 'QUIT' && m.source!.startsWith('dana!'))).params[0]).toMatch(/GHOST command used by eve/);
    expect(srv.server.state.findNick('dana')).toBeUndefined();

    // The setting stays on: the next login is always-on again, until it is turned off.
    const again = await login(srv, 'dana');
    again.send('PRIVMSG NickServ :SET ALWAYS-ON OFF');
    expect((await again.waitFor((m) => m.command === 'NOTICE' && /Always-on/.test(m.params[1]!))).params[1]).toMatch(/now off/);
    await joinChannel(again, '#room');
    again.close();
    await bob.waitFor((m) => m.command === 'QUIT' && m.source!.startsWith('dana!'));
  });
});

describe('attaching', () => {
  /** alys always-on in #room with bob; alys detaches, then bob says things to #room and to her. */
  async function missed(srv: TestServer) {
    const alys = await login(srv, 'alys');
    await joinChannel(alys, '#room');
    const bob = await login(srv, 'bob');
    await joinChannel(bob, '#room');
    await detach(srv, alys, 'alys');
    await sleep(5); // after the detach's millisecond
    bob.send('PRIVMSG #room :while you were out');
    bob.send('PRIVMSG alys :a private word');
    await bob.collectUntilPong();
    return bob;
  }

  it('replays what was missed to a client without chathistory, with server-time when it has it', async () => {
    const srv = await start();
    const bob = await missed(srv);
    const back = await login(srv, 'alys', 'alys', ['server-time']);
    const got = await burst(back);
    expect(got.some((m) => m.command === 'JOIN' && m.params[0] === '#room')).toBe(true);
    expect(got.find((m) => m.command === '353')!.params[3]!.split(' ').sort()).toEqual(['@alys', 'bob']);
    const replayed = got.filter((m) => m.command === 'PRIVMSG');
    expect(said(replayed)).toEqual(['#room while you were out', 'alys a private word']);
    expect(replayed.every((m) => m.source!.startsWith('bob!') && /^\d{4}-\d\d-\d\dT/.test(m.tags?.time ?? ''))).toBe(true);
    // Back from the automatic away; bob saw no JOIN or QUIT.
    expect(commands(await bob.ask('WHOIS alys'))).not.toContain('301');
    expect(bob.lines.filter((l) => l.startsWith(':alys!') && / (JOIN|QUIT) /.test(l))).toEqual([]);

    // A second connection while one is attached gets the channels but no replay.
    const more = await login(srv, 'alys', 'alys');
    expect(said(await burst(more))).toEqual([]);
  });

  it('puts the time in front of the text for a client without server-time', async () => {
    const srv = await start();
    await missed(srv);
    const back = await login(srv, 'alys');
    const replayed = (await burst(back)).filter((m) => m.command === 'PRIVMSG');
    expect(replayed.map((m) => m.params[1])).toEqual([expect.stringMatching(/^\[\d\d:\d\d:\d\d\] while you were out$/), expect.stringMatching(/^\[\d\d:\d\d:\d\d\] a private word$/)]);
  });

  it('leaves a chathistory client to ask, and CHATHISTORY has the direct message kept while offline', async () => {
    const srv = await start();
    await missed(srv);
    const caps = ['draft/chathistory', 'batch', 'server-time', 'message-tags'];
    const back = await login(srv, 'alys', 'alys', caps);
    expect(said(await burst(back))).toEqual([]);
    const dm = await back.ask('CHATHISTORY LATEST bob * 10');
    expect(said(dm)).toEqual(['alys a private word']);
    const room = await back.ask('CHATHISTORY LATEST #room * 10');
    expect(said(room)).toEqual(['#room while you were out']);
  });

  it('plays back with znc.in/playback: PLAY * <from>, PLAY <buffer> <from> <to>, LIST', async () => {
    const srv = await start();
    const before = Date.now() / 1000;
    await missed(srv);
    const back = await login(srv, 'alys', 'alys', ['znc.in/playback', 'server-time']);
    expect(said(await burst(back))).toEqual([]);
    expect(said(await back.ask(`PRIVMSG *playback :PLAY * ${before.toFixed(3)}`))).toEqual(['#room while you were out', 'alys a private word']);
    expect(said(await back.ask(`PRIVMSG *playback :PLAY #ROOM ${before.toFixed(3)} ${(Date.now() / 1000 + 1).toFixed(0)}`))).toEqual(['#room while you were out']);
    expect(said(await back.ask(`PRIVMSG *playback :PLAY bob ${(Date.now() / 1000 + 60).toFixed(0)}`))).toEqual([]);
    const listed = (await back.ask('PRIVMSG *playback :LIST')).filter((m) => m.source === '*playback!znc@znc.in').map((m) => m.params[1]!.split(' ')[0]);
    expect(listed.sort()).toEqual(['#room', 'bob']);
    const bad = await back.ask('PRIVMSG *playback :PLAY * yesterday');
    expect(bad.find((m) => m.source === '*playback!znc@znc.in')?.params[1]).toMatch(/Unix timestamps/);
  });

  it('attaches a connection that identifies with NickServ after registering', async () => {
    const srv = await start();
    const bob = await missed(srv);
    const late = await plain(srv, 'alys_');
    await joinChannel(late, '#lobby');
    await joinChannel(bob, '#lobby');
    late.send('PRIVMSG NickServ :IDENTIFY alys sesame');
    // Its own user leaves: it sees itself part #lobby and take the nick, bob sees alys_ quit.
    expect((await late.waitFor('PART')).params).toEqual(['#lobby', 'Attached to alys']);
    await late.waitFor((m) => m.command === 'NICK' && m.params[0] === 'alys');
    expect((await bob.waitFor((m) => m.command === 'QUIT' && m.source!.startsWith('alys_!'))).params[0]).toBe('Attached to alys');
    await late.waitFor((m) => m.command === 'JOIN' && m.params[0] === '#room');
    await late.collectUntilPong();
    const replayed = late.lines.map((l) => parseMessage(l)).filter((m) => m.command === 'PRIVMSG');
    expect(replayed.map((m) => m.params[1])).toEqual([expect.stringMatching(/while you were out$/), expect.stringMatching(/a private word$/)]);
    // One alys, with the connection; alys_ is gone.
    const whois = await bob.ask('WHOIS alys_');
    expect(commands(whois)).toContain('401');
    late.send('PRIVMSG #room :back');
    await bob.waitFor((m) => m.command === 'PRIVMSG' && m.source!.startsWith('alys!') && m.params[1] === 'back');
  });
});

describe('restarts', () => {
  it('restores always-on users with their channels and away message, and replays what was said before and after', async () => {
    const path = storeFile();
    const config = { store: { path }, history: { backend: 'sqlite' } };
    let srv = await start(config);
    const alys = await login(srv, 'alys');
    await joinChannel(alys, '#room');
    await joinChannel(alys, '#other');
    alys.send('PART #other');
    await alys.waitFor('PART');
    const carol = await login(srv, 'carol');
    await joinChannel(carol, '#room');
    carol.send('AWAY :on holiday');
    await carol.waitFor('306');
    await detach(srv, alys, 'alys');
    await sleep(5); // after the detach's millisecond
    const dave = await login(srv, 'dave');
    await joinChannel(dave, '#room');
    dave.send('PRIVMSG alys :before the restart');
    dave.send('PRIVMSG #room :said before the restart');
    await dave.collectUntilPong();
    await stop(srv);

    srv = await start(config);
    const bob = await login(srv, 'bob');
    await joinChannel(bob, '#room');
    const names = await bob.ask('NAMES #room');
    // Memberships come back without prefixes (docs/always-on.md).
    expect(names.find((m) => m.command === '353')!.params[3]!.split(' ').sort()).toEqual(['alys', 'bob', 'carol', 'dave']);
    expect(commands(await bob.ask('NAMES #other')).filter((c) => c === '353')).toEqual([]);
    expect((await bob.ask('WHOIS alys')).find((m) => m.command === '301')?.params[2]).toBe('Detached: no client is connected');
    expect((await bob.ask('WHOIS carol')).find((m) => m.command === '301')?.params[2]).toBe('on holiday');
    bob.send('PRIVMSG alys :after the restart');
    await bob.collectUntilPong();
    const back = await login(srv, 'alys', 'alys', ['server-time']);
    const got = await burst(back);
    expect(got.filter((m) => m.command === 'JOIN').map((m) => m.params[0])).toEqual(['#room']);
    expect(said(got).sort()).toEqual(['#room said before the restart', 'alys after the restart', 'alys before the restart']);
  });

  it('brings a registered channel back as ChanServ keeps it when its always-on member comes back', async () => {
    const path = storeFile();
    const config = { store: { path } };
    let srv = await start(config);
    const alys = await login(srv, 'alys');
    await joinChannel(alys, '#reg');
    alys.send('PRIVMSG ChanServ :REGISTER #reg');
    await alys.waitFor((m) => m.command === 'NOTICE' && /registered/i.test(m.params[1]!));
    alys.send('MODE #reg +s');
    alys.send('TOPIC #reg :kept by ChanServ');
    await alys.waitFor('TOPIC');
    await detach(srv, alys, 'alys');
    await stop(srv);

    srv = await start(config);
    const bob = await login(srv, 'bob');
    await joinChannel(bob, '#reg');
    expect((await bob.ask('TOPIC #reg')).find((m) => m.command === '332')?.params[2]).toBe('kept by ChanServ');
    expect((await bob.ask('MODE #reg')).find((m) => m.command === '324')?.params[2]).toContain('s');
    const names = (await bob.ask('NAMES #reg')).find((m) => m.command === '353')!.params[3]!.split(' ');
    expect(names).toContain('bob');
    expect(names.some((n) => n.replace(/^[@+%]/, '') === 'alys')).toBe(true);
    // The first to join after the restart is not its operator.
    expect(names).not.toContain('@bob');
  });

  it('forgets a user that was killed: it does not come back at the next start', async () => {
    const path = storeFile();
    const config = operConfig({ store: { path } });
    let srv = await start(config);
    const alys = await login(srv, 'alys');
    const carol = await login(srv, 'carol');
    await joinChannel(alys, '#room');
    await joinChannel(carol, '#room');
    const op = await plain(srv, 'op');
    await joinChannel(op, '#room');
    await operUp(op);
    await detach(srv, alys, 'alys');
    await detach(srv, carol, 'carol');
    op.send('KILL alys :enough');
    expect((await op.waitFor((m) => m.command === 'QUIT' && m.source!.startsWith('alys!'))).params[0]).toMatch(/Killed/);
    await stop(srv);

    srv = await start(config);
    expect(srv.server.state.findNick('alys')).toBeUndefined();
    expect(srv.server.state.findNick('carol')?.sessions.length).toBe(0);
  });

  it('keeps what was written before a kill -9 of the daemon', async () => {
    const { port, config } = await daemonFiles((dir) => ({ store: { path: join(dir, 'ircd.db') } }));
    let daemon = daemons.spawn(config);
    const alys = await daemons.connectWhenUp(port);
    await alys.register('alys');
    alys.send('REGISTER * * sturdy-password');
    await alys.waitFor((m) => m.command === 'REGISTER' && m.params[0] === 'SUCCESS');
    // The shipped policy is opt-in: the account turns it on.
    alys.send('PRIVMSG NickServ :SET ALWAYS-ON ON');
    await alys.waitFor((m) => m.command === 'NOTICE' && /Always-on is now on/.test(m.params[1]!));
    await joinChannel(alys, '#keep');
    await alys.collectUntilPong();
    // Still connected, no goodbye: the process dies.
    expect((await daemon.kill('SIGKILL')).signal).toBe('SIGKILL');

    daemon = daemons.spawn(config);
    const bob = await daemons.connectWhenUp(port);
    await bob.register('bob');
    bob.send('NAMES #keep');
    expect((await bob.waitFor('353')).params[3]).toBe('alys');
    const back = await daemons.connectWhenUp(port);
    await saslLoginAs(back, 'alys', 'sturdy-password');
    await back.waitFor((m) => m.command === 'JOIN' && m.params[0] === '#keep');
  });
});

/** SASL PLAIN with a password, then registration under another nick (the attach gives the user's). */
async function saslLoginAs(c: TestClient, account: string, password: string): Promise<void> {
  c.send('CAP LS 302');
  c.send('CAP REQ :sasl');
  await c.waitFor((m) => m.command === 'CAP' && m.params[1] === 'ACK');
  c.send('AUTHENTICATE PLAIN');
  await c.waitFor('AUTHENTICATE');
  c.send(`AUTHENTICATE ${Buffer.from(`\0${account}\0${password}`).toString('base64')}`);
  await c.waitFor('903');
  c.send('CAP END');
  c.send('NICK someone');
  c.send('USER someone 0 * :x');
  expect((await c.waitFor('001')).params[0]).toBe(account);
}

describe('bounds', () => {
  it('expires a user without a connection after expire_after, with a QUIT', async () => {
    const srv = await start({}, { expire_after: 1 });
    const alys = await login(srv, 'alys');
    await joinChannel(alys, '#room');
    const bob = await plain(srv, 'bob');
    await joinChannel(bob, '#room');
    await detach(srv, alys, 'alys');
    const quit = await bob.waitFor((m) => m.command === 'QUIT' && m.source!.startsWith('alys!'), { timeout: 5000 });
    expect(quit.params[0]).toMatch(/^Always-on user expired/);
  });

  it('keeps one always-on user per account: a connection past max_sessions is a user of its own, not always-on', async () => {
    const srv = await start({ accounts: { max_sessions: 1 } });
    const alys = await login(srv, 'alys');
    const bob = await plain(srv, 'bob');
    const second = await login(srv, 'alys2', 'alys');
    for (const c of [alys, second, bob]) await joinChannel(c, '#room');
    second.close();
    await bob.waitFor((m) => m.command === 'QUIT' && m.source!.startsWith('alys2!'));
    await detach(srv, alys, 'alys');
  });

  it('lets go of users whose account a REHASH makes not always-on', async () => {
    const srv = await start();
    const alys = await login(srv, 'alys');
    const bob = await plain(srv, 'bob');
    await joinChannel(alys, '#room');
    await joinChannel(bob, '#room');
    await detach(srv, alys, 'alys');
    writeFileSync(srv.configPath, toToml(testConfig({ always_on: { policy: 'disabled' } })));
    await srv.server.rehash('test');
    expect((await bob.waitFor((m) => m.command === 'QUIT' && m.source!.startsWith('alys!'))).params[0]).toBe('Always-on was turned off');
  });

  it('makes no more than max_users always-on, and counts them in /metrics', async () => {
    const srv = await start({ metrics: { enabled: true, address: '127.0.0.1', port: 0 } }, { max_users: 1 });
    const alys = await login(srv, 'alys');
    const carol = await login(srv, 'carol');
    const bob = await plain(srv, 'bob');
    for (const c of [alys, carol, bob]) await joinChannel(c, '#room');
    const metric = async () => {
      const text = await (await fetch(`http://127.0.0.1:${srv.server.http!.port}/metrics`)).text();
      return ['attached', 'detached'].map((s) => Number(new RegExp(`^ircd_always_on_users\\{state="${s}"\\} (\\d+)$`, 'm').exec(text)?.[1]));
    };
    expect(await metric()).toEqual([1, 0]);
    await detach(srv, alys, 'alys');
    expect(await metric()).toEqual([0, 1]);
    carol.close();
    await bob.waitFor((m) => m.command === 'QUIT' && m.source!.startsWith('carol!'));
    const back = await login(srv, 'alys');
    await back.collectUntilPong();
    expect(await metric()).toEqual([1, 0]);
  });
});
