// RENAME (IRCv3 draft/channel-rename) end to end: members with the capability see RENAME, the
// others a PART and a JOIN burst; the channel keeps its state; errors are numerics or FAIL RENAME.
import { describe, expect, it } from 'vitest';
import { parseMessage, type Message } from '../../src/protocol/message.js';
import type { TestClient } from '../support/harness.js';
import { useSession } from '../support/session.js';

const session = useSession();

async function connect(nick: string, caps: string[] = []): Promise<TestClient> {
  return session.connect(nick, { caps });
}


/** What the client received from `from` on, once the server has answered a PING. */
async function since(c: TestClient, from: number): Promise<Message[]> {
  await c.collectUntilPong();
  return c.lines.slice(from, c.cursor - 1).map((l) => parseMessage(l));
}

const lines = (msgs: Message[]) => msgs.map((m) => [m.command, ...m.params].join(' '));


describe('RENAME', () => {
  it('renames for members with the capability and re-joins the others under the new name', async () => {
    await session.start();
    const op = await connect('op', ['draft/channel-rename']);
    const plain = await connect('plain');
    await op.ask('JOIN #old');
    await plain.ask('JOIN #old');
    await op.ask('TOPIC #old :the topic');
    await op.ask('MODE #old +b bad!*@*');
    await plain.collectUntilPong();
    const from = plain.mark;

    const mine = await op.ask('RENAME #old #new :tidier name');
    expect(mine.map((m) => [m.source, m.command, ...m.params])).toEqual([
      [expect.stringMatching(/^op!/), 'RENAME', '#old', '#new', 'tidier name'],
    ]);
    const theirs = await since(plain, from);
    expect(theirs.map((m) => [m.source?.split('!')[0], m.command, ...m.params])).toEqual([
      ['plain', 'PART', '#old', 'tidier name'],
      ['plain', 'JOIN', '#new'],
      ['irc.test', '332', 'plain', '#new', 'the topic'],
      ['irc.test', '333', 'plain', '#new', expect.stringMatching(/^op!/), expect.any(String)],
      ['irc.test', '353', 'plain', '=', '#new', '@op plain'],
      ['irc.test', '366', 'plain', '#new', 'End of /NAMES list'],
    ]);

    // Same channel, new name: members, ops and lists stay; the old name is free again.
    const state = session.srv.server.state;
    const channel = state.findChannel('#NEW')!;
    expect(state.findChannel('#old')).toBeUndefined();
    expect(channel.members.get(state.findNick('op')!)).toBe('o');
    expect(channel.list('b').map((e) => e.mask)).toEqual(['bad!*@*']);
    expect(lines(await plain.ask('JOIN #old'))).toContain('JOIN #old');
    expect(state.findChannel('#old')!.members.get(state.findNick('plain')!)).toBe('o');
  });

  it('sends the server-to-client RENAME with an empty reason when none is given', async () => {
    await session.start();
    const op = await connect('op', ['draft/channel-rename']);
    await op.ask('JOIN #a');
    expect((await op.ask('RENAME #a #b'))[0]!.params).toEqual(['#a', '#b', '']);
  });

  it('changes only the case without a PART/JOIN fallback', async () => {
    await session.start();
    const op = await connect('op', ['draft/channel-rename']);
    const plain = await connect('plain');
    await op.ask('JOIN #case');
    await plain.ask('JOIN #case');
    await plain.collectUntilPong();
    const from = plain.mark;
    expect(lines(await op.ask('RENAME #case #CaSe'))).toEqual(['RENAME #case #CaSe ']);
    expect(await since(plain, from)).toEqual([]);
    expect(session.srv.server.state.findChannel('#case')!.name).toBe('#CaSe');
  });

  it('answers 461, 403, 442 and 482, and FAIL RENAME for names it cannot take', async () => {
    await session.start({ channels: { types: '#&' } });
    const op = await connect('op', ['draft/channel-rename']);
    const member = await connect('member');
    const outsider = await connect('outsider');
    await op.ask('JOIN #here');
    await op.ask('JOIN #taken');
    await member.ask('JOIN #here');

    expect(lines(await op.ask('RENAME #here'))).toEqual(['461 op RENAME Not enough parameters']);
    expect(lines(await op.ask('RENAME #nowhere #x'))).toEqual(['403 op #nowhere No such channel']);
    expect(lines(await outsider.ask('RENAME #here #x'))).toEqual(["442 outsider #here You're not on that channel"]);
    expect(lines(await member.ask('RENAME #here #x'))).toEqual(['482 member #here You must be a channel operator']);
    expect(lines(await op.ask('RENAME #here #TAKEN'))).toEqual([
      'FAIL RENAME CHANNEL_NAME_IN_USE #here #TAKEN The channel name is already taken',
    ]);
    expect(lines(await op.ask('RENAME #here &here'))).toEqual([
      'FAIL RENAME CANNOT_RENAME #here &here You cannot change a channel prefix type',
    ]);
    expect(lines(await op.ask('RENAME #here #bad,name'))).toEqual([
      'FAIL RENAME CANNOT_RENAME #here #bad,name That is not a valid channel name',
    ]);
    // A right-to-left override would make "#here" show as "#ereh" in lists.
    expect(lines(await op.ask('RENAME #here #\u202Eereh'))).toEqual([
      'FAIL RENAME CANNOT_RENAME #here #\u202Eereh That is not a valid channel name',
    ]);
    expect(session.srv.server.state.findChannel('#here')!.name).toBe('#here');
  });

  it('lets a channel be renamed again only after rename_interval', async () => {
    await session.start({ limits: { rename_interval: 0.3 } });
    const op = await connect('op', ['draft/channel-rename']);
    await op.ask('JOIN #one');
    expect(lines(await op.ask('RENAME #one #two'))).toEqual(['RENAME #one #two ']);
    expect(lines(await op.ask('RENAME #two #three'))).toEqual([
      'FAIL RENAME CANNOT_RENAME #two #three This channel has been renamed recently',
    ]);
    await new Promise((r) => setTimeout(r, 350));
    expect(lines(await op.ask('RENAME #two #three'))).toEqual(['RENAME #two #three ']);
  });
});
