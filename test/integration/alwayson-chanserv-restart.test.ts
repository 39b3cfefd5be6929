// Always-on users in registered channels across daemon restarts (kill -9, then a clean stop): the
// always-on founder comes back with +o and an always-on user with a +v entry with +v (ChanServ
// gives them as it does on a join); a registered channel whose only members are restored users
// keeps its topic, modes (key included) and lists; the first human to join gets no ops; an
// unregistered channel comes back with its members as plain members. Runs dist/src/main.js as a
// real process with a store file (`npm run build` first).
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseMessage, type Message } from '../../src/protocol/message.js';
import { freePort, sleep, startServer, TestClient, testConfig, toToml, type TestServer } from '../support/harness.js';
import { saslLogin } from '../support/login.js';

const MAIN = join(__dirname, '../../dist/src/main.js');
const PASSWORD = 'sturdy-password';
let srv: TestServer | undefined;
const children: ChildProcess[] = [];
const clients: TestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await srv?.stop();
  srv = undefined;
});

function spawnDaemon(cfg: string): { child: ChildProcess; exited: Promise<unknown> } {
  const child = spawn(process.execPath, [MAIN, '--config', cfg], { stdio: 'ignore' });
  children.push(child);
  return { child, exited: new Promise((resolve) => child.on('exit', resolve)) };
}

/** A connection once the daemon listens (it is started just before). */
async function connectWhenUp(port: number): Promise<TestClient> {
  for (let i = 0; i < 100; i++) {
    try {
      const c = await TestClient.connect(port);
      clients.push(c);
      return c;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`nothing listening on ${port}`);
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
    srv = await startServer(); // for its temp folder
    const port = await freePort();
    const cfg = join(srv.dir, 'proc.toml');
    writeFileSync(cfg, toToml(testConfig({ listen: [{ address: '127.0.0.1', port }], store: { path: join(srv.dir, 'ircd.db') }, always_on: { policy: 'opt-out' } })));
    let daemon = spawnDaemon(cfg);

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
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    for (const c of clients.splice(0)) c.close();

    for (const how of ['after kill -9', 'after a clean stop']) {
      daemon = spawnDaemon(cfg);
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
        daemon.child.kill('SIGTERM');
        await daemon.exited;
      }
    }
  });
});
