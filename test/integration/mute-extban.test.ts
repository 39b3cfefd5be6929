// The mute extban (+b $m:<mask>, ISUPPORT EXTBAN=$,am): matching users join but cannot speak,
// unless voiced or excepted with +e $m:<mask>; a plain ban still keeps users out.
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol/message.js';
import { client, startServer, type TestClient, type TestServer } from '../support/harness.js';

let srv: TestServer | undefined;
const open: TestClient[] = [];

async function connect(nick: string, user?: string): Promise<TestClient> {
  const c = await client(srv!.port, nick, { user });
  open.push(c);
  return c;
}

async function ask(c: TestClient, line: string): Promise<Message[]> {
  await c.collectUntilPong();
  c.send(line);
  return c.collectUntilPong();
}

const commands = (msgs: Message[]) => msgs.map((m) => m.command);

afterEach(async () => {
  for (const c of open.splice(0)) c.close();
  await srv?.stop();
  srv = undefined;
});

describe('mute extban', () => {
  it('advertises $m beside $a in one EXTBAN token', async () => {
    srv = await startServer();
    const c = await connect('alice');
    expect(c.lines.filter((l) => l.includes(' 005 ')).join(' ')).toContain(' EXTBAN=$,am ');
  });

  it('lets a muted user join but not speak, until voiced or unmuted', async () => {
    srv = await startServer();
    const op = await connect('op');
    await ask(op, 'JOIN #c');
    expect(commands(await ask(op, 'MODE #c +b $m:Quiet'))).toEqual(['MODE']);
    expect((await ask(op, 'MODE #c +b'))[0]!.params.slice(1, 3)).toEqual(['#c', '$m:Quiet!*@*']);
    const quiet = await connect('quiet');
    expect(commands(await ask(quiet, 'JOIN #c'))).toContain('JOIN');

    const refused = await ask(quiet, 'PRIVMSG #c :hello');
    expect(refused.map((m) => [m.command, m.params[2]])).toEqual([['404', 'Cannot send to channel (you are muted)']]);
    expect(await ask(quiet, 'NOTICE #c :hello')).toEqual([]);
    expect(await op.collectUntilPong()).toEqual([]);

    await ask(op, 'MODE #c +v quiet');
    await ask(quiet, 'PRIVMSG #c :voiced');
    await op.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'voiced');
    await ask(op, 'MODE #c -v quiet');
    expect(commands(await ask(op, 'MODE #c -b $m:QUIET!*@*'))).toEqual(['MODE']);
    await ask(quiet, 'PRIVMSG #c :unmuted');
    await op.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'unmuted');
  });

  it('is lifted by a $m exception (+e), not by a plain one', async () => {
    srv = await startServer();
    const op = await connect('op');
    await ask(op, 'JOIN #c');
    await ask(op, 'MODE #c +b $m:*!*@*');
    const evan = await connect('evan', 'evan');
    await ask(evan, 'JOIN #c');
    await ask(op, 'MODE #c +e *!evan@*');
    expect(commands(await ask(evan, 'PRIVMSG #c :plain exception'))).toEqual(['404']);
    await ask(op, 'MODE #c +e $m:*!evan@*');
    expect(await ask(evan, 'PRIVMSG #c :mute exception')).toEqual([]);
    await op.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'mute exception');
  });
});
