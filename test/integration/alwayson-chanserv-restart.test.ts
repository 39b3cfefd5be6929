// Always-on users in registered channels across daemon restarts (kill -9, then a clean stop): the
// always-on founder comes back with +o and an always-on user with a +v entry with +v (ChanServ
// gives them as it does on a join); a registered channel whose only members are restored users
// keeps its topic, modes (key included) and lists; the first human to join gets no ops; an
// unregistered channel comes back with its members as plain members. Runs dist/src/main.js as a
// real process with a store file (`npm run build` first).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMessage, type Message } from '../../src/protocol/message.js';
import { daemonFiles, useDaemons } from '../support/daemon.js';
import type { TestClient } from '../support/harness.js';
import { saslLogin } from '../support/login.js';

const PASSWORD = 'sturdy-password';
const daemons = useDaemons();
/** The connections of one daemon's run, closed before the next. */
const clients: TestClient[] = [];

/** A connection once the daemon listens (it is started just before). */
async function connectWhenUp(port: number): Promise<TestClient> {
  const c = await daemons.connectWhenUp(port);
  clients.push(c);
  return c;
}

/** A registered client that made an account with NickServ REGISTER (always-on at once: the policy is opt-out). */
async function newAccount(port: number, nick: string): Promise<TestClient> {
  const c = await connectWhenUp(port);
  await c.register(nick);
  expect(fromChanServ(await c.ask(`PRIVMSG NickServ :REGISTER ${PASSWORD}`), 'NickServ')[0]).toMatch(/registered; you are now logged in/);
  return c;
}

/** A connection that logs in with SASL and so attaches to the account's always-on user; with what it got after its MOTD (its channels). */
async function attach(port: number, account: string): Promise<{ c: TestClient; burst: Message[] }> {
  const c = await connectWhenUp(port);
  await saslLogin(c, account, [], PASSWORD);
  c.send('CAP END');
  c.send(`NICK ${account}_`);
  c.send('USER x 0 * :x');
  await c.waitFor((m) => m.command === '376' || m.command === '422');
  const after = c.cursor;
  await c.collectUntilPong();
  return { c, burst: c.lines.slice(after).map((l) => parseMessage(l)) };
}

const fromChanServ = (ms: Message[], service = 'ChanServ') => ms.filter((m) => m.command === 'NOTICE' && m.source?.startsWith(`${service}!`)).map((m) => m.params[1]!);
const commands = (ms: Message[]) => ms.map((m) => m.command);
const names = (ms: Message[]) => ms.filter((m) => m.command === '353').flatMap((m) => m.params[3]!.split(' ')).sort();
const listed = (ms: Message[], numeric: string) => ms.filter((m) => m.command === numeric).map((m) => m.params[2]);

describe('always-on users in registered channels across restarts', () => {
  it('gives restored founders and access entries their modes, keeps the channel, and lets no joiner take it', async () => {
    const { port, config } = await daemonFiles((dir) => ({ store: { path: join(dir, 'ircd.db') }, always_on: { policy: 'opt-out' } }));
    let daemon = daemons.spawn(config);

    const alice = await newAccount(port, 'alice');
    const bob = await newAccount(port, 'bob');
    const carol = await newAccount(port, 'carol');
    await alice.ask('JOIN #reg');
    expect(fromChanServ(await alice.ask('PRIVMSG ChanServ :REGISTER #reg'))).toEqual(['#reg is now registered to alice.']);
    await alice.ask('MODE #reg +sk door');
    await alice.ask('MODE #reg +beI *!*@spam.example *!*@friend.example *!*@guest.example');
    await alice.ask('TOPIC #reg :kept across restarts');
    expect(fromChanServ(await alice.ask('PRIVMSG ChanServ :AMODE #reg +v bob'))).toEqual(['bob now gets +v on joining #reg.']);
    await bob.ask('JOIN #reg door');
    await carol.ask('JOIN #reg door');
    // An unregistered channel of always-on users, for comparison.
    await alice.ask('JOIN #plain');
    await carol.ask('JOIN #plain');
    expect(names(await carol.ask('NAMES #reg'))).toEqual(['+bob', '@alice', 'carol']);
    // The three are still connected when the process dies.
    await daemon.kill('SIGKILL');
    for (const c of clients.splice(0)) c.close();

    for (const how of ['after kill -9', 'after a clean stop']) {
      daemon = daemons.spawn(config);
      const mallory = await connectWhenUp(port);
      await mallory.register('mallory');
      // Only the restored users are in #reg: its key is back (the first joiner needs it) ...
      expect(commands(await mallory.ask('JOIN #reg')), how).toContain('475');
      const joined = await mallory.ask('JOIN #reg door');
      expect(joined.find((m) => m.command === '332')?.params[2], how).toBe('kept across restarts');
      // ... its founder has +o and its +v entry +v, from ChanServ at the start; the joiner nothing.
      expect(names(joined), how).toEqual(['+bob', '@alice', 'carol', 'mallory']);
      expect((await mallory.ask('MODE #reg')).find((m) => m.command === '324')?.params.slice(2), how).toEqual(['+nstk', 'door']);
      expect(listed(await mallory.ask('MODE #reg b'), '367'), how).toEqual(['*!*@spam.example']);
      expect(listed(await mallory.ask('MODE #reg e'), '348'), how).toEqual(['*!*@friend.example']);
      expect(listed(await mallory.ask('MODE #reg I'), '346'), how).toEqual(['*!*@guest.example']);
      // Not taken over: no ops for the taking, the topic and the key stay.
      expect(commands(await mallory.ask('MODE #reg +o mallory')), how).toContain('482');
      expect(commands(await mallory.ask('TOPIC #reg :mine now')), how).toContain('482');
      expect(commands(await mallory.ask('MODE #reg -k door')), how).toContain('482');
      // An unregistered channel comes back with its members and no operator (docs/always-on.md).
      expect(names(await mallory.ask('NAMES #plain')), how).toEqual(['alice', 'carol']);

      // The founder's connection attaches and finds itself an operator.
      const { c: back, burst } = await attach(port, 'alice');
      expect(names(burst.filter((m) => m.params[2] === '#reg')), how).toEqual(['+bob', '@alice', 'carol', 'mallory']);
      expect(commands(await back.ask('TOPIC #reg :still ours')), how).not.toContain('482');
      await back.ask('TOPIC #reg :kept across restarts');
      await back.ask('PART #reg');
      expect(names(await mallory.ask('NAMES #reg')), how).toEqual(['+bob', 'carol', 'mallory']);
      await back.ask('JOIN #reg door');
      mallory.send('QUIT');
      await mallory.waitClosed();
      // Everyone leaves; the next round starts from what this daemon wrote.
      for (const c of clients.splice(0)) c.close();
      if (how === 'after kill -9') {
        await daemon.kill('SIGTERM');
      }
    }
  });
});
