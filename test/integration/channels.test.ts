// Channels end to end: JOIN/PART/TOPIC/NAMES/LIST/INVITE/KICK/KNOCK/MODE with several raw clients,
// their error numerics, visibility rules, list modes, and who sees which membership change.
import { describe, expect, it } from 'vitest';
import { parseMessage, type Message } from '../../src/protocol/message.js';
import { writeFileSync } from 'node:fs';
import { testConfig, toToml, type TestClient } from '../support/harness.js';
import { useSession } from '../support/session.js';

const session = useSession();
const { start, connect } = session;

/** Everything received since the last wait or sync. */
async function pending(c: TestClient): Promise<Message[]> {
  const from = c.cursor;
  await c.collectUntilPong();
  return c.lines
    .slice(from, c.cursor)
    .map((l) => parseMessage(l))
    .filter((m) => !(m.command === 'PONG' && m.params[1]?.startsWith('sync')));
}

const commands = (msgs: Message[]) => msgs.map((m) => m.command);
const find = (msgs: Message[], command: string) => msgs.find((m) => m.command === command);

/** Connects clients and joins them to a channel, the first one creating it (and holding +o). */
async function channelWith(name: string, ...nicks: string[]): Promise<TestClient[]> {
  const out: TestClient[] = [];
  for (const n of nicks) {
    const c = await connect(n);
    await c.ask(`JOIN ${name}`);
    out.push(c);
  }
  for (const c of out) await pending(c);
  return out;
}

describe('JOIN', () => {
  it('creates the channel with default modes, gives the creator +o and sends JOIN, NAMES', async () => {
    await start();
    const alice = await connect('alice');
    const msgs = await alice.ask('JOIN #Test');
    expect(commands(msgs)).toEqual(['JOIN', '353', '366']);
    expect(msgs[0]!.source).toMatch(/^alice!alice@/);
    expect(msgs[1]!.params).toEqual(['alice', '=', '#Test', '@alice']);
    const modes = await alice.ask('MODE #test');
    expect(modes[0]!.params).toEqual(['alice', '#Test', '+nt']);
    expect(modes[1]!.command).toBe('329');
  });

  it('joins several channels with keys, and JOIN 0 parts them all', async () => {
    await start();
    const [op] = await channelWith('#a', 'op');
    await op!.ask('JOIN #b');
    await op!.ask('MODE #a +k keya');
    await op!.ask('MODE #b +k keyb');
    const bob = await connect('bob');
    const joined = await bob.ask('JOIN #a,#b,#c keya,keyb');
    expect(joined.filter((m) => m.command === 'JOIN').map((m) => m.params[0])).toEqual(['#a', '#b', '#c']);
    const parted = await bob.ask('JOIN 0');
    expect(parted.filter((m) => m.command === 'PART').map((m) => m.params[0]).sort()).toEqual(['#a', '#b', '#c']);
    expect(session.srv.server.state.channelsOf(session.srv.server.state.findNick('bob')!).size).toBe(0);
    expect(session.srv.server.state.findChannel('#c')).toBeUndefined();
  });

  it('answers 403/476 for bad names, 405 past CHANLIMIT, and ignores a second join', async () => {
    await start({ limits: { channels_per_user: 2 } });
    const alice = await connect('alice');
    const bad = await alice.ask('JOIN inv@lid,#bad\x07name,#ok');
    expect(bad.filter((m) => m.command === '403').map((m) => m.params[1])).toEqual(['inv@lid']);
    expect(bad.filter((m) => m.command === '476').map((m) => m.params[1])).toEqual(['#bad\x07name']);
    // Names that look like another channel's, or turn the line around: refused as nicks are.
    const unseen = ['#o\u200Bk', '#ok\u202E', '#\u2066ok', '#\u3164', '#ok\u00A0', '#o\uFEFFk'];
    const refused = await alice.ask(`JOIN ${unseen.join(',')}`);
    expect(refused.filter((m) => m.command === '476').map((m) => m.params[1])).toEqual(unseen);
    expect(refused.filter((m) => m.command === 'JOIN')).toEqual([]);
    expect(await alice.ask('JOIN #ok')).toEqual([]);
    await alice.ask('JOIN #two');
    const full = await alice.ask('JOIN #three');
    expect(find(full, '405')!.params.slice(1, 2)).toEqual(['#three']);
  });

  it('enforces key (475), limit (471), invite-only (473) and bans (474)', async () => {
    await start();
    const [op] = await channelWith('#c', 'op');
    const bob = await connect('bob');
    await op!.ask('MODE #c +kl secret 1');
    expect(commands(await bob.ask('JOIN #c'))).toEqual(['475']);
    expect(commands(await bob.ask('JOIN #c secret'))).toEqual(['471']);
    await op!.ask('MODE #c -lk *');
    await op!.ask('MODE #c +i');
    expect(commands(await bob.ask('JOIN #c'))).toEqual(['473']);
    await op!.ask('MODE #c -i+b bob');
    expect(commands(await bob.ask('JOIN #c'))).toEqual(['474']);
  });

  it('lets ban exceptions (+e) and invite exceptions (+I) through', async () => {
    await start();
    const [op] = await channelWith('#c', 'op');
    const bob = await connect('bob');
    const carol = await connect('carol');
    await op!.ask('MODE #c +bbe *!*@* bob carol!*@*');
    expect(commands(await bob.ask('JOIN #c'))).toEqual(['474']);
    expect(commands(await carol.ask('JOIN #c'))).toContain('JOIN');
    await op!.ask('MODE #c -bb+i *!*@* bob');
    expect(commands(await bob.ask('JOIN #c'))).toEqual(['473']);
    await op!.ask('MODE #c +I bob');
    expect(commands(await bob.ask('JOIN #c'))).toContain('JOIN');
  });

  it('sends extended-join to members with the cap and plain JOIN to others', async () => {
    await start();
    const ext = await connect('ext', { caps: ['extended-join'] });
    const plain = await connect('plain');
    await ext.ask('JOIN #c');
    await plain.ask('JOIN #c');
    const seen = await pending(ext);
    expect(find(seen, 'JOIN')!.params).toEqual(['#c', '*', 'Test User']);
    await ext.ask('PART #c');
    const bob = await connect('bob', { realname: 'Bob Builder' });
    await ext.ask('JOIN #c');
    await pending(plain);
    await bob.ask('JOIN #c');
    expect(find(await pending(plain), 'JOIN')!.params).toEqual(['#c']);
    expect(find(await pending(ext), 'JOIN')!.params).toEqual(['#c', '*', 'Bob Builder']);
  });
});

describe('PART', () => {
  it('shows the reason to every member once and destroys empty channels', async () => {
    await start();
    const [alice, bob] = await channelWith('#c', 'alice', 'bob');
    const own = await bob!.ask('PART #c :see you');
    expect(own.map((m) => [m.command, ...m.params])).toEqual([['PART', '#c', 'see you']]);
    expect((await pending(alice!)).filter((m) => m.command === 'PART')).toHaveLength(1);
    await alice!.ask('PART #c');
    expect(session.srv.server.state.findChannel('#c')).toBeUndefined();
  });

  it('answers 403 and 442', async () => {
    await start();
    await channelWith('#c', 'alice');
    const bob = await connect('bob');
    expect(commands(await bob.ask('PART #nope,#c'))).toEqual(['403', '442']);
  });
});

describe('TOPIC', () => {
  it('queries (331/332/333), sets, truncates to TOPICLEN and enforces +t', async () => {
    await start({ limits: { topiclen: 10 } });
    const [op, bob] = await channelWith('#c', 'op', 'bob');
    expect(commands(await bob!.ask('TOPIC #c'))).toEqual(['331']);
    const set = await op!.ask('TOPIC #c :a very long topic');
    expect(set[0]!.params).toEqual(['#c', 'a very lon']);
    expect(find(await pending(bob!), 'TOPIC')!.params).toEqual(['#c', 'a very lon']);
    const q = await bob!.ask('TOPIC #c');
    expect(commands(q)).toEqual(['332', '333']);
    expect(q[1]!.params[2]).toMatch(/^op!/);
    expect(commands(await bob!.ask('TOPIC #c :mine'))).toEqual(['482']);
    await op!.ask('MODE #c -t');
    expect(commands(await bob!.ask('TOPIC #c :mine'))).toEqual(['TOPIC']);
    const outsider = await connect('out');
    expect(commands(await outsider.ask('TOPIC #c :x'))).toEqual(['442']);
    expect(commands(await outsider.ask('TOPIC #none'))).toEqual(['403']);
  });

  it('sends the topic on join', async () => {
    await start();
    const [op] = await channelWith('#c', 'op');
    await op!.ask('TOPIC #c :hello world');
    const bob = await connect('bob');
    expect(commands(await bob.ask('JOIN #c'))).toEqual(['JOIN', '332', '333', '353', '366']);
  });
});

describe('NAMES', () => {
  it('uses = * @ symbols and hides +s channels and invisible users from outsiders', async () => {
    await start();
    const [op, bob] = await channelWith('#c', 'op', 'bob');
    await bob!.ask('MODE bob +i');
    const outsider = await connect('out');
    let names = await outsider.ask('NAMES #c');
    expect(names[0]!.params).toEqual(['out', '=', '#c', '@op']);
    expect(find(await op!.ask('NAMES #c'), '353')!.params[3]).toBe('@op bob');
    await op!.ask('MODE #c +p');
    expect(find(await outsider.ask('NAMES #c'), '353')!.params[1]).toBe('*');
    await op!.ask('MODE #c +s');
    names = await outsider.ask('NAMES #c');
    expect(commands(names)).toEqual(['366']);
    expect(find(await bob!.ask('NAMES #c'), '353')!.params[1]).toBe('@');
  });

  it('answers several channels with their 353 lines and one 366 naming them all', async () => {
    await start();
    const [op] = await channelWith('#one', 'op');
    await op!.ask('JOIN #two');
    const names = await op!.ask('NAMES #one,#two,#none');
    expect(names.map((m) => [m.command, ...m.params.slice(1)])).toEqual([
      ['353', '=', '#one', '@op'],
      ['353', '=', '#two', '@op'],
      ['366', '#one,#two,#none', 'End of /NAMES list'],
    ]);
  });

  it('shows all prefixes with multi-prefix and full masks with userhost-in-names', async () => {
    await start();
    const [op] = await channelWith('#c', 'op');
    await op!.ask('MODE #c +v op');
    const mp = await connect('mp', { caps: ['multi-prefix'] });
    expect(find(await mp.ask('NAMES #c'), '353')!.params[3]).toBe('@+op');
    expect(find(await op!.ask('NAMES #c'), '353')!.params[3]).toBe('@op');
    const uh = await connect('uh', { caps: ['userhost-in-names'] });
    expect(find(await uh.ask('NAMES #c'), '353')!.params[3]).toMatch(/^@op!op@\S+$/);
  });

  it('splits long member lists over several 353 lines', async () => {
    await start();
    const members: TestClient[] = [];
    for (let i = 0; i < 40; i++) members.push(await connect(`member_with_long_nick_${i}`));
    for (const m of members) await m.ask('JOIN #big');
    const names = (await members[0]!.ask('NAMES #big')).filter((m) => m.command === '353');
    expect(names.length).toBeGreaterThan(1);
    expect(names.flatMap((m) => m.params[3]!.split(' '))).toHaveLength(40);
  });
});

describe('LIST', () => {
  it('lists visible channels with user counts and ELIST filters', async () => {
    await start();
    const [alice] = await channelWith('#one', 'alice');
    const [b1] = await channelWith('#two', 'b1', 'b2');
    await b1!.ask('TOPIC #two :the topic');
    const [carol] = await channelWith('#secret', 'carol');
    await carol!.ask('MODE #secret +s');
    const all = await alice!.ask('LIST');
    expect(commands(all)).toEqual(['321', '322', '322', '323']);
    expect(all.filter((m) => m.command === '322').map((m) => m.params.slice(1))).toEqual([
      ['#one', '1', ''],
      ['#two', '2', 'the topic'],
    ]);
    const more = await alice!.ask('LIST >1');
    expect(more.filter((m) => m.command === '322').map((m) => m.params[1])).toEqual(['#two']);
    const fewer = await alice!.ask('LIST <2');
    expect(fewer.filter((m) => m.command === '322').map((m) => m.params[1])).toEqual(['#one']);
    const mask = await alice!.ask('LIST #t*');
    expect(mask.filter((m) => m.command === '322').map((m) => m.params[1])).toEqual(['#two']);
    const notMask = await alice!.ask('LIST !#t*');
    expect(notMask.filter((m) => m.command === '322').map((m) => m.params[1])).toEqual(['#one']);
    const listed = async (arg: string) =>
      (await alice!.ask(`LIST ${arg}`)).filter((m) => m.command === '322').map((m) => m.params[1]);
    expect(await listed('C<10')).toEqual(['#one', '#two']);
    expect(await listed('C<0')).toEqual([]);
    expect(await listed('C>10')).toEqual([]);
    expect(await listed('T<10')).toEqual(['#two']);
    expect(await listed('T<10,>5')).toEqual([]);
    expect((await alice!.ask('LIST #secret')).filter((m) => m.command === '322')).toEqual([]);
    expect((await carol!.ask('LIST #secret')).filter((m) => m.command === '322')).toHaveLength(1);
  });

  it('advertises the channel ISUPPORT tokens', async () => {
    await start({ channels: { prefix: '(qaohv)~!@%+' } });
    const c = await connect('alice');
    const tokens = c.lines.filter((l) => l.split(' ')[1] === '005').join(' ');
    for (const t of [
      'CHANTYPES=#',
      'CHANMODES=beI,k,fl,CMUimnpstu',
      'PREFIX=(qaohv)~!@%+',
      'STATUSMSG=~!@%+',
      'CHANLIMIT=#:50',
      'CHANNELLEN=64',
      'TOPICLEN=390',
      'KICKLEN=390',
      'MODES=6',
      'MAXLIST=beI:100',
      'EXCEPTS=e',
      'INVEX=I',
      'ELIST=CMNTU',
      'EXTBAN=$,am',
    ])
      expect(tokens).toContain(` ${t} `);
    const myinfo = (await c.waitFor('004', { from: 0 })).params;
    const sorted = (s: string) => [...s].sort().join('');
    expect(sorted(myinfo.at(-2)!)).toBe(sorted('beIklfCMUimnpstuqaohv'));
    expect(sorted(myinfo.at(-1)!)).toBe(sorted('beIklfqaohv'));
  });
});

describe('INVITE', () => {
  it('invites (341), lets the invited past +i once, and tells ops with invite-notify', async () => {
    await start();
    const [op] = await channelWith('#c', 'op');
    const op2 = await connect('op2', { caps: ['invite-notify'] });
    const peon = await connect('peon', { caps: ['invite-notify'] });
    await op2.ask('JOIN #c');
    await peon.ask('JOIN #c');
    await op!.ask('MODE #c +io op2');
    const bob = await connect('bob');
    const inv = await op!.ask('INVITE bob #c');
    expect(inv.map((m) => [m.command, ...m.params])).toEqual([['341', 'op', 'bob', '#c']]);
    expect(find(await pending(bob), 'INVITE')!.params).toEqual(['bob', '#c']);
    expect(find(await pending(op2), 'INVITE')!.source).toMatch(/^op!/);
    expect(find(await pending(peon), 'INVITE')).toBeUndefined();
    expect((await bob.ask('INVITE')).map((m) => [m.command, ...m.params.slice(1, 2)])).toEqual([
      ['336', '#c'],
      ['337', 'End of /INVITE list'],
    ]);
    expect(commands(await bob.ask('INVITE bob'))).toEqual(['461']);
    expect(commands(await bob.ask('JOIN #c'))).toContain('JOIN');
    expect(commands(await bob.ask('INVITE'))).toEqual(['337']);
    await bob.ask('PART #c');
    expect(commands(await bob.ask('JOIN #c'))).toEqual(['473']);
  });

  it('moves invites with a nick change and drops them on quit', async () => {
    await start();
    const [op] = await channelWith('#c', 'op');
    await op!.ask('MODE #c +i');
    const bob = await connect('bob');
    await op!.ask('INVITE bob #c');
    await bob.ask('NICK robert');
    const impostor = await connect('bob');
    expect(commands(await impostor.ask('JOIN #c'))).toEqual(['473']);
    expect(commands(await bob.ask('JOIN #c'))).toContain('JOIN');
    const carol = await connect('carol');
    await op!.ask('INVITE carol #c');
    carol.send('QUIT');
    await carol.waitClosed();
    const other = await connect('carol');
    expect(commands(await other.ask('JOIN #c'))).toEqual(['473']);
  });

  it('answers 401, 403, 442, 443 and 482', async () => {
    await start();
    const [op, member] = await channelWith('#c', 'op', 'member');
    const outsider = await connect('out');
    expect(commands(await op!.ask('INVITE nobody #c'))).toEqual(['401']);
    expect(commands(await op!.ask('INVITE out #none'))).toEqual(['403']);
    expect(commands(await outsider.ask('INVITE op #c'))).toEqual(['442']);
    expect(commands(await op!.ask('INVITE member #c'))).toEqual(['443']);
    await op!.ask('MODE #c +i');
    expect(commands(await member!.ask('INVITE out #c'))).toEqual(['482']);
  });

  it('lets invites expire after invite_expiry', async () => {
    await start({ limits: { invite_expiry: 0.2 } });
    const [op] = await channelWith('#c', 'op');
    await op!.ask('MODE #c +i');
    const bob = await connect('bob');
    await op!.ask('INVITE bob #c');
    await new Promise((r) => setTimeout(r, 300));
    expect(commands(await bob.ask('JOIN #c'))).toEqual(['473']);
  });
});

describe('KICK', () => {
  it('kicks several users with a reason truncated to KICKLEN; all members see each KICK once', async () => {
    await start({ limits: { kicklen: 5 } });
    const [op, a, b, watcher] = await channelWith('#c', 'op', 'a', 'b', 'watcher');
    const res = await op!.ask('KICK #c a,b,ghost :goodbye');
    expect(res.filter((m) => m.command === 'KICK').map((m) => m.params)).toEqual([
      ['#c', 'a', 'goodb'],
      ['#c', 'b', 'goodb'],
    ]);
    expect(commands(res)).toContain('401');
    expect(commands(await pending(watcher!)).filter((c) => c === 'KICK')).toHaveLength(2);
    expect(commands(await pending(a!))).toEqual(['KICK']);
    expect(commands(await pending(b!))).toEqual(['KICK', 'KICK']);
    expect(session.srv.server.state.findChannel('#c')!.members.size).toBe(2);
  });

  it('answers 441, 442 and 482; the default reason is the kicker', async () => {
    await start();
    const [op, member] = await channelWith('#c', 'op', 'member');
    const outsider = await connect('out');
    expect(commands(await op!.ask('KICK #c out'))).toEqual(['441']);
    expect(commands(await outsider.ask('KICK #c op'))).toEqual(['442']);
    expect(commands(await member!.ask('KICK #c op'))).toEqual(['482']);
    expect(commands(await op!.ask('KICK #none op'))).toEqual(['403']);
    expect((await op!.ask('KICK #c member'))[0]!.params).toEqual(['#c', 'member', 'op']);
  });

  it('pairs channels with users when several channels are given (RFC 2812), else 461', async () => {
    await start();
    const [op, , b] = await channelWith('#c', 'op', 'a', 'b');
    await op!.ask('JOIN #d');
    await b!.ask('JOIN #d');
    const res = await op!.ask('KICK #c,#d a,b :bye');
    expect(res.filter((m) => m.command === 'KICK').map((m) => m.params)).toEqual([
      ['#c', 'a', 'bye'],
      ['#d', 'b', 'bye'],
    ]);
    // b was kicked from #d only; a repeated channel kicks each paired user from it.
    expect(session.srv.server.state.findChannel('#c')!.members.has(session.srv.server.state.findNick('b')!)).toBe(true);
    expect(commands(await op!.ask('KICK #c,#d b'))).toEqual(['461']);
    const twice = await op!.ask('KICK #c,#c b,ghost :x');
    expect(twice.map((m) => [m.command, m.params[1]])).toEqual([
      ['KICK', 'b'],
      ['401', 'ghost'],
    ]);
  });
});

describe('KNOCK', () => {
  it('tells ops of a +i channel, and rate-limits', async () => {
    await start();
    const [op, member] = await channelWith('#c', 'op', 'member');
    const bob = await connect('bob');
    expect(commands(await bob.ask('KNOCK #c'))).toEqual(['713']);
    await op!.ask('MODE #c +i');
    const knock = await bob.ask('KNOCK #c :let me in');
    expect(commands(knock)).toEqual(['711']);
    const seen = find(await pending(op!), '710')!;
    expect(seen.params.slice(1)).toEqual(['#c', expect.stringMatching(/^bob!/), 'has asked for an invite (let me in)']);
    expect(find(await pending(member!), '710')).toBeUndefined();
    expect(commands(await bob.ask('KNOCK #c'))).toEqual(['712']);
    expect(commands(await member!.ask('KNOCK #c'))).toEqual(['714']);
    expect(commands(await bob.ask('KNOCK #none'))).toEqual(['403']);
  });
});

describe('channel MODE', () => {
  it('normalises and broadcasts changes once; ignores no-ops', async () => {
    await start();
    const [op, bob] = await channelWith('#c', 'op', 'bob');
    const res = await op!.ask('MODE #c +o+v-v+v bob bob bob bob');
    expect(res.map((m) => m.params)).toEqual([['#c', '+ov-v+v', 'bob', 'bob', 'bob', 'bob']]);
    expect((await pending(bob!)).filter((m) => m.command === 'MODE')).toHaveLength(1);
    expect(await op!.ask('MODE #c +n')).toEqual([]);
    expect((await op!.ask('MODE #c +imn-t'))[0]!.params).toEqual(['#c', '+im-t']);
  });

  it('answers 472, 482, 401, 441, 696 and 467', async () => {
    await start();
    const [op, bob] = await channelWith('#c', 'op', 'bob');
    await connect('out');
    expect((await op!.ask('MODE #c +Zi'))[0]!.params.slice(0, 2)).toEqual(['op', 'Z']);
    expect(commands(await bob!.ask('MODE #c +i'))).toEqual(['482']);
    expect(commands(await op!.ask('MODE #c +o nobody'))).toEqual(['401']);
    expect(commands(await op!.ask('MODE #c +o out'))).toEqual(['441']);
    expect((await op!.ask('MODE #c +l zero'))[0]!.params).toEqual(['op', '#c', 'l', 'zero', expect.any(String)]);
    expect(commands(await op!.ask('MODE #c +l 0'))).toEqual(['696']);
    expect((await op!.ask('MODE #c +k a,b'))[0]!.params.slice(0, 4)).toEqual(['op', '#c', 'k', '*']);
    await op!.ask('MODE #c +k one');
    expect(commands(await op!.ask('MODE #c +k two'))).toEqual(['467']);
    expect(commands(await op!.ask('MODE #c'))).toEqual(['324', '329']);
    expect((await op!.ask('MODE #c'))[0]!.params).toEqual(['op', '#c', '+intk', 'one']);
    expect((await (await connect('out2')).ask('MODE #c'))[0]!.params).toEqual(['out2', '#c', '+intk', '*']);
    expect(commands(await op!.ask('MODE #nope +i'))).toEqual(['403']);
  });

  it('keeps s and p exclusive', async () => {
    await start();
    const [op] = await channelWith('#c', 'op');
    expect((await op!.ask('MODE #c +s'))[0]!.params).toEqual(['#c', '+s']);
    expect((await op!.ask('MODE #c +p'))[0]!.params).toEqual(['#c', '-s+p']);
  });

  it('manages ban lists: normalised masks, silent duplicates, 367/368, 348/349, 346/347, 478', async () => {
    await start({ limits: { list_entries: 3 } });
    const [op, bob] = await channelWith('#c', 'op', 'bob');
    expect((await op!.ask('MODE #c +b bad'))[0]!.params).toEqual(['#c', '+b', 'bad!*@*']);
    expect(await op!.ask('MODE #c +b bad!*@*')).toEqual([]);
    expect(await op!.ask('MODE #c -b other')).toEqual([]);
    await op!.ask('MODE #c +e *@good.host');
    const full = await op!.ask('MODE #c +Ib friend extra');
    expect(full.map((m) => m.command)).toEqual(['478', 'MODE']);
    expect(full[0]!.params.slice(1, 3)).toEqual(['#c', 'b']);
    const bans = await bob!.ask('MODE #c +b');
    expect(bans.map((m) => m.command)).toEqual(['367', '368']);
    expect(bans[0]!.params.slice(1, 4)).toEqual(['#c', 'bad!*@*', expect.stringMatching(/^op!/)]);
    expect(commands(await bob!.ask('MODE #c e'))).toEqual(['348', '349']);
    expect(commands(await bob!.ask('MODE #c I'))).toEqual(['346', '347']);
    expect((await op!.ask('MODE #c -b BAD!*@*'))[0]!.params).toEqual(['#c', '-b', 'bad!*@*']);
  });

  it('caps parameter modes at MODES per line', async () => {
    await start({ limits: { modes_per_line: 2 } });
    const [op] = await channelWith('#c', 'op');
    expect((await op!.ask('MODE #c +bbb a b c'))[0]!.params).toEqual(['#c', '+bb', 'a!*@*', 'b!*@*']);
  });

  it('enables halfop and owner prefixes from config', async () => {
    await start({ channels: { prefix: '(qaohv)~!@%+' } });
    const [op, half] = await channelWith('#c', 'op', 'half', 'v');
    await op!.ask('MODE #c +h half');
    expect(commands(await op!.ask('MODE #c +q op'))).toEqual(['482']);
    expect((await half!.ask('MODE #c +v v'))[0]!.params).toEqual(['#c', '+v', 'v']);
    expect(commands(await half!.ask('MODE #c +o v'))).toEqual(['482']);
    expect(commands(await half!.ask('KICK #c op'))).toEqual(['482']);
    expect(commands(await half!.ask('KICK #c v'))).toEqual(['KICK']);
  });
});

describe('rehash', () => {
  it('drops prefix modes that the new config no longer has', async () => {
    await start({ channels: { prefix: '(qaohv)~!@%+' } });
    const [op, half] = await channelWith('#c', 'op', 'half');
    await op!.ask('MODE #c +hv half half');
    writeFileSync(session.srv.configPath, toToml(testConfig()));
    expect(await session.srv.server.rehash('test')).toEqual({ ok: true, needsRestart: [], warnings: [] });
    expect(find(await half!.ask('NAMES #c'), '353')!.params[3]).toBe('@op +half');
    expect(commands(await half!.ask('KICK #c op'))).toEqual(['482']);
  });
});

describe('membership fan-out', () => {
  it('delivers QUIT and NICK exactly once to members sharing two channels', async () => {
    await start();
    const [alice, bob] = await channelWith('#one', 'alice', 'bob');
    const carol = await connect('carol');
    await alice!.ask('JOIN #two');
    await bob!.ask('JOIN #two');
    await carol.ask('JOIN #two');
    for (const c of [alice!, bob!, carol]) await pending(c);
    await bob!.ask('NICK robert');
    expect(commands(await pending(alice!)).filter((c) => c === 'NICK')).toHaveLength(1);
    expect(commands(await pending(carol)).filter((c) => c === 'NICK')).toHaveLength(1);
    bob!.send('QUIT :bye');
    await bob!.waitClosed();
    await alice!.waitFor('QUIT');
    expect(commands(await pending(alice!)).filter((c) => c === 'QUIT')).toHaveLength(0);
    expect(alice!.lines.filter((l) => / QUIT /.test(l))).toHaveLength(1);
    await carol.waitFor('QUIT');
    expect(carol.lines.filter((l) => / QUIT /.test(l))).toHaveLength(1);
    const outsider = await connect('out');
    expect(outsider.lines.filter((l) => / QUIT /.test(l))).toHaveLength(0);
  });
});
