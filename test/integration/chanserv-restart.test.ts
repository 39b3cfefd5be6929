// A registered channel across a daemon restart (kill -9 included): its topic, modes, lists and
// access list are back, the first to join cannot take ops, and the founder and access entries
// get their modes on joining. Runs dist/src/main.js as a real process (`npm run build` first).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol/message.js';
import { daemonFiles, useDaemons } from '../support/daemon.js';
import type { TestClient } from '../support/harness.js';

const daemons = useDaemons();

async function connectWhenUp(port: number, nick: string): Promise<TestClient> {
  const c = await daemons.connectWhenUp(port);
  await c.register(nick);
  return c;
}

const fromService = (name: string, ms: Message[]) => ms.filter((m) => m.command === 'NOTICE' && m.source?.startsWith(`${name}!`)).map((m) => m.params[1]!);
const commands = (ms: Message[]) => ms.map((m) => m.command);
const modes = (ms: Message[]) => ms.filter((m) => m.command === 'MODE').map((m) => `${m.source!.split('!')[0]} ${m.params.join(' ')}`);

describe('a registered channel across a restart', () => {
  it('keeps topic, modes, lists and access after kill -9; the first joiner gets no ops, the founder and +v entries get theirs', async () => {
    const { port, config } = await daemonFiles((dir) => ({ store: { path: join(dir, 'ircd.db') } }));
    let daemon = daemons.spawn(config);

    const alice = await connectWhenUp(port, 'alice');
    expect(fromService('NickServ', await alice.ask('PRIVMSG NickServ :REGISTER sturdy-password'))[0]).toMatch(/registered/);
    const bob = await connectWhenUp(port, 'bob');
    expect(fromService('NickServ', await bob.ask('PRIVMSG NickServ :REGISTER sturdy-password'))[0]).toMatch(/registered/);
    await alice.ask('JOIN #keep');
    expect(fromService('ChanServ', await alice.ask('PRIVMSG ChanServ :REGISTER #keep'))).toEqual(['#keep is now registered to alice.']);
    // Changes after registration are written as they happen.
    await alice.ask('MODE #keep +imk door');
    await alice.ask('MODE #keep +l 20');
    await alice.ask('MODE #keep +beI *!*@spam.example *!*@friend.example *!*@guest.example');
    await alice.ask('TOPIC #keep :survives a crash');
    expect(fromService('ChanServ', await alice.ask('PRIVMSG ChanServ :AMODE #keep +v bob'))).toEqual(['bob now gets +v on joining #keep.']);
    await alice.ask('MODE #keep -i');
    await daemon.kill('SIGKILL');
    for (const c of [alice, bob]) c.close();

    daemon = daemons.spawn(config);
    const mallory = await connectWhenUp(port, 'mallory');
    const join1 = await mallory.ask('JOIN #keep door');
    expect(join1.find((m) => m.command === '332')!.params[2]).toBe('survives a crash');
    expect(join1.find((m) => m.command === '353')!.params[3]).toBe('mallory');
    expect(commands(await mallory.ask('MODE #keep +o mallory'))).toContain('482');
    expect((await mallory.ask('MODE #keep')).find((m) => m.command === '324')!.params.slice(2)).toEqual(['+mntkl', 'door', '20']);
    expect((await mallory.ask('MODE #keep b')).find((m) => m.command === '367')!.params[2]).toBe('*!*@spam.example');
    expect((await mallory.ask('MODE #keep e')).find((m) => m.command === '348')!.params[2]).toBe('*!*@friend.example');
    expect((await mallory.ask('MODE #keep I')).find((m) => m.command === '346')!.params[2]).toBe('*!*@guest.example');

    const alice2 = await connectWhenUp(port, 'alice');
    expect(fromService('NickServ', await alice2.ask('PRIVMSG NickServ :IDENTIFY sturdy-password'))).toEqual(['You are now identified as alice.']);
    expect(modes(await alice2.ask('JOIN #keep door'))).toEqual(['ChanServ #keep +o alice']);
    const bob2 = await connectWhenUp(port, 'bob');
    await bob2.ask('PRIVMSG NickServ :IDENTIFY sturdy-password');
    expect(modes(await bob2.ask('JOIN #keep door'))).toEqual(['ChanServ #keep +v bob']);
    const info = fromService('ChanServ', await mallory.ask('PRIVMSG ChanServ :INFO #keep'));
    expect(info).toContain('Founder: alice');
    expect(info).toContain('Access entries: 1');
  });
});
