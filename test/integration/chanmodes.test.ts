// Channel modes +M (logged-in speakers), +U (op-moderated), +u (auditorium) and +f (forward),
// over real sockets, with their ISUPPORT CHANMODES types and the MODE help.
import { describe, expect, it } from 'vitest';
import { parseMessage, type Message } from '../../src/protocol/message.js';
import type { TestClient } from '../support/harness.js';
import { loggedInClient } from '../support/login.js';
import { useSession } from '../support/session.js';

const s = useSession();

/** Lines a client got since `from`, parsed, of the given commands. */
async function got(c: TestClient, from: number, ...commands: string[]): Promise<Message[]> {
  await c.collectUntilPong();
  return c.lines.slice(from).map((l) => parseMessage(l)).filter((m) => commands.includes(m.command));
}

async function channelOf(name: string, op: string, ...others: string[]): Promise<TestClient[]> {
  const clients = [await s.connect(op)];
  await clients[0]!.ask(`JOIN ${name}`);
  for (const nick of others) {
    const c = await s.connect(nick);
    await c.ask(`JOIN ${name}`);
    clients.push(c);
  }
  return clients;
}

describe('channel modes', () => {
  it('advertises f as type C and CMUu as type D, and explains them in HELP MODE', async () => {
    await s.start();
    const c = await s.connect('alice');
    expect(c.lines.filter((l) => / 005 /.test(l)).join(' ')).toContain(' CHANMODES=beI,k,fl,CMUimnpstu ');
    const help = (await c.ask('HELP MODE')).map((m) => m.params.at(-1)).join(' ');
    for (const text of ['f <channel>', 'M only users', 'U messages of users without voice', 'u auditorium', 'R only users']) expect(help).toContain(text);
  });

  it('+M lets only logged-in users (and the voiced) speak', async () => {
    await s.start();
    const [op, guest] = await channelOf('#m', 'op', 'guest');
    const member = s.track(await loggedInClient(s.srv.server, s.srv.port, 'member', 'memberacct'));
    await member.ask('JOIN #m');
    await op!.ask('MODE #m +M');
    const refused = await guest!.ask('PRIVMSG #m :hello');
    expect(refused.map((m) => [m.command, ...m.params])).toEqual([['404', 'guest', '#m', 'Cannot send to channel (+M: you need to be logged in to an account)']]);
    expect(await guest!.ask('NOTICE #m :hello')).toEqual([]);
    const from = op!.mark;
    expect(await member.ask('PRIVMSG #m :logged in')).toEqual([]);
    await op!.ask('MODE #m +v guest');
    expect(await guest!.ask('PRIVMSG #m :voiced')).toEqual([]);
    expect((await got(op!, from, 'PRIVMSG')).map((m) => m.params[1])).toEqual(['logged in', 'voiced']);
  });

  it('+U sends the messages of members without voice to the operators only, echoed to the sender', async () => {
    await s.start();
    const [op, voiced, plain] = await channelOf('#u', 'op', 'voiced', 'plain');
    const sender = await s.connect('sender', { caps: ['echo-message'] });
    await sender.ask('JOIN #u');
    await op!.ask('MODE #u +Uv voiced');
    const marks = [op!.mark, voiced!.mark, plain!.mark, sender.mark];
    await sender.ask('PRIVMSG #u :to the ops');
    await voiced!.ask('PRIVMSG #u :from voice');
    const [toOp, toVoiced, toPlain, toSender] = await Promise.all([op!, voiced!, plain!, sender].map((c, i) => got(c, marks[i]!, 'PRIVMSG')));
    expect(toOp!.map((m) => m.params[1])).toEqual(['to the ops', 'from voice']);
    expect(toVoiced).toEqual([]);
    expect(toPlain!.map((m) => m.params[1])).toEqual(['from voice']);
    expect(toSender!.map((m) => [m.source?.split('!')[0], m.params[0], m.params[1]])).toEqual([
      ['sender', '#u', 'to the ops'],
      ['voiced', '#u', 'from voice'],
    ]);
  });

  it('+u hides members without voice from each other, and shows them once voiced', async () => {
    await s.start();
    const [op] = await channelOf('#a', 'op');
    await op!.ask('MODE #a +u');
    const early = await s.connect('early');
    await early.ask('JOIN #a');
    const late = await s.connect('late');
    const lateJoin = await late.ask('JOIN #a');
    // The newcomer sees the operator and itself, not the other member without voice.
    const names = lateJoin.find((m) => m.command === '353')!.params.at(-1)!.split(' ').sort();
    expect(names).toEqual(['@op', 'late']);
    const who = (await late.ask('WHO #a')).filter((m) => m.command === '352').map((m) => m.params[5]).sort();
    expect(who).toEqual(['late', 'op']);
    // The operator sees everyone.
    expect((await op!.ask('NAMES #a')).find((m) => m.command === '353')!.params.at(-1)!.split(' ').sort()).toEqual(['@op', 'early', 'late']);

    const fromEarly = early.mark;
    await op!.ask('MODE #a +v late');
    const seen = await got(early, fromEarly, 'JOIN', 'MODE', 'PART', 'QUIT');
    expect(seen.map((m) => [m.command, m.source?.split('!')[0], ...m.params])).toEqual([
      ['JOIN', 'late', '#a'],
      ['MODE', 'op', '#a', '+v', 'late'],
    ]);
    const fromLate = late.mark;
    const quitter = await s.connect('quitter');
    await quitter.ask('JOIN #a');
    quitter.send('QUIT :bye');
    await quitter.waitClosed();
    await op!.ask('MODE #a -v late');
    // Voiced, "late" saw the newcomer come and go; "early" did not.
    expect((await got(late, fromLate, 'JOIN', 'QUIT', 'PART')).map((m) => [m.command, m.source?.split('!')[0]])).toEqual([
      ['JOIN', 'quitter'],
      ['QUIT', 'quitter'],
    ]);
    const after = await got(early, fromEarly, 'JOIN', 'MODE', 'PART', 'QUIT');
    expect(after.slice(2).map((m) => [m.command, m.source?.split('!')[0], ...m.params])).toEqual([
      ['MODE', 'op', '#a', '-v', 'late'],
      ['PART', 'late', '#a'],
    ]);
    // Members without voice do not see each other part either.
    const fromOp = op!.mark;
    const fromEarly2 = early.mark;
    await late.ask('PART #a');
    expect((await got(op!, fromOp, 'PART')).length).toBe(1);
    expect(await got(early, fromEarly2, 'PART')).toEqual([]);
  });

  it('+f forwards a refused join to the target channel with 470, one hop only, and needs op there', async () => {
    await s.start();
    const [op] = await channelOf('#full', 'op');
    await op!.ask('JOIN #overflow');
    const [other] = await channelOf('#elsewhere', 'other');
    const notOp = (await op!.ask('MODE #full +f #elsewhere')).find((m) => m.command === '482')!;
    expect(notOp.params.slice(1)).toEqual(['#elsewhere', 'You must be a channel operator in the channel you forward to']);
    expect((await op!.ask('MODE #full +f #nowhere')).find((m) => m.command === '696')!.params.slice(1)).toEqual(['#full', 'f', '#nowhere', 'No such channel to forward to']);
    expect((await op!.ask('MODE #full +f #full')).find((m) => m.command === '696')).toBeDefined();
    expect((await op!.ask('MODE #full +if #overflow'))[0]!.params).toEqual(['#full', '+if', '#overflow']);
    expect((await op!.ask('MODE #full'))[0]!.params).toEqual(['op', '#full', '+intf', '#overflow']);

    const user = await s.connect('user');
    const joined = await user.ask('JOIN #full');
    expect(joined.map((m) => m.command)).toEqual(expect.arrayContaining(['470', 'JOIN', '353']));
    expect(joined.find((m) => m.command === '470')!.params).toEqual(['user', '#full', '#overflow', 'Forwarding to another channel']);
    expect(joined.find((m) => m.command === 'JOIN')!.params[0]).toBe('#overflow');
    expect(joined.some((m) => m.command === '473')).toBe(false);

    // The target refuses too (and forwards on): no second hop, the first refusal is told.
    await op!.ask('MODE #overflow +i');
    await other!.ask('INVITE op #elsewhere');
    await op!.ask('JOIN #elsewhere');
    await other!.ask('MODE #elsewhere +o op');
    await op!.ask('MODE #overflow +f #elsewhere');
    const second = await s.connect('second');
    const refused = await second.ask('JOIN #full');
    expect(refused.map((m) => m.command)).toEqual(['473']);
    await op!.ask('MODE #full -f');
    expect((await op!.ask('MODE #full'))[0]!.params).toEqual(['op', '#full', '+int']);
  });
});
