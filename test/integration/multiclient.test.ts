// Multiclient: a second connection logged in to the same account with the same nick becomes a
// session of the user already online. One user to everyone else; every session sees the user's
// traffic; replies go to the session that asked; the user quits with its last session.
import { describe, expect, it } from 'vitest';
import { TestClient } from '../support/harness.js';
import { loggedInClient, saslLogin } from '../support/login.js';
import { operConfig, operUp } from '../support/oper.js';
import { useSession } from '../support/session.js';

const s = useSession();

async function session(nick: string, account = nick, caps: string[] = []): Promise<TestClient> {
  return s.track(await loggedInClient(s.srv.server, s.srv.port, nick, account, caps));
}

const commands = (msgs: { command: string }[]) => msgs.map((m) => m.command);

/** alys in #room (first connection with `caps`), `more` further sessions of alys, and bob in #room. */
async function roomWithSessions(more: number, caps: string[] = []) {
  const first = await session('alys', 'alys', caps);
  first.send('JOIN #room');
  await first.waitFor('366');
  const others: TestClient[] = [];
  for (let i = 0; i < more; i++) others.push(await session('alys'));
  const bob = await s.connect('bob');
  bob.send('JOIN #room');
  await bob.waitFor('366');
  return { first, others, bob };
}

describe('attaching a session', () => {
  it('gives the second connection the same user, with its channels, and nobody else notices', async () => {
    await s.start();
    const first = await session('alys');
    first.send('JOIN #room');
    first.send('TOPIC #room :the topic');
    await first.waitFor('TOPIC');
    const bob = await s.connect('bob');
    bob.send('JOIN #room');
    await bob.waitFor('366');
    await bob.collectUntilPong();

    const second = await session('alys');
    const welcome = second.lines.map((l) => l.split(' ').slice(0, 3).join(' '));
    expect(welcome).toContain(`:${s.srv.server.name} 001 alys`);
    await second.collectUntilPong();
    // The channel state arrives after the MOTD as if the session had joined itself.
    const join = second.lines.findIndex((l) => /^:alys!\S+ JOIN #room$/.test(l));
    expect(join).toBeGreaterThan(second.lines.findIndex((l) => / 376 /.test(l)));
    expect(second.lines.some((l) => / 332 alys #room :the topic$/.test(l))).toBe(true);
    expect(second.lines.some((l) => / 353 alys = #room :.*@alys/.test(l))).toBe(true);

    const names = await bob.ask('NAMES #room');
    expect(names.find((m) => m.command === '353')!.params[3]!.split(' ').sort()).toEqual(['@alys', 'bob']);
    expect(commands(await bob.collectUntilPong())).not.toContain('JOIN');
    const lusers = await bob.ask('LUSERS');
    expect(lusers.find((m) => m.command === '251')!.params[1]).toMatch(/There are 2 users/);
  });

  it('delivers messages to every session and shows what one session says to the others', async () => {
    await s.start();
    const { first, others: [second], bob } = await roomWithSessions(1);
    await first.collectUntilPong();
    await second.collectUntilPong();

    bob.send('PRIVMSG alys :hello you');
    bob.send('PRIVMSG #room :hello all');
    for (const c of [first, second]) {
      await c.waitFor((m) => m.command === 'PRIVMSG' && m.params[0] === 'alys' && m.params[1] === 'hello you');
      await c.waitFor((m) => m.command === 'PRIVMSG' && m.params[0] === '#room' && m.params[1] === 'hello all');
    }

    // No echo-message on the speaking session: the other session still sees the message.
    second.send('PRIVMSG #room :from my phone');
    await bob.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'from my phone');
    await first.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'from my phone' && m.source!.startsWith('alys!'));
    expect((await second.collectUntilPong()).filter((m) => m.command === 'PRIVMSG')).toEqual([]);
    expect((await bob.collectUntilPong()).filter((m) => m.command === 'PRIVMSG')).toEqual([]);

    // A JOIN from one session is seen by all of them, and by others once.
    second.send('JOIN #other');
    await second.waitFor('366');
    await first.waitFor((m) => m.command === 'JOIN' && m.params[0] === '#other');
  });

  it('answers a session only: numerics, PONG and labeled replies do not reach the other sessions', async () => {
    await s.start();
    const first = await session('alys', 'alys', ['labeled-response', 'batch']);
    const second = await session('alys', 'alys', ['labeled-response', 'batch']);
    await s.connect('bob');
    await first.collectUntilPong();
    const whois = await second.ask('WHOIS bob');
    expect(commands(whois)).toContain('311');
    second.send('@label=abc WHOIS bob');
    await second.waitFor((m) => m.command === 'BATCH' && m.tags?.label === 'abc');
    second.send('NICK alys_');
    await second.waitFor('NICK');
    await first.waitFor((m) => m.command === 'NICK' && m.params[0] === 'alys_');
    const seen = commands(await first.collectUntilPong());
    expect(seen).not.toContain('311');
    expect(seen).not.toContain('BATCH');
    expect(first.lines.some((l) => l.includes('label=abc'))).toBe(false);
    // The renamed user still has both sessions.
    expect((await second.ask('WHOIS alys_')).find((m) => m.command === '311')!.params[1]).toBe('alys_');
  });

  it('labels the echo of a multiline batch for the session that sent it, not for the others', async () => {
    await s.start();
    const caps = ['labeled-response', 'batch', 'draft/multiline', 'echo-message'];
    const first = await session('alys', 'alys', caps);
    const second = await session('alys', 'alys', caps);
    await s.connect('bob');
    await first.collectUntilPong();
    const from = first.mark;
    second.send('@label=m1 BATCH +x draft/multiline bob');
    second.send('@batch=x PRIVMSG bob :one');
    second.send('@batch=x PRIVMSG bob :two');
    second.send('BATCH -x');
    const echo = await second.collectUntilPong();
    expect(echo.map((m) => [m.command, m.tags?.label])).toEqual([
      ['BATCH', 'm1'],
      ['PRIVMSG', undefined],
      ['PRIVMSG', undefined],
      ['BATCH', undefined],
    ]);
    await first.collectUntilPong();
    const seen = first.lines.slice(from).filter((l) => !/ PONG /.test(l));
    expect(seen.map((l) => l.replace(/[+-]\w+|batch=\w+/g, '#'))).toEqual([
      ':alys!alys@127.0.0.1 BATCH # draft/multiline bob',
      '@# :alys!alys@127.0.0.1 PRIVMSG bob one',
      '@# :alys!alys@127.0.0.1 PRIVMSG bob two',
      ':irc.test BATCH #',
    ]);
  });

  it('filters capability lines per session', async () => {
    await s.start();
    const { first, others: [second], bob } = await roomWithSessions(1, ['away-notify']);
    bob.send('AWAY :lunch');
    await first.waitFor((m) => m.command === 'AWAY' && m.params[0] === 'lunch');
    expect(commands(await second.collectUntilPong())).not.toContain('AWAY');
  });

  it('shares read markers with the other sessions of the same nick', async () => {
    await s.start();
    const first = await session('alys', 'alys', ['draft/read-marker']);
    first.send('JOIN #test');
    await first.waitFor('366');
    const second = await session('alys', 'alys', ['draft/read-marker']);
    await second.collectUntilPong();
    first.send('MARKREAD #test timestamp=2022-11-11T11:11:11.111Z');
    const got = await second.waitFor('MARKREAD');
    expect(got.params).toEqual(['#test', 'timestamp=2022-11-11T11:11:11.111Z']);
  });

  it("gives a new session the account's query read markers after its welcome", async () => {
    await s.start();
    const first = await session('alys', 'alys', ['draft/read-marker']);
    first.send('MARKREAD bob timestamp=2022-10-10T10:10:10.100Z');
    await first.waitFor('MARKREAD');
    const second = await session('alys', 'alys', ['draft/read-marker']);
    await second.collectUntilPong();
    const line = second.lines.find((l) => l.includes('MARKREAD bob'));
    expect(line).toMatch(/MARKREAD bob timestamp=2022-10-10T10:10:10\.100Z$/);
    expect(second.lines.indexOf(line!)).toBeGreaterThan(second.lines.findIndex((l) => / 376 /.test(l)));
    // The first session is not sent its markers again.
    expect(commands(await first.collectUntilPong())).not.toContain('MARKREAD');
  });
});

describe('leaving', () => {
  it('keeps the user while any session remains, whichever went first', async () => {
    await s.start();
    const { first, others: [second, third], bob } = await roomWithSessions(2);

    first.send('QUIT :laptop closed');
    await first.waitClosed();
    third.send('QUIT :phone off');
    await third.waitClosed();
    expect(commands(await bob.collectUntilPong())).not.toContain('QUIT');
    // The session that was attached carries the user on.
    bob.send('PRIVMSG alys :still there?');
    await second.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'still there?');
    second.send('PRIVMSG #room :yes');
    await bob.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'yes');

    second.send('QUIT :bye');
    await bob.waitFor((m) => m.command === 'QUIT' && m.source!.startsWith('alys!'));
    expect((await bob.ask('WHOIS alys')).map((m) => m.command)).toContain('401');
  });

  it('lists every session as a connection in STATS l and the metrics', async () => {
    const srv = await s.start(operConfig({ metrics: { enabled: true, address: '127.0.0.1', port: 0 } }));
    await session('alys');
    await session('alys');
    const op = await s.connect('oper');
    await operUp(op);
    const links = (await op.ask('STATS l')).filter((m) => m.command === '211').map((m) => m.params[1]!.split('[')[0]);
    expect(links.sort()).toEqual(['alys', 'alys', 'oper']);
    const text = await (await fetch(`http://127.0.0.1:${srv.server.http!.port}/metrics`)).text();
    const open = text.split('\n').filter((l) => l.startsWith('ircd_connections_open{'));
    expect(open.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0)).toBe(3);
  });

  it('KILL ends every session of the user', async () => {
    await s.start(operConfig());
    const first = await session('alys');
    const second = await session('alys');
    const op = await s.connect('oper');
    await operUp(op);
    op.send('KILL alys :enough');
    await first.waitClosed();
    await second.waitClosed();
  });

  it('a new K-line ends only the sessions it matches; the user goes with the last one', async () => {
    await s.start(operConfig());
    const first = await session('alys');
    // A second session under another ident.
    const second = s.track(await TestClient.connect(s.srv.port));
    await saslLogin(second, 'alys');
    second.send('CAP END');
    second.send('NICK alys');
    second.send('USER laptop 0 * :Test User');
    await second.waitFor('376');
    const op = await s.connect('oper');
    await operUp(op);
    const bob = await s.connect('bob');

    op.send('KLINE laptop@127.0.0.1 :not from there');
    const closing = await second.waitFor('ERROR');
    expect(closing.params[0]).toMatch(/Banned: not from there/);
    await second.waitClosed();
    first.send('PING still');
    await first.waitFor((m) => m.command === 'PONG' && m.params.includes('still'));
    expect((await bob.ask('ISON alys')).find((m) => m.command === '303')!.params[1]).toBe('alys');

    op.send('KLINE alys@127.0.0.1 :and not here');
    await first.waitClosed();
    expect((await bob.ask('ISON alys')).find((m) => m.command === '303')!.params[1]).toBe('');
  });
});

describe('when a nick is not shared', () => {
  it('refuses another account, a client that did not log in, and more than max_sessions', async () => {
    await s.start({ accounts: { max_sessions: 2 } });
    await session('alys');
    const other = await loggedInClient(s.srv.server, s.srv.port, 'mallory', 'mallory');
    s.track(other);
    expect(commands(await other.ask('NICK alys'))).toContain('433');

    // Still negotiating capabilities, it might yet log in: NICK waits, CAP END settles it.
    const anon = await s.raw();
    anon.send('CAP LS 302');
    anon.send('NICK alys');
    anon.send('USER a 0 * :A');
    expect(commands(await anon.collectUntilPong())).not.toContain('433');
    anon.send('CAP END');
    await anon.waitFor('433');
    anon.send('NICK anon');
    await anon.waitFor('001');

    await session('alys');
    const third = await s.raw();
    await saslLogin(third, 'alys');
    third.send('NICK alys');
    third.send('USER a 0 * :A');
    third.send('CAP END');
    expect((await third.waitFor('433')).params[2]).toMatch(/2 sessions/);
  });

  it('is off with accounts.multiclient = false', async () => {
    await s.start({ accounts: { multiclient: false } });
    await session('alys');
    const again = await s.raw();
    await saslLogin(again, 'alys');
    again.send('NICK alys');
    await again.waitFor('433');
  });
});

describe('a user with no session', () => {
  // What an always-on user with every device offline, or a user behind a linked server, is.
  async function ghostInRoom() {
    const srv = await s.start(operConfig());
    const bob = await s.connect('bob');
    const carol = await s.connect('carol');
    for (const c of [bob, carol]) {
      c.send('JOIN #room');
      await c.waitFor('366');
    }
    const ghost = srv.server.introduceSessionlessUser({ nick: 'ghost', user: 'g', host: 'ghost.example', realname: 'Ghost', ip: '192.0.2.7' });
    srv.server.state.addMember(srv.server.state.findChannel('#room')!, ghost, '');
    return { state: srv.server.state, ghost, bob, carol };
  }

  it('keeps its nick and channels, answers WHOIS, and takes messages without writing anything', async () => {
    const { state, ghost, bob, carol } = await ghostInRoom();
    expect(ghost.sessions).toEqual([]);
    expect(state.findNick('GHOST')).toBe(ghost);

    expect(commands(await bob.ask('NICK ghost'))).toContain('433');
    const names = await bob.ask('NAMES #room');
    expect(names.find((m) => m.command === '353')!.params[3]!.split(' ').sort()).toEqual(['@bob', 'carol', 'ghost']);
    const whois = await carol.ask('WHOIS ghost');
    expect(whois.find((m) => m.command === '311')!.params.slice(1, 4)).toEqual(['ghost', 'g', 'ghost.example']);
    expect(commands(whois)).toContain('319');
    expect(commands(whois)).not.toContain('671');

    bob.send('PRIVMSG #room :anyone there?');
    bob.send('PRIVMSG ghost :and you?');
    expect((await carol.waitFor('PRIVMSG')).params).toEqual(['#room', 'anyone there?']);
    expect(commands(await bob.collectUntilPong())).not.toContain('FAIL');
  });

  it("reaches other users' sessions through State's events alone: join, nick, host, topic, modes, part", async () => {
    // No command runs for the ghost: what its peers see comes from the State changes themselves,
    // as it will for changes that arrive from a linked server or from services.
    const { state, ghost, bob, carol } = await ghostInRoom();
    const room = state.findChannel('#room')!;
    const join = await carol.waitFor((m) => m.command === 'JOIN' && m.source === 'ghost!g@ghost.example');
    expect(join.params).toEqual(['#room']);
    state.setNick(ghost, 'spectre');
    expect((await bob.waitFor('NICK')).source).toBe('ghost!g@ghost.example');
    state.setHost(ghost, 'veiled.example', 'sp');
    // bob and carol lack chghost: the user leaves and comes back under the new mask.
    const rejoin = await carol.collectUntilPong();
    expect(rejoin.map((m) => `${m.command} ${m.source}`)).toEqual([
      'NICK ghost!g@ghost.example',
      'QUIT spectre!g@ghost.example',
      'JOIN spectre!sp@veiled.example',
    ]);
    state.setTopic(room, { text: 'set by the server', setBy: 'irc.test', setAt: 1 });
    const topic = await bob.waitFor('TOPIC');
    expect([topic.source, ...topic.params]).toEqual([s.srv.server.name, '#room', 'set by the server']);
    state.changeChannelModes(room, undefined, (w) => {
      w.setMemberPrefixes(room, ghost, 'v');
      return { applied: [{ add: true, mode: 'v', param: ghost.nick }] };
    });
    const mode = await carol.waitFor('MODE');
    expect([mode.source, ...mode.params]).toEqual([s.srv.server.name, '#room', '+v', 'spectre']);
    state.part(room, ghost, 'fading');
    const part = await bob.waitFor('PART');
    expect([part.source, ...part.params]).toEqual(['spectre!sp@veiled.example', '#room', 'fading']);
    expect((await carol.waitFor('PART')).params).toEqual(['#room', 'fading']);
  });

  it('is removed cleanly by KILL: one quit, every index forgets it, its peers see the QUIT', async () => {
    const { state, ghost, bob, carol } = await ghostInRoom();
    const quits: string[] = [];
    state.events.on('userQuit', ({ client, reason }) => quits.push(`${client.nick}: ${reason}`));
    const registeredBefore = state.registeredCount;
    await operUp(bob);

    bob.send('KILL ghost :gone');
    const quit = await carol.waitFor('QUIT');
    expect(quit.source).toBe('ghost!g@ghost.example');
    expect(quits).toEqual(['ghost: Killed (bob (gone))']);
    expect(state.findNick('ghost')).toBeUndefined();
    expect(state.clients.has(ghost)).toBe(false);
    expect(state.memberships.has(ghost)).toBe(false);
    expect([...state.findChannel('#room')!.members.keys()].map((c) => c.nick).sort()).toEqual(['bob', 'carol']);
    expect(state.registeredCount).toBe(registeredBefore - 1);

    carol.send('NICK ghost');
    await carol.waitFor((m) => m.command === 'NICK' && m.params[0] === 'ghost');
  });
});
