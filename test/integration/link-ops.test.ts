// Operators and queries across a network of linked daemons: server bans set on one server reach
// the others, remote WHOIS and the other hunted queries, the server tree, notices and WALLOPS,
// STATS for links, and MONITOR and WHOWAS of remote users.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bansOf } from '../../src/modules/bans.js';
import { parseMessage, type Message } from '../../src/protocol/message.js';
import { waitUntil, type TestClient } from '../support/harness.js';
import { linkHarness } from '../support/link.js';

const { daemon, linked, hubWithLeaves, user, oper } = linkHarness();

/** Sends a query and collects what comes until its last numeric `end` (an answer from another server comes after our PONG). */
async function query(c: TestClient, line: string, end: string): Promise<Message[]> {
  const from = c.mark;
  c.send(line);
  await c.waitFor(end, { from });
  return c.lines.slice(from).map((l) => parseMessage(l));
}

describe('server bans across a network', () => {
  it('a K-line set on B disconnects a matching user on C, keeps its duration everywhere, and its removal reaches every server', async () => {
    const { a, b, c } = await hubWithLeaves();
    const victim = await user(c, 'victim', { user: 'bad' });
    const bystander = await user(c, 'fine', { user: 'good' });
    const op = await oper(b, 'op');
    op.send('KLINE 1h bad@127.0.0.1 :spamming');
    await op.waitFor((m) => m.command === 'NOTICE' && m.params[1]!.includes('Added'));
    await victim.waitClosed(3000);
    expect(victim.lines.some((l) => l.startsWith('ERROR') && l.includes('Banned: spamming'))).toBe(true);
    await waitUntil(() => !a.server.state.findNick('victim') && !b.server.state.findNick('victim'), 3000);
    expect(b.server.state.findNick('victim')).toBeUndefined();
    expect(bystander.closed).toBe(false);
    // Every server holds it, with its hour (give or take the minute TS6 rounds to).
    for (const s of [a, c]) {
      const [ban] = bansOf(s.server).list('K', Date.now());
      expect(ban?.mask).toBe('bad@127.0.0.1');
      expect(ban?.reason).toBe('spamming');
      expect(Math.round((ban!.expiresAt! - Date.now()) / 60000)).toBe(60);
    }
    // A new connection to C is refused by it.
    const again = await user(c, 'again', { user: 'bad' }).catch((err: Error) => err);
    expect(again).toBeInstanceOf(Error);
    op.send('UNKLINE bad@127.0.0.1');
    await op.waitFor((m) => m.command === 'NOTICE' && m.params[1]!.includes('removed'));
    await waitUntil(() => bansOf(a.server).size === 0 && bansOf(c.server).size === 0, 3000);
    expect(bansOf(c.server).size).toBe(0);
    const back = await user(c, 'back', { user: 'bad' });
    expect(back.closed).toBe(false);
  });

  it('D-lines and X-lines go too, and opers of the other servers get the notice naming the server', async () => {
    const { a, b, c } = await hubWithLeaves();
    const watcher = await oper(c, 'watcher');
    const gecos = await user(a, 'gecos', { realname: 'evil bot' });
    const op = await oper(b, 'op');
    op.send('XLINE evil\\sbot :no bots');
    await gecos.waitClosed(3000);
    const notice = await watcher.waitFor((m) => m.command === 'NOTICE' && m.params[1]!.includes('X-Line for [evil bot]'));
    expect(notice.params[1]).toContain('op (b.test)');
    op.send('DLINE 10m 192.0.2.0/24 :range');
    await waitUntil(() => bansOf(c.server).list('D', Date.now()).length === 1, 3000);
    expect(bansOf(c.server).list('D', Date.now())[0]!.mask).toBe('192.0.2.0/24');
    op.send('UNXLINE evil\\sbot');
    await waitUntil(() => bansOf(c.server).list('X', Date.now()).length === 0, 3000);
    expect(bansOf(a.server).list('X', Date.now())).toHaveLength(0);
  });
});

describe('queries across a network', () => {
  it('WHOIS <nick> <nick> is answered by the user’s own server, two links away, with its idle time; a plain WHOIS answers here without it', async () => {
    const { b, c } = await hubWithLeaves();
    const carol = await user(c, 'carol');
    carol.send('AWAY :busy');
    await carol.waitFor('306');
    const bob = await user(b, 'bob');
    await waitUntil(() => b.server.state.findNick('carol')?.away === 'busy', 3000);
    const local = await bob.ask('WHOIS carol');
    expect(local.find((m) => m.command === '312')!.params[2]).toBe('c.test');
    expect(local.some((m) => m.command === '317')).toBe(false);
    for (const ask of ['WHOIS carol carol', 'WHOIS c.test carol', 'WHOIS C.TEST carol']) {
      bob.send(ask);
      const idle = await bob.waitFor('317', { from: bob.mark });
      expect(idle.source).toBe('c.test');
      expect(idle.params.slice(0, 2)).toEqual(['bob', 'carol']);
      expect(Number(idle.params[3])).toBeGreaterThan(1e9);
      const end = await bob.waitFor('318');
      expect(end.source).toBe('c.test');
    }
    // The other lines came from C too: 311 first, the away message, the server.
    const user311 = bob.lines.filter((l) => l.startsWith(':c.test 311 bob carol'));
    expect(user311.length).toBe(3);
    expect(bob.lines.some((l) => l.startsWith(':c.test 301 bob carol') && l.endsWith('busy'))).toBe(true);
    // An unknown server is 402 here.
    const none = await bob.ask('WHOIS nowhere.test carol');
    expect(none.find((m) => m.command === '402')!.params[1]).toBe('nowhere.test');
  });

  it('MOTD, VERSION, TIME, ADMIN, INFO, LUSERS, STATS and LINKS name another server and are answered from there; PING of a server gets its PONG', async () => {
    const { b } = await hubWithLeaves();
    const bob = await user(b, 'bob');
    const motd = await query(bob, 'MOTD c.test', '376');
    expect(motd.find((m) => m.command === '375')).toMatchObject({ source: 'c.test', params: ['bob', '- c.test Message of the day - '] });
    const version = await query(bob, 'VERSION c.test', '005');
    expect(version.find((m) => m.command === '351')!.params[2]).toBe('c.test');
    expect(version.some((m) => m.command === '005' && m.source === 'c.test')).toBe(true);
    const time = await query(bob, 'TIME a.test', '391');
    expect(time.find((m) => m.command === '391')).toMatchObject({ source: 'a.test', params: ['bob', 'a.test', expect.any(String), '0', expect.any(String)] });
    expect((await query(bob, 'ADMIN c.test', '259')).find((m) => m.command === '256')!.params[1]).toBe('c.test');
    expect((await query(bob, 'INFO c.test', '374')).some((m) => m.command === '374' && m.source === 'c.test')).toBe(true);
    const lusers = await query(bob, 'LUSERS * c.test', '266');
    expect(lusers.find((m) => m.command === '255')).toMatchObject({ source: 'c.test', params: ['bob', 'I have 0 clients and 1 servers'] });
    expect(lusers.find((m) => m.command === '251')!.params[1]).toBe('There are 1 users and 0 invisible on 3 servers');
    const uptime = await query(bob, 'STATS u c.test', '219');
    expect(uptime.find((m) => m.command === '242')!.source).toBe('c.test');
    // STATS for operators is refused there: a user of another server carries no privileges.
    expect((await query(bob, 'STATS k c.test', '219')).find((m) => m.command === '481')!.source).toBe('c.test');
    const links = await query(bob, 'LINKS c.test *', '365');
    expect(links.filter((m) => m.command === '364').map((m) => m.params.slice(1, 3))).toEqual(
      expect.arrayContaining([
        ['c.test', 'c.test'],
        ['a.test', 'c.test'],
        ['b.test', 'a.test'],
      ]),
    );
    bob.send('PING hello c.test');
    const pong = await bob.waitFor('PONG');
    expect(pong).toMatchObject({ source: 'c.test', params: ['c.test', 'bob'] });
    expect((await bob.ask('MOTD nowhere.test')).find((m) => m.command === '402')!.params[1]).toBe('nowhere.test');
  });
});

describe('operating links', () => {
  it('STATS l shows each link’s traffic and burst, STATS c the [[link]] blocks without passwords, /metrics the links', async () => {
    const a = await daemon('a', '1AA', [{ name: 'b' }], { metrics: { enabled: true, address: '127.0.0.1', port: 0 } });
    const b = await daemon('b', '2BB', [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true }]);
    await linked(a, b);
    await waitUntil(() => a.server.stats.links!().every((l) => l.burstSeconds !== undefined), 3000);
    const op = await oper(a, 'op');
    const stats = await query(op, 'STATS l', '219');
    const link = stats.find((m) => m.command === '211' && m.params[1]!.startsWith('b.test['))!;
    expect(link.params[1]).toBe('b.test[127.0.0.1]');
    expect(link.params.slice(2, 8).every((v) => /^\d+$/.test(v!))).toBe(true);
    expect(Number(link.params[5])).toBeGreaterThan(3); // PASS, CAPAB, SERVER, SVINFO, its burst
    expect(link.params[8]).toMatch(/^server link, incoming, burst took \d+\.\d{3}s$/);
    const blocks = await query(op, 'STATS c', '219');
    expect(blocks.find((m) => m.command === '213')!.params.slice(1)).toEqual(['C', '127.0.0.1', '*', 'b.test', '1', 'default']);
    expect(blocks.some((m) => m.params.some((p) => p.includes('linkpass') || p.includes('$scrypt')))).toBe(false);
    // Not for users.
    const someone = await user(a, 'someone');
    expect((await query(someone, 'STATS c', '219')).some((m) => m.command === '481')).toBe(true);

    const res = await fetch(`http://127.0.0.1:${a.server.http!.port}/metrics`);
    const text = await res.text();
    expect(text).toMatch(/^ircd_links_up 1$/m);
    expect(text).toMatch(/^ircd_link_burst_seconds\{server="b\.test"\} \d/m);
    const lines = Number(/^ircd_link_received_lines_total\{server="b\.test"\} (\d+)$/m.exec(text)?.[1]);
    expect(lines).toBeGreaterThan(3);
    expect(text).toMatch(/^ircd_link_sent_bytes_total\{server="b\.test"\} [1-9]\d*$/m);
  });

  it('opers hear of link events: s for this server’s links (up, burst, refused, split), x for servers elsewhere', async () => {
    const a = await daemon('a', '1AA', [{ name: 'b' }, { name: 'c' }]);
    const op = await oper(a, 'op');
    const b = await daemon('b', '2BB', [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true }]);
    await linked(a, b);
    const watcher = await oper(b, 'watcher');
    const notice = (c: TestClient, text: string) => c.waitFor((m) => m.command === 'NOTICE' && m.params[1]!.includes(text), { from: 0 });
    await notice(op, 'Link with b.test[127.0.0.1] established (it connected)');
    await notice(op, 'End of burst from b.test');
    const c = await daemon('c', '3CC', [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true }]);
    await linked(a, c);
    await notice(watcher, 'Server c.test being introduced by a.test');
    // A server A has no [[link]] block for is refused, and told.
    await daemon('d', '4DD', [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true }]);
    await notice(op, 'Link with d.test[127.0.0.1] refused: No link block for d.test');
    await c.stop();
    await notice(op, 'Server c.test split from a.test');
    await notice(watcher, 'Server c.test split from a.test');
  });
});

describe('link events in the log', () => {
  it('logs each link event: connected, burst with its duration, refused, servers introduced and split behind a link, closed', async () => {
    const logFile = join(mkdtempSync(join(tmpdir(), 'ircd-log-')), 'ircd.log');
    const a = await daemon('a', '1AA', [{ name: 'b', hub: true }], { log: { level: 'info', destination: logFile } });
    const b = await daemon('b', '2BB', [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true }, { name: 'c' }]);
    await linked(a, b);
    const c = await daemon('c', '3CC', [{ name: 'b', port: b.serverPort, autoconnect: true, hub: true }]);
    await linked(a, c);
    await daemon('d', '4DD', [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true }]);
    const events = () =>
      (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { msg: string; link?: string; server?: string; seconds?: number; reason?: string });
    const logged = (msg: string, name: string) => events().some((e) => e.msg === msg && (e.link ?? e.server) === name);
    expect(await waitUntil(() => logged('server linked', 'b.test') && logged('server link burst received', 'b.test') && logged('server link refused', 'd.test'), 5000)).toBe(true);
    expect(events().find((e) => e.msg === 'server link burst received')!.seconds).toBeGreaterThanOrEqual(0);
    expect(events().find((e) => e.msg === 'server link refused')!.reason).toBe('No link block for d.test');
    expect(await waitUntil(() => logged('server introduced', 'c.test'), 5000)).toBe(true);
    await c.stop();
    expect(await waitUntil(() => logged('server split', 'c.test'), 5000)).toBe(true);
    await b.stop();
    expect(await waitUntil(() => logged('server link closed', 'b.test'), 5000)).toBe(true);
  });
});

describe('operators across a network', () => {
  it('WALLOPS reaches +w users of every server, GLOBOPS the opers of every server, oper-ups and kills are noticed network-wide', async () => {
    const { a, b, c } = await hubWithLeaves();
    const reader = await user(c, 'reader');
    reader.send('MODE reader +w');
    await reader.waitFor('MODE');
    const watcher = await oper(c, 'watcher');
    const op = await oper(b, 'op');
    // B's oper-up reached C's opers, from b.test.
    const up = await watcher.waitFor((m) => m.command === 'NOTICE' && m.params[1]!.includes('op (') && m.params[1]!.includes('is now an operator'), { from: 0 });
    expect(up.source).toBe('b.test');
    await waitUntil(() => c.server.state.findNick('op')?.modes.has('o') === true, 3000);
    op.send('WALLOPS :network maintenance');
    const wallops = await reader.waitFor('WALLOPS');
    expect(wallops.source).toMatch(/^op!/);
    expect(wallops.params).toEqual(['network maintenance']);
    op.send('GLOBOPS :look at this');
    const globops = await watcher.waitFor((m) => m.command === 'NOTICE' && m.params[1]!.includes('GLOBOPS from op: look at this'));
    expect(globops.params[1]).toBe('*** Notice -- GLOBOPS from op: look at this');
    op.send('LOCOPS :only here');
    await op.ask('PING x');
    // A remote oper shows as one: WHO's * and WHOIS's 313.
    const who = await query(watcher, 'WHO op', '315');
    expect(who.find((m) => m.command === '352')!.params[6]).toBe('H*');
    op.send('KILL reader :enough');
    await reader.waitClosed(3000);
    await watcher.waitFor((m) => m.command === 'NOTICE' && m.params[1]!.includes('Received KILL message for reader'));
    expect(watcher.lines.some((l) => l.includes('only here'))).toBe(false);
    expect(a.server.state.findNick('reader')).toBeUndefined();
  });

  it('CONNECT <server> <port> <remote server> links from the remote server, whose notices come back', async () => {
    const c = await daemon('c', '3CC', [{ name: 'a', hub: true }]);
    const a = await daemon('a', '1AA', [{ name: 'b' }, { name: 'c', port: c.serverPort }]);
    const b = await daemon('b', '2BB', [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true }]);
    await linked(a, b);
    const plain = await user(b, 'plain');
    expect((await query(plain, 'CONNECT c.test 0 a.test', '481')).some((m) => m.command === '481')).toBe(true);
    const op = await oper(b, 'op');
    op.send('CONNECT c.test 0 a.test');
    const notice = await op.waitFor((m) => m.command === 'NOTICE' && m.params[1]!.startsWith('*** Connecting to c.test'));
    expect(notice.source).toBe('a.test');
    await linked(a, c);
    await linked(b, c);
    expect((await query(op, 'CONNECT c.test 0 nowhere.test', '402')).find((m) => m.command === '402')!.params[1]).toBe('nowhere.test');
  });
});

describe('the server tree', () => {
  it('MAP draws the tree from this server with each server’s users; LINKS and LUSERS count the whole network', async () => {
    const { b } = await hubWithLeaves();
    const bob = await user(b, 'bob');
    const map = (await query(bob, 'MAP', '017')).filter((m) => m.command === '015').map((m) => m.params[1]!);
    expect(map).toHaveLength(3);
    expect(map[0]).toMatch(/^b\.test\[2BB\] -+ \| Users: +1 \(100\.0%\)$/);
    expect(map[1]).toMatch(/^`- a\.test\[1AA\] -+ \| Users: +0 \(0\.0%\)$/);
    expect(map[2]).toMatch(/^ {3}`- c\.test\[3CC\] -+ \| Users: +0 \(0\.0%\)$/);
    const links = (await query(bob, 'LINKS', '365')).filter((m) => m.command === '364').map((m) => m.params.slice(1));
    expect(links).toContainEqual(['c.test', 'a.test', '2 An IRC server']);
    const lusers = await query(bob, 'LUSERS', '266');
    expect(lusers.find((m) => m.command === '251')!.params[1]).toBe('There are 1 users and 0 invisible on 3 servers');
  });

  it('MAP is for operators where links are hidden', async () => {
    const a = await daemon('a', '1AA', [], { stats: { links_public: false } });
    const someone = await user(a, 'someone');
    expect((await query(someone, 'MAP', '481')).some((m) => m.command === '481')).toBe(true);
    const op = await oper(a, 'op');
    expect((await query(op, 'MAP', '017')).filter((m) => m.command === '015')).toHaveLength(1);
  });
});

describe('MONITOR and WHOWAS of users of other servers', () => {
  it('MONITOR follows a user two links away coming, leaving and split off; WHOWAS remembers it with its server', async () => {
    const { a, b, c } = await hubWithLeaves();
    const bob = await user(b, 'bob');
    bob.send('MONITOR + carol');
    expect((await bob.waitFor('731')).params[1]).toBe('carol');
    const carol = await user(c, 'carol', { realname: 'Carol C' });
    expect((await bob.waitFor('730')).params[1]).toMatch(/^carol!/);
    carol.send('QUIT :bye');
    expect((await bob.waitFor('731', { from: bob.mark })).params[1]).toBe('carol');
    const was = await query(bob, 'WHOWAS carol', '369');
    expect(was.find((m) => m.command === '314')!.params.slice(1, 3)).toEqual(['carol', 'carol']);
    expect(was.find((m) => m.command === '312')!.params[2]).toBe('c.test');
    // A netsplit takes a user away too: it is offline to MONITOR and in WHOWAS, with its server.
    const dave = await user(c, 'dave');
    bob.send('MONITOR + dave');
    await bob.waitFor((m) => m.command === '730' && m.params[1]!.startsWith('dave!'));
    expect(dave.closed).toBe(false);
    const from = bob.mark;
    await c.stop();
    expect((await bob.waitFor('731', { from })).params[1]).toBe('dave');
    await waitUntil(() => !a.server.state.findServer('c.test'), 3000);
    const split = await query(bob, 'WHOWAS dave', '369');
    expect(split.find((m) => m.command === '312')!.params[2]).toBe('c.test');
  });
});
