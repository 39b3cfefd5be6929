// WHO and WHOX: channel and mask forms, visibility of invisible users and secret channels, flags.
import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol/message.js';
import { makeOper, putInChannel, serverClient } from '../support/state.js';
import { useSession } from '../support/session.js';

const s = useSession();

/** Sends a WHO and returns the replies before 315, plus the 315 itself. */
async function who(c: Awaited<ReturnType<typeof s.connect>>, args: string): Promise<{ replies: Message[]; end: Message }> {
  c.send(`WHO ${args}`);
  // JOINs of the users the test put in channels arrive first; they are no part of the answer.
  const all = (await c.collectUntilPong()).filter((m) => m.command !== 'JOIN');
  const end = all.at(-1)!;
  expect(end.command).toBe('315');
  return { replies: all.slice(0, -1), end };
}

const nicksIn = (replies: Message[]) => replies.map((m) => m.params[5]).sort();

describe('WHO', () => {
  it('answers an exact nick with 352 and ends with 315 carrying the mask as given', async () => {
    await s.start();
    const a = await s.connect('alice', { realname: 'Alice Liddell' });
    await s.connect('bob');
    const { replies, end } = await who(a, 'BOB');
    expect(replies.map((m) => [m.command, ...m.params])).toEqual([
      ['352', 'alice', '*', 'bob', '127.0.0.1', 'irc.test', 'bob', 'H', '0 Test User'],
    ]);
    expect(end.params).toEqual(['alice', 'BOB', 'End of WHO list']);
    expect((await who(a, 'nobody')).replies).toEqual([]);
  });

  it('lists channel members with their prefixes, all of them with multi-prefix', async () => {
    await s.start();
    const plain = await s.connect('plain');
    const multi = await s.connect('multi', { caps: ['multi-prefix'] });
    const srv = s.srv.server;
    putInChannel(srv, 'plain', '#room', { prefixes: 'ov' });
    putInChannel(srv, 'multi', '#room');
    const fromPlain = await who(plain, '#ROOM');
    // [channel, flags] of one member's 352.
    const flagsOf = (rs: Message[], nick: string) => {
      const m = rs.find((r) => r.params[5] === nick)!;
      return [m.params[1], m.params[6]];
    };
    expect(flagsOf(fromPlain.replies, 'plain')).toEqual(['#room', 'H@']);
    expect(flagsOf(fromPlain.replies, 'multi')).toEqual(['#room', 'H']);
    expect(fromPlain.end.params[1]).toBe('#ROOM');
    const fromMulti = await who(multi, '#room');
    expect(flagsOf(fromMulti.replies, 'plain')).toEqual(['#room', 'H@+']);
  });

  it('shows G for away users and * for operators, and filters operators with "o"', async () => {
    await s.start();
    const a = await s.connect('alice');
    const b = await s.connect('bob');
    await s.connect('carol');
    makeOper(s.srv.server, 'carol');
    b.send('AWAY :lunch');
    await b.waitFor('306');
    const all = await who(a, '*');
    const flags = Object.fromEntries(all.replies.map((m) => [m.params[5], m.params[6]]));
    expect(flags).toEqual({ alice: 'H', bob: 'G', carol: 'H*' });
    expect(nicksIn((await who(a, '* o')).replies)).toEqual(['carol']);
  });

  it('hides invisible users from masks unless a channel is shared, but not from an exact nick', async () => {
    await s.start();
    const a = await s.connect('alice');
    const e = await s.connect('evan');
    e.send('MODE evan +i');
    await e.waitFor('MODE');
    expect(nicksIn((await who(a, 'ev*')).replies)).toEqual([]);
    expect(nicksIn((await who(a, 'evan')).replies)).toEqual(['evan']);
    expect(nicksIn((await who(e, 'ev*')).replies)).toEqual(['evan']);
    putInChannel(s.srv.server, 'evan', '#x');
    putInChannel(s.srv.server, 'alice', '#x');
    expect(nicksIn((await who(a, 'ev*')).replies)).toEqual(['evan']);
  });

  it('matches masks against username, host and realname too', async () => {
    await s.start();
    const a = await s.connect('alice');
    await s.connect('bob', { user: 'robert', realname: 'Bob Builder' });
    expect(nicksIn((await who(a, 'rob*')).replies)).toEqual(['bob']);
    expect(nicksIn((await who(a, ':*builder')).replies)).toEqual(['bob']);
    expect(nicksIn((await who(a, '127.0.0.*')).replies)).toEqual(['alice', 'bob']);
  });

  it('hides members of secret channels from non-members, and invisible members of public ones', async () => {
    await s.start();
    const outsider = await s.connect('outsider');
    const inside = await s.connect('inside');
    await s.connect('ghost');
    const srv = s.srv.server;
    putInChannel(srv, 'inside', '#secret', { flags: 's' });
    putInChannel(srv, 'inside', '#public');
    putInChannel(srv, 'ghost', '#public');
    srv.state.setUserMode(serverClient(srv, 'ghost'), 'i', true);
    expect((await who(outsider, '#secret')).replies).toEqual([]);
    expect(nicksIn((await who(inside, '#secret')).replies)).toEqual(['inside']);
    expect(nicksIn((await who(outsider, '#public')).replies)).toEqual(['inside']);
    expect(nicksIn((await who(inside, '#public')).replies)).toEqual(['ghost', 'inside']);
    // Operators who may see hidden things see everyone.
    makeOper(srv, 'outsider', ['see_hidden']);
    expect(nicksIn((await who(outsider, '#secret')).replies)).toEqual(['inside']);
  });
});

describe('WHO result cap', () => {
  it('stops a mask WHO after limits.who_results with 416, except for opers who see hidden users', async () => {
    await s.start({ limits: { who_results: 2 } });
    const asker = await s.connect('asker');
    for (const nick of ['one', 'two', 'three']) await s.connect(nick);
    const { replies } = await who(asker, '*');
    expect(replies.filter((m) => m.command === '352')).toHaveLength(2);
    expect(replies.at(-1)!.command).toBe('416');
    expect(replies.at(-1)!.params.slice(1)).toEqual(['WHO', 'Output too large, truncated']);
    // Channel WHO is not capped: a client asking for its channel's members gets all of them.
    for (const nick of ['asker', 'one', 'two', 'three']) putInChannel(s.srv.server, nick, '#c');
    expect(nicksIn((await who(asker, '#c')).replies)).toEqual(['asker', 'one', 'three', 'two']);
    makeOper(s.srv.server, 'asker', ['see_hidden']);
    expect((await who(asker, '*')).replies.filter((m) => m.command === '352')).toHaveLength(4);
  });
});

describe('WHOX', () => {
  it('is advertised and returns the requested fields in the spec order with the token', async () => {
    await s.start();
    const a = await s.connect('alice');
    expect(a.lines.filter((l) => l.split(' ')[1] === '005').join(' ')).toMatch(/ WHOX /);
    await s.connect('coolNick', { user: 'myusernam', realname: 'My UniqueReal Name' });
    const full = await who(a, 'coolNick %tcuihsnfdlaor,123');
    expect(full.replies).toHaveLength(1);
    const p = full.replies[0]!;
    expect(p.command).toBe('354');
    expect(p.params).toEqual([
      'alice', '123', '*', 'myusernam', '255.255.255.255', '127.0.0.1', 'irc.test', 'coolNick', 'H', '0',
      p.params[10], '0', 'n/a', 'My UniqueReal Name',
    ]);
    expect(p.params[10]).toMatch(/^\d+$/);
    const reversed = await who(a, 'coolNick %roaldfnshiuct,123');
    expect(reversed.replies[0]!.params).toEqual(p.params.slice(0, 10).concat(reversed.replies[0]!.params[10]!, '0', 'n/a', 'My UniqueReal Name'));
    expect((await who(a, 'coolNick %tn,321')).replies[0]!.params).toEqual(['alice', '321', 'coolNick']);
    expect((await who(a, 'coolNick %na')).replies[0]!.params).toEqual(['alice', 'coolNick', '0']);
  });

  it('shows the IP to the user itself and the account when logged in', async () => {
    await s.start();
    const a = await s.connect('alice');
    serverClient(s.srv.server, 'alice').account = 'wonder';
    expect((await who(a, 'alice %ina')).replies[0]!.params).toEqual(['alice', '127.0.0.1', 'alice', 'wonder']);
  });

  it('gives the channel in channel queries and honours "o" before the %', async () => {
    await s.start();
    const a = await s.connect('alice');
    await s.connect('bob');
    putInChannel(s.srv.server, 'alice', '#c', { prefixes: 'o' });
    putInChannel(s.srv.server, 'bob', '#c');
    makeOper(s.srv.server, 'bob');
    const r = await who(a, '#c %cnf');
    expect(r.replies.map((m) => m.params.slice(1)).sort()).toEqual([
      ['#c', 'alice', 'H@'],
      ['#c', 'bob', 'H*'],
    ]);
    expect((await who(a, '#c o%n')).replies.map((m) => m.params[1])).toEqual(['bob']);
  });
});
