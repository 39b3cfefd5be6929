// Operators and queries across a network of linked daemons: server bans set on one server reach
// the others, remote WHOIS and the other hunted queries, the server tree, notices and WALLOPS,
// STATS for links, and MONITOR and WHOWAS of remote users.
import { describe, expect, it } from 'vitest';
import { bansOf } from '../../src/modules/bans.js';
import { waitUntil } from '../support/harness.js';
import { linkHarness } from '../support/link.js';

const { daemon, linked, user, oper } = linkHarness();

/** A hub A with leaves B and C: B and C reach each other through A. */
async function network() {
  const a = await daemon('a', '1AA', [{ name: 'b' }, { name: 'c' }]);
  const b = await daemon('b', '2BB', [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true }]);
  const c = await daemon('c', '3CC', [{ name: 'a', port: a.serverPort, autoconnect: true, hub: true }]);
  await linked(a, b);
  await linked(a, c);
  await linked(b, c);
  return { a, b, c };
}

describe('server bans across a network', () => {
  it('a K-line set on B disconnects a matching user on C, keeps its duration everywhere, and its removal reaches every server', async () => {
    const { a, b, c } = await network();
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
    const { a, b, c } = await network();
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
