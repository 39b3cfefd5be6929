// The mute extban (+b $m:<mask>, ISUPPORT EXTBAN=$,am): matching users join but cannot speak,
// unless voiced or excepted with +e $m:<mask>; a plain ban still keeps users out.
import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol/message.js';
import type { TestClient } from '../support/harness.js';
import { useSession } from '../support/session.js';

const session = useSession();

async function connect(nick: string, user?: string): Promise<TestClient> {
  return session.connect(nick, { user });
}


const commands = (msgs: Message[]) => msgs.map((m) => m.command);


describe('mute extban', () => {
  it('advertises $m beside $a in one EXTBAN token', async () => {
    await session.start();
    const c = await connect('alice');
    expect(c.lines.filter((l) => l.includes(' 005 ')).join(' ')).toContain(' EXTBAN=$,am ');
  });

  it('lets a muted user join but not speak, until voiced or unmuted', async () => {
    await session.start();
    const op = await connect('op');
    await op.ask('JOIN #c');
    expect(commands(await op.ask('MODE #c +b $m:Quiet'))).toEqual(['MODE']);
    expect((await op.ask('MODE #c +b'))[0]!.params.slice(1, 3)).toEqual(['#c', '$m:Quiet!*@*']);
    const quiet = await connect('quiet');
    expect(commands(await quiet.ask('JOIN #c'))).toContain('JOIN');

    const refused = await quiet.ask('PRIVMSG #c :hello');
    expect(refused.map((m) => [m.command, m.params[2]])).toEqual([['404', 'Cannot send to channel (you are muted)']]);
    expect(await quiet.ask('NOTICE #c :hello')).toEqual([]);
    expect(await op.collectUntilPong()).toEqual([]);

    await op.ask('MODE #c +v quiet');
    await quiet.ask('PRIVMSG #c :voiced');
    await op.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'voiced');
    await op.ask('MODE #c -v quiet');
    expect(commands(await op.ask('MODE #c -b $m:QUIET!*@*'))).toEqual(['MODE']);
    await quiet.ask('PRIVMSG #c :unmuted');
    await op.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'unmuted');
  });

  it('is lifted by a $m exception (+e), not by a plain one', async () => {
    await session.start();
    const op = await connect('op');
    await op.ask('JOIN #c');
    await op.ask('MODE #c +b $m:*!*@*');
    const evan = await connect('evan', 'evan');
    await evan.ask('JOIN #c');
    await op.ask('MODE #c +e *!evan@*');
    expect(commands(await evan.ask('PRIVMSG #c :plain exception'))).toEqual(['404']);
    await op.ask('MODE #c +e $m:*!evan@*');
    expect(await evan.ask('PRIVMSG #c :mute exception')).toEqual([]);
    await op.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'mute exception');
  });
});
