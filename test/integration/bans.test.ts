// Server bans: KLINE/DLINE/XLINE set, enforced on online and new users, expired, removed, listed
// with STATS, and kept across a restart with the same database file.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bansOf } from '../../src/modules/bans.js';
import type { BanKind } from '../../src/store/ban-index.js';
import { client, TestClient, useServers, type TestServer } from '../support/harness.js';
import { operConfig, operUp } from '../support/oper.js';

const servers = useServers();
const start = (extra = {}): Promise<TestServer> => servers.start(operConfig(extra));

async function oper(port: number): Promise<TestClient> {
  const op = await client(port, 'op');
  await operUp(op);
  return op;
}

function notice(c: TestClient, pattern: RegExp) {
  return c.waitFor((m) => m.command === 'NOTICE' && pattern.test(m.params[1]!));
}

/** Connects from another loopback address and tries to register; returns the client. */
async function attempt(port: number, nick: string, opts: { from?: string; user?: string; realname?: string } = {}): Promise<TestClient> {
  const c = await TestClient.connect(port, { localAddress: opts.from });
  c.send(`NICK ${nick}`);
  c.send(`USER ${opts.user ?? nick} 0 * :${opts.realname ?? 'Test User'}`);
  return c;
}

describe('KLINE', () => {
  it('needs the ban privilege', async () => {
    const srv = await start();
    const c = await client(srv.port, 'someone');
    for (const cmd of ['KLINE *@example.net :x', 'UNKLINE *@example.net', 'DLINE 192.0.2.1', 'UNDLINE 192.0.2.1', 'XLINE bot', 'UNXLINE bot']) {
      c.send(cmd);
      await c.waitFor('481');
    }
  });

  it('disconnects matching users online, refuses new ones with 465, and lifts with UNKLINE', async () => {
    const srv = await start();
    const op = await oper(srv.port);
    const victim = await client(srv.port, 'victim', { user: 'baduser' });
    const bystander = await client(srv.port, 'bystander');
    op.send('KLINE 1h baduser@127.0.0.* :spam from here');
    await notice(op, /^\*\*\* Added 1h K-Line for \[baduser@127\.0\.0\.\*\]: spam from here$/);
    expect((await victim.waitFor('ERROR')).params[0]).toContain('Banned: spam from here');
    await victim.waitClosed();
    await notice(op, /K-Line active for victim \(baduser@127\.0\.0\.1\)/);

    const again = await attempt(srv.port, 'again', { user: 'baduser' });
    expect((await again.waitFor('465')).params[1]).toMatch(/You are banned from this server: spam from here/);
    await again.waitClosed();
    expect((await bystander.collectUntilPong()).some((m) => m.command === 'ERROR')).toBe(false);

    op.send('UNKLINE baduser@127.0.0.*');
    await notice(op, /^\*\*\* K-Line for \[baduser@127\.0\.0\.\*\] removed$/);
    await client(srv.port, 'welcome', { user: 'baduser' });
    op.send('UNKLINE baduser@127.0.0.*');
    expect((await op.waitFor('FAIL')).params.slice(0, 2)).toEqual(['UNKLINE', 'NO_SUCH_BAN']);
  });

  it('bans a nick\'s host, refuses masks covering everyone, and expires on time', async () => {
    const srv = await start();
    const op = await oper(srv.port);
    op.send('KLINE *@*');
    expect((await op.waitFor('FAIL')).params.slice(0, 2)).toEqual(['KLINE', 'INVALID_PARAMS']);
    op.send('KLINE 1s *@127.0.0.9 :short');
    await notice(op, /Added 1s K-Line/);
    const early = await attempt(srv.port, 'early', { from: '127.0.0.9' });
    await early.waitFor('465');
    await new Promise((r) => setTimeout(r, 1100));
    const late = await attempt(srv.port, 'late', { from: '127.0.0.9' });
    await late.waitFor('001');
    op.send('STATS k');
    expect((await op.collectUntilPong()).filter((m) => m.command === '216')).toEqual([]);
  });
});

describe('bans that would reach too far', () => {
  it('refuses K-line ranges wider than D-lines may be, IPv4-mapped forms included, and hosts that are all wildcards', async () => {
    const srv = await start();
    const op = await oper(srv.port);
    const refusals: Array<[string, string]> = [
      ['KLINE *@0.0.0.0/0', 'at most a /16 of IPv4'],
      ['KLINE baduser@127.0.0.0/8', 'at most a /16 of IPv4'],
      ['KLINE *@::/0', 'at most a /48 of IPv6'],
      ['KLINE *@::ffff:0.0.0.0/0', 'at most a /16 of IPv4'],
      // IPv4 clients are matched as ::ffff:a.b.c.d: these hold every IPv4 address.
      ['KLINE *@::ffff:0:0/96', 'IPv4-mapped'],
      ['KLINE *@::/80', 'IPv4-mapped'],
      ['DLINE 0::ffff:0:0/96', 'IPv4-mapped'], // a parameter may not start with ":"
      ['KLINE *@*:*', 'would ban every host'],
    ];
    for (const [command, why] of refusals) {
      op.send(`${command} :too much`);
      const fail = await op.waitFor('FAIL');
      expect(fail.params.slice(0, 2)).toEqual([command.slice(0, 5), 'INVALID_PARAMS']);
      expect(fail.params[2]).toContain(why);
    }
    op.send('KLINE *@192.0.0.0/16 :widest allowed');
    await notice(op, /Added permanent K-Line for \[\*@192\.0\.0\.0\/16\]/);
    op.send('STATS k');
    expect((await op.collectUntilPong()).filter((m) => m.command === '216').map((m) => m.params[2])).toEqual(['192.0.0.0/16']);
    expect(op.closed).toBe(false);
  });

  it('refuses a ban matching the oper who sets it until MYSELF confirms it', async () => {
    const srv = await start();
    const op = await oper(srv.port);
    const bystander = await client(srv.port, 'bystander');
    // The oper is op@127.0.0.1 with the realname "Test User"; "KLINE op" stands for *@127.0.0.1.
    for (const command of ['KLINE 1h *@127.0.0.0/16 :oops', 'KLINE op', 'DLINE 127.0.0.1 :oops', 'XLINE test\\suser :oops']) {
      op.send(command);
      const fail = await op.waitFor('FAIL');
      expect(fail.params.slice(0, 2)).toEqual([command.slice(0, 5), 'WOULD_BAN_YOU']);
      expect(fail.params[2]).toMatch(/matches you \(op@127\.0\.0\.1 \[127\.0\.0\.1\]\).* MYSELF /);
    }
    op.send('STATS k');
    op.send('STATS d');
    op.send('STATS x');
    expect((await op.collectUntilPong()).filter((m) => ['216', '225', '247'].includes(m.command))).toEqual([]);
    const help = (await op.ask('HELP KLINE')).map((m) => m.params[2]).join('\n');
    expect(help).toContain('KLINE [MYSELF] [<duration>]');
    expect(help).toMatch(/refused unless MYSELF comes first/);

    op.send('KLINE MYSELF 1h *@127.0.0.0/16 :meant it');
    await notice(op, /^\*\*\* Added 1h K-Line for \[\*@127\.0\.0\.0\/16\]: meant it$/);
    expect((await op.waitFor('ERROR')).params[0]).toContain('Banned: meant it');
    expect((await bystander.waitFor('ERROR')).params[0]).toContain('Banned: meant it');
  });
});

describe('DLINE', () => {
  it('refuses banned IPs and CIDR ranges at accept and drops those online', async () => {
    const srv = await start();
    const op = await oper(srv.port);
    const online = await client(srv.port, 'online');
    const fromFive = await TestClient.connect(srv.port, { localAddress: '127.0.0.5' });
    await fromFive.register('five');
    op.send('DLINE 127.0.0.4/30 :bad range');
    await notice(op, /Added permanent D-Line for \[127\.0\.0\.4\/30\]/);
    expect((await fromFive.waitFor('ERROR')).params[0]).toContain('bad range');
    const refused = await TestClient.connect(srv.port, { localAddress: '127.0.0.6' });
    expect((await refused.waitFor('ERROR')).params[0]).toMatch(/Closing Link: 127\.0\.0\.6 \(Banned: bad range\)/);
    await refused.waitClosed();
    expect(online.closed).toBe(false);

    op.send('DLINE 2001:db8::/48 :v6 range');
    await notice(op, /Added permanent D-Line for \[2001:db8::\/48\]/);
    op.send('DLINE not-an-ip');
    expect((await op.waitFor('FAIL')).params.slice(0, 2)).toEqual(['DLINE', 'INVALID_PARAMS']);
    op.send('STATS d');
    const listed = (await op.collectUntilPong()).filter((m) => m.command === '225').map((m) => m.params.slice(1, 3));
    expect(listed).toEqual([
      ['D', '127.0.0.4/30'],
      ['D', '2001:db8::/48'],
    ]);
    op.send('UNDLINE 127.0.0.4/30');
    await notice(op, /D-Line for \[127\.0\.0\.4\/30\] removed/);
    await (await TestClient.connect(srv.port, { localAddress: '127.0.0.6' })).register('six');
  });

  it('refuses ranges wider than bans.dline_min_cidr / dline_min_cidr6', async () => {
    const srv = await start();
    const op = await oper(srv.port);
    for (const [range, limit] of [['0.0.0.0/0', '/16'], ['127.0.0.0/8', '/16'], ['2001:db8::/32', '/48'], ['0::/0', '/48']]) {
      op.send(`DLINE ${range} :too much`);
      const fail = await op.waitFor('FAIL');
      expect(fail.params.slice(0, 2)).toEqual(['DLINE', 'INVALID_PARAMS']);
      expect(fail.params[2]).toContain(`at most a ${limit}`);
    }
    op.send('DLINE 192.0.0.0/16 :widest allowed');
    await notice(op, /Added permanent D-Line for \[192\.0\.0\.0\/16\]/);
    expect(op.closed).toBe(false);
  });
});

describe('XLINE', () => {
  it('bans realnames by glob (\\s for spaces)', async () => {
    const srv = await start();
    const op = await oper(srv.port);
    const bot = await client(srv.port, 'bot', { realname: 'I am a Spam Bot' });
    op.send('XLINE *spam\\sbot* :no bots');
    expect((await bot.waitFor('ERROR')).params[0]).toContain('no bots');
    const again = await attempt(srv.port, 'bot2', { realname: 'another spam bot here' });
    await again.waitFor('465');
    await client(srv.port, 'human', { realname: 'A spam-free human' });
    op.send('STATS x');
    const rows = (await op.collectUntilPong()).filter((m) => m.command === '247');
    expect(rows.map((m) => m.params.slice(1, 3))).toEqual([['X', '*spam\\sbot*']]);
    expect(rows[0]!.params[3]).toMatch(/^no bots \(set by alice .*permanent\)$/);
  });
});

describe('TESTLINE and TESTMASK', () => {
  it('need the ban privilege', async () => {
    const srv = await start();
    const c = await client(srv.port, 'someone');
    for (const line of ['TESTLINE *@1.2.3.4', 'TESTMASK *@*']) {
      c.send(line);
      await c.waitFor('481');
    }
  });

  it('TESTLINE names the D-, K- and X-lines and the allow block a user@host, IP or realname would meet', async () => {
    const srv = await start({
      allow: [
        { mask: '10.1.0.0/16', class: 'default' },
        { mask: '*.example.org', class: 'default' },
        { mask: '127.0.0.0/8', class: 'default' },
      ],
    });
    const op = await oper(srv.port);
    for (const line of ['DLINE 10.9.0.0/24 :dline reason', 'KLINE 1h bad@10.1.* :kline reason', 'XLINE spam\\sbot :xline reason']) {
      op.send(line);
      await notice(op, /Added/);
    }
    const replies = async (line: string) => (await op.ask(line)).map((m) => [m.command, ...m.params.slice(1)]);
    expect(await replies('TESTLINE 10.9.0.7')).toEqual([['725', 'D', '0', '10.9.0.0/24', 'dline reason']]);
    expect(await replies('TESTLINE bad@10.1.2.3')).toEqual([
      ['725', 'k', '60', 'bad@10.1.*', 'kline reason'],
      ['215', 'I', '10.1.0.0/16', '*', '10.1.0.0/16', '0', 'default'],
    ]);
    expect(await replies('TESTLINE good@10.1.2.3')).toEqual([['215', 'I', '10.1.0.0/16', '*', '10.1.0.0/16', '0', 'default']]);
    expect(await replies('TESTLINE someone@host.example.org')).toEqual([['215', 'I', '*.example.org', '*', '*.example.org', '0', 'default']]);
    expect(await replies('TESTLINE someone@192.0.2.1')).toEqual([['726', 'someone@192.0.2.1', 'No matches']]);
    expect(await replies('TESTLINE Spam\\sBot')).toEqual([['725', 'X', '0', 'spam\\sbot', 'xline reason']]);
    expect(await replies('TESTLINE :spam bot')).toEqual([['725', 'X', '0', 'spam\\sbot', 'xline reason']]);
    expect(await replies('TESTLINE :a friendly bot')).toEqual([['726', 'a\\sfriendly\\sbot', 'No matches']]);
  });

  it('TESTMASK counts the users online matching a [nick!]user@host mask and realname', async () => {
    const srv = await start();
    const op = await oper(srv.port);
    await client(srv.port, 'bot1', { user: 'robot', realname: 'Spam Bot' });
    await client(srv.port, 'bot2', { user: 'robot', realname: 'Spam Bot' });
    await client(srv.port, 'human', { user: 'person', realname: 'A Person' });
    const count = async (line: string) => (await op.ask(line)).map((m) => [m.command, ...m.params.slice(1)]);
    expect(await count('TESTMASK robot@127.0.0.1')).toEqual([['727', '2', '0', '*!robot@127.0.0.1', '*', 'Local/remote clients match']]);
    expect(await count('TESTMASK *@127.0.0.0/8')).toEqual([['727', '4', '0', '*!*@127.0.0.0/8', '*', 'Local/remote clients match']]);
    expect(await count('TESTMASK BOT?!*@* spam*')).toEqual([['727', '2', '0', 'BOT?!*@*', 'spam*', 'Local/remote clients match']]);
    expect(await count('TESTMASK *@* a\\sperson')).toEqual([['727', '1', '0', '*!*@*', 'a\\sperson', 'Local/remote clients match']]);
    expect(await count('TESTMASK *@* :a person')).toEqual([['727', '1', '0', '*!*@*', 'a\\sperson', 'Local/remote clients match']]);
    expect(await count('TESTMASK nobody@*')).toEqual([['727', '0', '0', '*!nobody@*', '*', 'Local/remote clients match']]);
    expect(await count('TESTMASK robot')).toEqual([['FAIL', 'INVALID_PARAMS', '"robot" is not a [nick!]user@host mask']]);
  });
});

describe('persistence', () => {
  it('keeps bans in the database across a restart', async () => {
    const first = await start();
    const db = join(first.dir, 'bans.db');
    await servers.stop(first);
    const a = await start({ store: { path: db } });
    const op = await oper(a.port);
    op.send('KLINE keep@127.* :kept');
    op.send('KLINE 1s gone@127.* :temporary');
    op.send('XLINE *keeper* :kept too');
    op.send('DLINE 127.0.0.33 :kept ip');
    await op.collectUntilPong();
    await servers.stop(a);
    await new Promise((r) => setTimeout(r, 1100));

    const b = await start({ store: { path: db } });
    const op2 = await oper(b.port);
    op2.send('STATS k');
    const ks = (await op2.collectUntilPong()).filter((m) => m.command === '216').map((m) => m.params.slice(1, 5));
    expect(ks).toEqual([['K', '127.*', '*', 'keep']]);
    await (await attempt(b.port, 'k1', { user: 'keep' })).waitFor('465');
    await (await attempt(b.port, 'x1', { realname: 'the keeper' })).waitFor('465');
    const d = await TestClient.connect(b.port, { localAddress: '127.0.0.33' });
    expect((await d.waitFor('ERROR')).params[0]).toContain('kept ip');
    await (await attempt(b.port, 'g1', { user: 'gone' })).waitFor('001');
  });
});

describe('many bans', () => {
  it('finds each kind of ban among thousands, and never an expired or removed one', async () => {
    const srv = await start();
    const store = bansOf(srv.server);
    const now = Date.now();
    const add = (kind: BanKind, mask: string, reason = 'filler', expiresAt?: number) =>
      store.add({ kind, mask, reason, setBy: 'test', setAt: now, expiresAt });
    // Bans of every shape the index keeps apart, none matching the clients below.
    for (let i = 0; i < 1000; i++) {
      add('D', `10.${i >> 8}.${i & 255}.0/24`);
      add('D', `2001:db8:${i.toString(16)}::/64`);
      add('K', `*@host${i}.example`);
      add('K', `*@*.isp${i}.example`);
      add('K', `*@198.18.${i >> 8}.${i & 255}`);
      add('X', `spam bot ${i}`);
      add('X', `*spam${i}*`);
    }
    add('D', '127.0.0.70', 'expired', now - 1);
    add('K', 'late@127.0.0.*', 'expired', now - 1);
    add('X', 'late', 'expired', now - 1);
    const op = await oper(srv.port);
    op.send('DLINE 127.0.0.50/31 :d range');
    op.send('DLINE 127.0.0.52 :d address');
    op.send('KLINE *@127.0.0.60/30 :k range');
    op.send('KLINE ku@127.0.0.64 :k address');
    op.send('KLINE kg*@127.0.0.* :k glob');
    op.send('XLINE exact\\srealname :x exact');
    op.send('XLINE *globbed* :x glob');
    await op.collectUntilPong();

    for (const [from, reason] of [['127.0.0.51', 'd range'], ['127.0.0.52', 'd address']]) {
      const c = await TestClient.connect(srv.port, { localAddress: from });
      expect((await c.waitFor('ERROR')).params[0]).toContain(`Banned: ${reason}`);
    }
    const refused: Array<[string, Parameters<typeof attempt>[2], string]> = [
      ['k1', { from: '127.0.0.62' }, 'k range'],
      ['k2', { from: '127.0.0.64', user: 'ku' }, 'k address'],
      ['k3', { from: '127.0.0.65', user: 'kgx' }, 'k glob'],
      ['x1', { realname: 'Exact Realname' }, 'x exact'],
      ['x2', { realname: 'a globbed one' }, 'x glob'],
    ];
    for (const [nick, opts, reason] of refused) {
      const c = await attempt(srv.port, nick, opts);
      expect((await c.waitFor('465')).params[1]).toContain(reason);
    }
    for (const [nick, opts] of [['w1', { from: '127.0.0.64' }], ['w2', { from: '127.0.0.70', user: 'late', realname: 'late' }]] as const) {
      await (await attempt(srv.port, nick, opts)).waitFor('001');
    }
    op.send('UNDLINE 127.0.0.52');
    op.send('UNKLINE kg*@127.0.0.*');
    await op.collectUntilPong();
    await (await attempt(srv.port, 'w3', { from: '127.0.0.52' })).waitFor('001');
    await (await attempt(srv.port, 'w4', { from: '127.0.0.65', user: 'kgx' })).waitFor('001');
  });

  it("counts a D-lined address's attempts against its connect rate, checked before any ban", async () => {
    const srv = await start({
      class: [
        { name: 'default', max_per_ip: 100, flood: { burst: 1000, rate: 1000 }, connect_rate: { count: 1000, seconds: 1 } },
        { name: 'strict', max_per_ip: 100, connect_rate: { count: 2, seconds: 60 } },
      ],
      allow: [
        { mask: '127.0.0.80', class: 'strict' },
        { mask: '*', class: 'default' },
      ],
    });
    const op = await oper(srv.port);
    op.send('DLINE 127.0.0.80 :flooder');
    await notice(op, /Added permanent D-Line for \[127\.0\.0\.80\]/);
    for (const expected of [/Banned: flooder/, /Banned: flooder/, /Throttled: reconnecting too fast/]) {
      const c = await TestClient.connect(srv.port, { localAddress: '127.0.0.80' });
      expect((await c.waitFor('ERROR')).params[0]).toMatch(expected);
    }
    expect(srv.server.stats.rejected).toMatchObject({ ban: 2, throttle: 1 });
  });
});
