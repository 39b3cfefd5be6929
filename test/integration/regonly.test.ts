// User mode +R: only users logged in to an account (or on the ACCEPT list, or written to first)
// may send a +R user direct messages; others get 477 (NOTICE: nothing).
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/protocol/message.js';
import type { TestClient } from '../support/harness.js';
import { loggedInClient } from '../support/login.js';
import { useSession } from '../support/session.js';

const s = useSession();

async function privmsgs(c: TestClient, from: number): Promise<string[]> {
  await c.collectUntilPong();
  return c.lines.slice(from).map((l) => parseMessage(l)).filter((m) => m.command === 'PRIVMSG' || m.command === 'NOTICE').map((m) => m.params[1]!);
}

describe('user mode +R', () => {
  it('refuses direct messages from users not logged in, with 477, and lets logged-in ones through', async () => {
    await s.start();
    const evan = s.track(await loggedInClient(s.srv.server, s.srv.port, 'evan', 'evan'));
    const carmen = s.track(await loggedInClient(s.srv.server, s.srv.port, 'carmen', 'carmen'));
    const guest = await s.connect('guest');
    expect((await evan.ask('MODE evan +R'))[0]!.params).toEqual(['evan', '+R']);
    const from = evan.mark;
    const refused = await guest.ask('PRIVMSG evan :hey');
    expect(refused.map((m) => [m.command, ...m.params])).toEqual([['477', 'guest', 'evan', 'You must be logged in to an account to message this user']]);
    expect(await guest.ask('NOTICE evan :hey')).toEqual([]);
    expect((await guest.ask('@+typing=active TAGMSG evan')).map((m) => m.command)).toEqual([]);
    expect(await carmen.ask('PRIVMSG evan :from an account')).toEqual([]);
    // Channels are not affected.
    await evan.ask('JOIN #c');
    await guest.ask('JOIN #c');
    expect(await guest.ask('PRIVMSG #c :in the channel')).toEqual([]);
    expect(await privmsgs(evan, from)).toEqual(['from an account', 'in the channel']);
    await evan.ask('MODE evan -R');
    expect(await guest.ask('PRIVMSG evan :now open')).toEqual([]);
  });

  it('lets through whom the user ACCEPTs or wrote to, lists and removes them, and forgets them when they quit', async () => {
    await s.start();
    const evan = s.track(await loggedInClient(s.srv.server, s.srv.port, 'evan', 'evan'));
    const shiv = await s.connect('shiv');
    const other = await s.connect('other');
    await evan.ask('MODE evan +R');
    const accepted = await evan.ask('ACCEPT shiv,nobody');
    expect(accepted.map((m) => [m.command, ...m.params.slice(1)])).toEqual([['401', 'nobody', 'No such nick/channel']]);
    expect((await evan.ask('ACCEPT shiv')).map((m) => [m.command, ...m.params.slice(1)])).toEqual([['457', 'shiv', 'is already on your accept list']]);
    const from = evan.mark;
    expect(await shiv.ask('PRIVMSG evan :accepted')).toEqual([]);
    // Writing first accepts the answer.
    await evan.ask('PRIVMSG other :hello');
    expect(await other.ask('PRIVMSG evan :answer')).toEqual([]);
    expect(await privmsgs(evan, from)).toEqual(['accepted', 'answer']);
    const list = await evan.ask('ACCEPT *');
    expect(list.filter((m) => m.command === '281').map((m) => m.params[1]).sort()).toEqual(['other', 'shiv']);
    expect(list.at(-1)!.command).toBe('282');
    await evan.ask('ACCEPT -shiv');
    expect((await evan.ask('ACCEPT -shiv')).map((m) => m.command)).toEqual(['458']);
    expect((await shiv.ask('PRIVMSG evan :again'))[0]!.command).toBe('477');
    other.send('QUIT');
    await other.waitClosed();
    const after = await evan.ask('ACCEPT *');
    expect(after.map((m) => m.command)).toEqual(['282']);
  });
});
