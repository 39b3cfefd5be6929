// RELAYMSG (IRCv3 draft/relaymsg): a bridge bot speaks as "nick/network" in a channel; the
// capability advertises the separators, clients holding it see who relayed, and refusals are
// FAIL RELAYMSG INVALID_NICK / PRIVS_NEEDED.
import { describe, expect, it } from 'vitest';
import { parseMessage, type Message } from '../../src/protocol/message.js';
import type { TestClient } from '../support/harness.js';
import { operConfig, operUp } from '../support/oper.js';
import { useSession } from '../support/session.js';

const s = useSession();

async function privmsgs(c: TestClient, from: number): Promise<Message[]> {
  await c.collectUntilPong();
  return c.lines.slice(from).map((l) => parseMessage(l)).filter((m) => m.command === 'PRIVMSG');
}

const relayOper = operConfig({
  oper_class: [{ name: 'bridge', privileges: ['relaymsg'], snomask: '' }],
  oper: [{ name: 'alice', password: (operConfig().oper as Array<{ password: string }>)[0]!.password, hosts: ['*@127.0.0.1'], class: 'bridge' }],
});

describe('RELAYMSG', () => {
  it('advertises draft/relaymsg with its separators, and relays as nick/network to the channel', async () => {
    await s.start();
    const bot = await s.connect('bot', { caps: ['echo-message', 'labeled-response', 'batch'] });
    const seer = await s.connect('seer', { caps: ['draft/relaymsg'] });
    const plain = await s.connect('plain');
    expect(seer.lines.map((l) => parseMessage(l)).some((m) => m.command === 'CAP' && m.params[1] === 'ACK' && m.params[2] === 'draft/relaymsg')).toBe(true);
    const ls = await plain.ask('CAP LS 302');
    expect(ls.map((m) => m.params.at(-1)).join(' ')).toContain('draft/relaymsg=/');
    await bot.ask('JOIN #bridge');
    await seer.ask('JOIN #bridge');
    await plain.ask('JOIN #bridge');
    const marks = [seer.mark, plain.mark];
    const echoed = await bot.ask('@label=r1 RELAYMSG #bridge smt/discord :hi from discord');
    expect(echoed.map((m) => [m.source, m.command, ...m.params])).toEqual([['smt/discord!relay@127.0.0.1', 'PRIVMSG', '#bridge', 'hi from discord']]);
    expect(echoed[0]!.tags?.label).toBe('r1');
    const [toSeer] = await privmsgs(seer, marks[0]!);
    expect(toSeer!.source).toBe('smt/discord!relay@127.0.0.1');
    expect(toSeer!.tags?.['draft/relaymsg']).toBe('bot');
    const [toPlain] = await privmsgs(plain, marks[1]!);
    expect([toPlain!.source, ...toPlain!.params]).toEqual(['smt/discord!relay@127.0.0.1', '#bridge', 'hi from discord']);
    expect(toPlain!.tags?.['draft/relaymsg']).toBeUndefined();
  });

  it('refuses nicks without a separator or with reserved characters, and senders without the right', async () => {
    await s.start();
    const op = await s.connect('op');
    const member = await s.connect('member');
    await op.ask('JOIN #c');
    await member.ask('JOIN #c');
    const fails = async (c: TestClient, line: string) => (await c.ask(line)).map((m) => [m.command, ...m.params.slice(0, 2)]);
    expect(await fails(op, 'RELAYMSG #c regular_nick hi')).toEqual([['FAIL', 'RELAYMSG', 'INVALID_NICK']]);
    expect(await fails(op, 'RELAYMSG #c invalid!nick/discord hi')).toEqual([['FAIL', 'RELAYMSG', 'INVALID_NICK']]);
    expect(await fails(op, `RELAYMSG #c ${'x'.repeat(40)}/d hi`)).toEqual([['FAIL', 'RELAYMSG', 'INVALID_NICK']]);
    expect(await fails(member, 'RELAYMSG #c smt/discord hi')).toEqual([['FAIL', 'RELAYMSG', 'PRIVS_NEEDED']]);
    expect((await member.ask('RELAYMSG #nowhere smt/discord hi'))[0]!.command).toBe('403');
    expect((await member.ask('RELAYMSG #c smt/discord'))[0]!.command).toBe('461');
    const outsider = await s.connect('outsider');
    expect((await outsider.ask('RELAYMSG #c smt/discord hi'))[0]!.command).toBe('442');
    // Channel rules are checked for the bot as for its own messages: an operator speaks under +m.
    await op.ask('MODE #c +o member');
    await op.ask('MODE #c +m');
    expect(await member.ask('RELAYMSG #c smt/discord :ok as op')).toEqual([]);
  });

  it('lets an oper with the relaymsg privilege relay without being a channel operator, and chanops only when configured', async () => {
    await s.start({ ...relayOper, relaymsg: { chanops: false, separators: '/~' } });
    const op = await s.connect('op');
    const oper = await s.connect('oper');
    await op.ask('JOIN #c');
    await oper.ask('JOIN #c');
    expect((await op.ask('RELAYMSG #c smt/discord hi'))[0]!.params[1]).toBe('PRIVS_NEEDED');
    await operUp(oper);
    const from = op.mark;
    expect(await oper.ask('RELAYMSG #c someone~matrix :from matrix')).toEqual([]);
    expect((await privmsgs(op, from)).map((m) => [m.source, m.params[1]])).toEqual([['someone~matrix!relay@127.0.0.1', 'from matrix']]);
  });

  it('is not offered, and refused, when disabled', async () => {
    await s.start({ relaymsg: { enabled: false } });
    const c = await s.connect('c');
    await c.ask('JOIN #c');
    expect((await c.ask('CAP LS 302')).map((m) => m.params.at(-1)).join(' ')).not.toContain('draft/relaymsg');
    expect((await c.ask('RELAYMSG #c a/b hi')).map((m) => m.params.slice(0, 2))).toEqual([['RELAYMSG', 'DISABLED']]);
  });
});
