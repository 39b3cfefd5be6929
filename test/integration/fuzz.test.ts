// Parser and handler fuzzing (issue #9): thousands of random and mutated lines go over real
// sockets through parse → route → handle against a live server with registered users, opers and
// channels. No handler may throw ("command failed"/"subscriber failed" at error level in the log), no
// line another client receives may carry a raw CR, LF or NUL or a tag key outside the message-tags
// grammar (what forged lines are made of), and the server must still answer a new client
// afterwards. bench/fuzz.js runs the long version.
import fc from 'fast-check';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzLine } from '../../bench/fuzz-lines.js';
import { bansOf } from '../../src/modules/bans.js';
import { client, startServer, TestClient, type TestServer } from '../support/harness.js';
import { operConfig, operUp } from '../support/oper.js';

let srv: TestServer;
const logFile = join(mkdtempSync(join(tmpdir(), 'ircd-fuzz-')), 'ircd.log');
const residents: TestClient[] = [];
const CHANNELS = ['#fuzz', '#Fuzz[1]', '#keyed', '#moderated'];

beforeAll(async () => {
  // The fuzzing oper may do anything but stop the server (DIE/RESTART).
  const opers = operConfig();
  srv = await startServer({
    ...opers,
    oper_class: [
      { name: 'admin', privileges: ['kill', 'ban', 'rehash', 'wallops', 'see_hidden', 'override', 'accounts'], snomask: 'bcko' },
      { name: 'helper', privileges: [], snomask: '' },
    ],
    // Fuzzed OPER lines fail often; each new fuzzer still has to op up.
    oper_limits: { failures_per_connection: 1000, failures_per_ip: 100000 },
    log: { level: 'error', destination: logFile },
  });
  // The residents see what the fuzzers make others see: every capability, every metadata key the
  // fuzz sets.
  const caps = srv.server.capOffers().map((c) => c.name as string);
  for (const nick of ['alice', 'bob', 'carol']) {
    const c = await client(srv.port, nick, { caps });
    for (const ch of CHANNELS) c.send(`JOIN ${ch}`);
    c.send('METADATA * SUB display-name url avatar');
    residents.push(c);
  }
  await operUp(residents[0]!);
  residents[0]!.send('MODE #keyed +k secret');
  residents[0]!.send('MODE #moderated +mi');
  await residents[0]!.collectUntilPong();
});

afterAll(async () => {
  for (const c of residents) c.close();
  await srv?.stop();
});

// ---- the fuzzing clients -------------------------------------------------------------------

let fuzzSeq = 0;

/** A registered client with every capability and an oper, in the channels, ready to send garbage. */
async function fuzzer(): Promise<TestClient> {
  const caps = srv.server.capOffers().map((c) => c.name as string);
  const c = await client(srv.port, `fz${++fuzzSeq}`, { caps });
  await operUp(c);
  for (const ch of CHANNELS) c.send(`JOIN ${ch}`);
  await c.collectUntilPong();
  return c;
}

/** Sends the lines and waits until the server has handled them (or dropped the client). */
async function feed(c: TestClient, lines: Buffer[]): Promise<void> {
  c.sendRaw(Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\r\n')])));
  if (c.closed) return;
  try {
    await c.collectUntilPong(`sync${fuzzSeq}x${Math.random().toString(36).slice(2)}`);
  } catch (err) {
    if (!c.closed) throw err; // QUIT, KILL, Excess Flood... end the connection: that is fine
  }
}

/** IRCv3 message-tags: [ "+" ] [ vendor "/" ] key_name. */
const TAG_KEY = /^\+?(?:[A-Za-z0-9.-]+\/)?[A-Za-z0-9-]+$/;
const checkedUpTo = new Map<TestClient, number>();

/** Lines the residents received since the last call that could forge a line or a tag. */
function forgeries(): string[] {
  const found: string[] = [];
  for (const c of residents) {
    const lines = c.lines.slice(checkedUpTo.get(c) ?? 0);
    checkedUpTo.set(c, c.lines.length);
    for (const line of lines) {
      const tagKeys = line.startsWith('@') ? line.slice(1, line.indexOf(' ')).split(';').map((t) => t.split('=')[0]!) : [];
      if (/[\r\n\0]/.test(line) || !tagKeys.every((k) => TAG_KEY.test(k))) found.push(line);
    }
  }
  return found;
}

function errorsLogged(): string[] {
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((l) => /"msg":"(command failed|subscriber failed)"|uncaught|unhandled/.test(l));
}

describe('fuzzing the running server', () => {
  it('survives thousands of random, hostile and mutated lines from registered and unregistered clients', async () => {
    const names = [...srv.server.router.commands.keys()];
    const line = fuzzLine(names);
    let registered = await fuzzer();
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 5, maxLength: 50 }), fc.boolean(), async (lines, unregistered) => {
        sent += lines.length;
        if (unregistered) {
          const fresh = await TestClient.connect(srv.port);
          await feed(fresh, lines);
          fresh.close();
        } else {
          if (registered.closed) registered = await fuzzer();
          await feed(registered, lines);
        }
        // Bans set by the fuzz would lock out the next fuzzer (all come from 127.0.0.1).
        const store = bansOf(srv.server);
        for (const kind of ['K', 'D', 'X'] as const) for (const ban of store.list(kind)) store.remove(kind, ban.mask);
        expect(errorsLogged()).toEqual([]);
        expect(forgeries()).toEqual([]);
      }),
      { numRuns: 500, endOnFailure: true },
    );
    // Fuzzed fields with other control characters did reach the residents: the check above saw them.
    const relayedControls = residents.flatMap((c) => c.lines).filter((l) => /^(@\S+ )?:fz\d+!/.test(l) && /[\x01\x03\x07\x1b\x7f]/.test(l));
    expect(relayedControls.length).toBeGreaterThan(0);
    registered.close();
    console.log(`fuzz: ${sent} lines in 500 runs; ${srv.server.router.usage.size} commands reached their handler; ${fuzzSeq} fuzzers connected`);
    expect(sent).toBeGreaterThan(4000);

    const after = await client(srv.port, 'afterwards');
    const mark = after.mark;
    after.send('PING :still-alive');
    expect((await after.waitFor('PONG', { from: mark })).params[1]).toBe('still-alive');
    after.close();
    await new Promise((r) => setTimeout(r, 200)); // let pino's file stream catch up
    expect(errorsLogged()).toEqual([]);

    // The check above can see a failure: a command that throws is logged where we look.
    srv.server.router.commands.set('FUZZCANARY', { module: 'test', handler: () => { throw new Error('canary'); } });
    const canary = await client(srv.port, 'canary');
    canary.send('FUZZCANARY');
    expect((await canary.waitFor('FAIL')).params.slice(0, 2)).toEqual(['FUZZCANARY', 'INTERNAL_ERROR']);
    canary.close();
    srv.server.router.commands.delete('FUZZCANARY');
    for (let i = 0; i < 50 && errorsLogged().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(errorsLogged()).toHaveLength(1);
  }, 60000);
});
