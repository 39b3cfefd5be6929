// STATS letters (public and oper-only), 219, 402, and LINKS for this single server.
import { describe, expect, it } from 'vitest';
import { client } from '../support/harness.js';
import { useSession } from '../support/session.js';
import { operConfig, operUp } from '../support/oper.js';

const s = useSession();

describe('STATS', () => {
  it('answers public letters for everyone, 481 for the rest, and always ends with 219', async () => {
    const srv = await s.start(operConfig());
    const c = await client(srv.port, 'someone');
    c.send('STATS u');
    const u = await c.collectUntilPong();
    expect(u.map((m) => m.command)).toEqual(['242', '219']);
    expect(u[0]!.params[1]).toMatch(/^Server Up 0 days 00:00:\d\d$/);
    expect(u[1]!.params).toEqual(['someone', 'u', 'End of /STATS report']);
    for (const letter of ['o', 'l', 'k', 'm']) {
      c.send(`STATS ${letter}`);
      expect((await c.collectUntilPong()).map((m) => m.command)).toEqual(['481', '219']);
    }
    c.send('STATS ?');
    const help = await c.collectUntilPong();
    expect(help.filter((m) => m.command === '210').map((m) => m.params[1])).toEqual(['u', 'o', 'l', 'm', 'k', 'd', 'x', 'c', 'i', 'y', '?']);
    expect(help.find((m) => m.params[1] === 'l')!.params[2]).toMatch(/\(operators\)$/);
    c.send('STATS');
    await c.waitFor('461');
    c.send('STATS u other.server');
    expect((await c.waitFor('402')).params[1]).toBe('other.server');
    c.send('STATS Q');
    expect((await c.collectUntilPong()).map((m) => m.command)).toEqual(['219']);
  });

  it('makes letters public through [stats] public', async () => {
    const srv = await s.start(operConfig({ stats: { public: 'uo' } }));
    const c = await client(srv.port, 'someone');
    c.send('STATS o');
    const rows = (await c.collectUntilPong()).filter((m) => m.command === '243');
    // Names and classes only, never hosts or hashes.
    expect(rows.map((m) => m.params.slice(1))).toEqual([
      ['O', '*', '*', 'alice', 'admin'],
      ['O', '*', '*', 'faraway', 'admin'],
      ['O', '*', '*', 'helper', 'helper'],
    ]);
  });

  it('shows opers connections, command counts, allow blocks and classes', async () => {
    const srv = await s.start(operConfig());
    const op = await client(srv.port, 'op');
    await operUp(op);
    await client(srv.port, 'other');
    op.send('STATS l');
    const links = (await op.collectUntilPong()).filter((m) => m.command === '211');
    const mine = links.find((m) => m.params[1] === 'op[op@127.0.0.1]')!;
    expect(mine.params.slice(2, 8).every((v) => /^\d+$/.test(v!))).toBe(true);
    expect(Number(mine.params[5])).toBeGreaterThan(3); // lines received: NICK, USER, OPER, STATS...
    expect(links.some((m) => m.params[1] === 'other[other@127.0.0.1]')).toBe(true);

    op.send('STATS m');
    const usage = (await op.collectUntilPong()).filter((m) => m.command === '212');
    expect(usage.find((m) => m.params[1] === 'OPER')?.params[2]).toBe('1');
    expect(Number(usage.find((m) => m.params[1] === 'NICK')?.params[2])).toBeGreaterThanOrEqual(2);

    op.send('STATS i');
    expect((await op.waitFor('215')).params.slice(1)).toEqual(['I', '*', '*', '*', '0', 'default']);
    op.send('STATS y');
    expect((await op.waitFor('218')).params.slice(1, 3)).toEqual(['Y', 'default']);
  });
});

describe('LINKS', () => {
  it('lists only this server', async () => {
    const srv = await s.start(operConfig());
    const c = await client(srv.port, 'someone');
    c.send('LINKS');
    const replies = await c.collectUntilPong();
    expect(replies.map((m) => [m.command, ...m.params])).toEqual([
      ['364', 'someone', 'irc.test', 'irc.test', '0 An IRC server'],
      ['365', 'someone', '*', 'End of /LINKS list'],
    ]);
    c.send('LINKS *.elsewhere');
    expect((await c.collectUntilPong()).map((m) => [m.command, ...m.params])).toEqual([['365', 'someone', '*.elsewhere', 'End of /LINKS list']]);
  });

  it('hides the list from non-opers when stats.links_public is off', async () => {
    const srv = await s.start(operConfig({ stats: { links_public: false } }));
    const c = await client(srv.port, 'someone');
    c.send('LINKS');
    expect((await c.collectUntilPong()).map((m) => m.command)).toEqual(['365']);
    const op = await client(srv.port, 'op');
    await operUp(op);
    await op.collectUntilPong();
    op.send('LINKS');
    expect((await op.collectUntilPong()).map((m) => m.command)).toEqual(['364', '365']);
  });
});
