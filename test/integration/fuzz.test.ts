// Parser and handler fuzzing (issue #9): thousands of random and mutated lines go over real
// sockets through parse → route → handle against a live server with registered users, opers and
// channels. No handler may throw ("command failed"/"hook failed" at error level in the log), and
// the server must still answer a new client afterwards. bench/fuzz.js runs the long version.
import fc from 'fast-check';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  for (const nick of ['alice', 'bob', 'carol']) {
    const c = await client(srv.port, nick, { caps: ['message-tags', 'echo-message', 'batch', 'labeled-response'] });
    for (const ch of CHANNELS) c.send(`JOIN ${ch}`);
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

// ---- what the fuzzer sends ------------------------------------------------------------------

/** Real lines for every module's commands: the seeds the mutations start from. */
const SEEDS = [
  'JOIN #fuzz,#new key1,key2', 'JOIN 0', 'PART #fuzz :bye', 'MODE #fuzz +ov-b+lk alice bob *!*@* 10 key', 'MODE #fuzz +beI',
  'MODE alice +iw-x', 'MODE #fuzz b', 'PRIVMSG #fuzz,bob :hello', 'PRIVMSG @#fuzz :ops only', 'NOTICE $* :broadcast',
  '@+draft/reply=x;+typing=active TAGMSG #fuzz', 'PRIVMSG bob :\x01ACTION waves\x01', 'WHO #fuzz %tcuihsnfdlaor,42', 'WHO *',
  'WHOIS alice alice', 'WHOWAS bob 5', 'CAP LS 302', 'CAP REQ :sasl multi-prefix -batch', 'CAP END', 'CAP LIST',
  'AUTHENTICATE PLAIN', 'AUTHENTICATE AGFsaWNlAHBhc3N3b3Jk', 'AUTHENTICATE *', 'AUTHENTICATE +', 'METADATA * SET display-name :Fuzz',
  'METADATA #fuzz LIST', 'METADATA * SUB avatar', 'METADATA * SYNC', 'MONITOR + alice,bob,nobody', 'MONITOR L', 'MONITOR S',
  'KICK #fuzz bob :out', 'TOPIC #fuzz :new topic', 'INVITE bob #moderated', 'INVITE', 'KNOCK #keyed :let me in', 'LIST >1,<100,C<5',
  'NAMES #fuzz,#keyed', 'AWAY :gone', 'AWAY', 'SETNAME :New Name', 'CHGHOST bob new.host', 'REGISTER * * password123',
  'VERIFY acct code', 'ACCOUNT LIST', 'KLINE 1h *@fuzz.invalid :fuzz', 'UNKLINE *@fuzz.invalid', 'DLINE 10m 192.0.2.0/24',
  'XLINE evil\\sbot :x', 'KILL bob :fuzz', 'WALLOPS :hi', 'OPER alice wrong', 'STATS k', 'STATS ?', 'LINKS', 'HELP MODE',
  'ISON alice bob', 'USERHOST alice bob', 'MOTD', 'LUSERS', 'VERSION', 'TIME', 'ADMIN', 'INFO', 'NICK fuzzy', 'USER u 0 * :r',
  'PING :x', 'PONG :x', 'BATCH +ml draft/multiline #fuzz', '@batch=ml PRIVMSG #fuzz :line', 'BATCH -ml',
  'CHATHISTORY LATEST #fuzz * 10', 'CHATHISTORY BEFORE #fuzz timestamp=2020-01-01T00:00:00.000Z 5', 'CHATHISTORY TARGETS * * 5',
  'MARKREAD #fuzz timestamp=2030-01-01T00:00:00.000Z', 'REDACT #fuzz msgid :oops', 'RENAME #fuzz #fuzz2 :why', 'REHASH MOTD',
  'USERIP alice', 'CERTFP', 'SAJOIN bob #x', 'QUIT :bye',
];

/** Parameters real clients use, and ones meant to trip parsers. */
const TOKEN = fc.oneof(
  fc.constantFrom('#fuzz', '#Fuzz[1]', '#keyed', '&local', '#', '', '*', '0', '-1', '99999999999999999999', 'alice', 'bob', 'ALICE',
    'nobody', '*!*@*', 'a!b@c', '+ovbkl', '-o+o', '+', '-', ':', '::', ',', ',,,', '#a,#b,,#c', '$*', '@#fuzz', '\x01', '\t',
    '\u{1F600}', 'é', '\uFFFD', 'timestamp=x', 'msgid=', '*', 'x'.repeat(600)),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer().map(String),
);

/** A command (any module's, or not one) with random parameters, and maybe tags. */
const commandLine = (names: string[]) =>
  fc
    .tuple(
      fc.option(fc.dictionary(fc.constantFrom('label', 'batch', '+draft/reply', '+typing', 'msgid', 'time', '+x', 'a'), fc.string({ maxLength: 30 }), { maxKeys: 4 })),
      fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 12 })),
      fc.array(TOKEN, { maxLength: 8 }),
      fc.option(fc.string({ maxLength: 200 })),
    )
    .map(([tags, cmd, params, trailing]) => {
      const tagText = tags ? '@' + Object.entries(tags).map(([k, v]) => `${k}=${v.replace(/[ \r\n;]/g, '\\s')}`).join(';') + ' ' : '';
      return Buffer.from(`${tagText}${[cmd, ...params.filter((p) => p && !p.startsWith(':') && !/[ \r\n]/.test(p))].join(' ')}${trailing === null ? '' : ` :${trailing}`}`);
    });

/** A seed line with characters replaced, inserted, deleted or the line cut short. */
const mutatedSeed = fc
  .tuple(fc.constantFrom(...SEEDS), fc.array(fc.tuple(fc.nat(), fc.nat(255), fc.constantFrom('replace', 'insert', 'delete', 'cut')), { maxLength: 6 }))
  .map(([seed, edits]) => {
    const bytes = [...Buffer.from(seed)];
    for (const [at, byte, op] of edits) {
      const i = bytes.length ? at % bytes.length : 0;
      if (op === 'replace') bytes[i] = byte;
      else if (op === 'insert') bytes.splice(i, 0, byte);
      else if (op === 'delete') bytes.splice(i, 1);
      else bytes.length = i;
    }
    return Buffer.from(bytes);
  });

const hostileLine = fc.oneof(
  fc.uint8Array({ maxLength: 700 }).map((b) => Buffer.from(b)),
  fc.string({ unit: 'binary', maxLength: 300 }).map((s) => Buffer.from(s)),
  fc.constantFrom('', ' ', ':', '@', '@ ', ':src', ':src CMD', '\0', 'PRIVMSG #fuzz :\0x', '@a=b', '@;;; PING x').map((s) => Buffer.from(s)),
  fc.nat(9000).map((n) => Buffer.from(`@+k=${'v'.repeat(n)} PRIVMSG #fuzz :huge tags`)),
  fc.array(fc.constantFrom('x', '#fuzz', 'alice', '+o', ''), { minLength: 15, maxLength: 100 }).map((ps) => Buffer.from(`MODE #fuzz ${ps.join(' ')}`)),
  fc.constantFrom('JOIN', 'PRIVMSG', 'WHO', 'KICK', 'MODE', 'METADATA').map((c) => Buffer.from(`${c} ${Array.from({ length: 100 }, (_, i) => `p${i}`).join(' ')}`)),
  fc.tuple(fc.constantFrom(...SEEDS), fc.uint8Array({ minLength: 1, maxLength: 4 })).map(([s, bad]) => Buffer.concat([Buffer.from(s), Buffer.from(bad).map((b) => b | 0x80)])),
);

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

function errorsLogged(): string[] {
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((l) => /"msg":"(command failed|hook failed)"|uncaught|unhandled/.test(l));
}

describe('fuzzing the running server', () => {
  it('survives thousands of random, hostile and mutated lines from registered and unregistered clients', async () => {
    const names = [...srv.server.router.commands.keys()];
    const line = fc.oneof({ weight: 3, arbitrary: mutatedSeed }, { weight: 3, arbitrary: commandLine(names) }, { weight: 2, arbitrary: hostileLine });
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
      }),
      { numRuns: 500, endOnFailure: true },
    );
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
