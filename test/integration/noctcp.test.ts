// Channel mode +C: no CTCP to the channel except ACTION (Modern IRC "No CTCP" mode), refused
// with 404 to PRIVMSG and silently for NOTICE; it binds operators too.
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/protocol/message.js';
import type { TestClient } from '../support/harness.js';
import { useSession } from '../support/session.js';

const session = useSession();

async function connect(nick: string): Promise<TestClient> {
  return session.connect(nick);
}



describe('channel mode +C', () => {
  it('refuses CTCP other than ACTION, for everyone, once set', async () => {
    await session.start();
    const op = await connect('op');
    const user = await connect('user');
    await op.ask('JOIN #c');
    await user.ask('JOIN #c');
    expect(await user.ask('PRIVMSG #c :\x01VERSION\x01')).toEqual([]);

    expect((await op.ask('MODE #c +C'))[0]!.params).toEqual(['#c', '+C']);
    expect((await op.ask('MODE #c'))[0]!.params).toEqual(['op', '#c', '+Cnt']);
    await op.collectUntilPong();
    const from = op.mark;
    const refused = await user.ask('PRIVMSG #c :\x01PING 123\x01');
    expect(refused.map((m) => [m.command, ...m.params])).toEqual([['404', 'user', '#c', 'Cannot send CTCP to channel (+C)']]);
    expect(await user.ask('NOTICE #c :\x01PING 123\x01')).toEqual([]);
    expect((await op.ask('PRIVMSG #c :\x01VERSION\x01'))[0]!.command).toBe('404');
    expect(await user.ask('PRIVMSG #c :\x01ACTION waves\x01')).toEqual([]);
    expect(await user.ask('PRIVMSG #c :\x01ACTION\x01')).toEqual([]);
    expect(await user.ask('PRIVMSG #c :plain text')).toEqual([]);
    await op.collectUntilPong();
    const got = op.lines.slice(from).map((l) => parseMessage(l)).filter((m) => m.command === 'PRIVMSG');
    expect(got.map((m) => m.params[1])).toEqual(['\x01ACTION waves\x01', '\x01ACTION\x01', 'plain text']);
  });
});
