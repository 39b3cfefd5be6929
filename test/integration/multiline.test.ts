// draft/multiline end to end: a client-initiated BATCH is relayed as one multiline batch to
// clients with the capability and as separate lines to the others; every malformed batch gets
// FAIL BATCH and nothing of it is delivered.
import { describe, expect, it } from 'vitest';
import { parseMessage, type Message } from '../../src/protocol/message.js';
import { type RawConfig, type TestClient } from '../support/harness.js';
import { useSession } from '../support/session.js';

const ML = ['draft/multiline', 'batch', 'message-tags', 'server-time', 'echo-message', 'labeled-response'];

const session = useSession();

async function connect(nick: string, caps: string[] = []): Promise<TestClient> {
  return session.connect(nick, { caps });
}

/** Sends lines and returns everything the server answered to them. */
async function ask(c: TestClient, ...sent: string[]): Promise<Message[]> {
  await c.collectUntilPong();
  for (const l of sent) c.send(l);
  return c.collectUntilPong();
}

/** What the client received from `from` on, once the server has answered a PING. */
async function since(c: TestClient, from: number): Promise<Message[]> {
  await c.collectUntilPong();
  return c.lines.slice(from, c.cursor - 1).map((l) => parseMessage(l));
}

/** alice and bob with multiline, carol without, all in #room; returns them and carol's mark. */
async function room(patch: RawConfig = {}): Promise<TestClient[]> {
  await session.start(patch);
  const people = [await connect('alice', ML), await connect('bob', ML), await connect('carol', ['message-tags', 'server-time'])];
  for (const c of people) await ask(c, 'JOIN #room');
  for (const c of people) await c.collectUntilPong();
  return people;
}

const batch = (ref: string, target: string, ...body: string[]) => [
  `BATCH +${ref} draft/multiline ${target}`,
  ...body.map((b) => (b.startsWith('@') ? `@batch=${ref};${b.slice(1)}` : `@batch=${ref} ${b}`)),
  `BATCH -${ref}`,
];

const fails = (msgs: Message[]) => msgs.filter((m) => m.command === 'FAIL').map((m) => m.params);


describe('draft/multiline', () => {
  it('advertises max-bytes and max-lines from [limits]', async () => {
    await session.start({ limits: { multiline_max_bytes: 2000, multiline_max_lines: 7 } });
    const c = await connect('alice');
    const ls = await ask(c, 'CAP LS 302');
    const caps = ls.flatMap((m) => m.params.at(-1)!.split(' '));
    expect(caps).toContain('draft/multiline=max-bytes=2000,max-lines=7');
  });

  it('relays a batch to capable clients, separate non-blank lines to others, and echoes it labeled', async () => {
    const [alice, bob, carol] = await room();
    const [bobFrom, carolFrom] = [bob!.mark, carol!.mark];
    const sent = batch('b1', '#room', 'PRIVMSG #room hello', 'PRIVMSG #room :', 'PRIVMSG #room :how is ', '@draft/multiline-concat PRIVMSG #room :everyone?');
    const echo = await ask(alice!, `@label=L1;+draft/reply=abc ${sent[0]}`, ...sent.slice(1));

    expect(echo.map((m) => m.command)).toEqual(['BATCH', 'PRIVMSG', 'PRIVMSG', 'PRIVMSG', 'PRIVMSG', 'BATCH']);
    const start = echo[0]!;
    expect(start.tags).toMatchObject({ label: 'L1', '+draft/reply': 'abc', msgid: expect.any(String), time: expect.any(String) });
    expect(start.params).toEqual([expect.stringMatching(/^\+/), 'draft/multiline', '#room']);
    const ref = start.params[0]!.slice(1);
    expect(echo.at(-1)!.params).toEqual([`-${ref}`]);
    expect(echo.slice(1, -1).map((m) => [m.tags, m.params[1]])).toEqual([
      [{ batch: ref }, 'hello'],
      [{ batch: ref }, ''],
      [{ batch: ref }, 'how is '],
      [{ batch: ref, 'draft/multiline-concat': '' }, 'everyone?'],
    ]);

    const relayed = await since(bob!, bobFrom);
    expect(relayed.map((m) => m.command)).toEqual(echo.map((m) => m.command));
    expect(relayed[0]!.tags).toEqual({ msgid: start.tags!.msgid, time: start.tags!.time, '+draft/reply': 'abc' });
    expect(relayed[1]!.source).toMatch(/^alice!/);

    const fallback = await since(carol!, carolFrom);
    expect(fallback.map((m) => [m.command, ...m.params])).toEqual([
      ['PRIVMSG', '#room', 'hello'],
      ['PRIVMSG', '#room', 'how is '],
      ['PRIVMSG', '#room', 'everyone?'],
    ]);
    expect(fallback.map((m) => m.tags?.msgid)).toEqual([start.tags!.msgid, undefined, undefined]);
    for (const m of fallback) expect(m.tags).toMatchObject({ time: start.tags!.time, '+draft/reply': 'abc' });
  });

  it('sends a multiline NOTICE to a nick, and ACKs a labeled batch without echo-message', async () => {
    await session.start();
    const alice = await connect('alice', ['draft/multiline', 'batch', 'labeled-response']);
    const bob = await connect('bob', ML);
    const from = bob.mark;
    const sent = batch('n1', 'bob', 'NOTICE bob :one', 'NOTICE bob :two');
    const reply = await ask(alice, `@label=x ${sent[0]}`, ...sent.slice(1));
    expect(reply.map((m) => [m.command, m.tags?.label])).toEqual([['ACK', 'x']]);
    const got = await since(bob, from);
    expect(got.map((m) => [m.command, ...m.params])).toEqual([
      ['BATCH', expect.stringMatching(/^\+/), 'draft/multiline', 'bob'],
      ['NOTICE', 'bob', 'one'],
      ['NOTICE', 'bob', 'two'],
      ['BATCH', expect.stringMatching(/^-/)],
    ]);
  });

  it('refuses malformed batches with FAIL BATCH and delivers nothing of them', async () => {
    const [alice, , carol] = await room({ limits: { multiline_max_lines: 3, multiline_max_bytes: 600 } });
    const from = carol!.mark;
    const cases: Array<[string[], string[]]> = [
      [batch('t', '#room', 'PRIVMSG #other :hi'), ['BATCH', 'MULTILINE_INVALID_TARGET', '#room', '#other', 'Invalid multiline target']],
      [batch('c', '#room', 'PRIVMSG #room :hi', '@draft/multiline-concat PRIVMSG #room :'), ['BATCH', 'MULTILINE_INVALID', expect.any(String)]],
      [batch('e', '#room', 'PRIVMSG #room :', 'PRIVMSG #room :'), ['BATCH', 'MULTILINE_INVALID', expect.any(String)]],
      [batch('m', '#room', 'PRIVMSG #room :a', 'NOTICE #room :b'), ['BATCH', 'MULTILINE_INVALID', expect.any(String)]],
      [batch('k', '#room', 'JOIN #x'), ['BATCH', 'MULTILINE_INVALID', expect.any(String)]],
      [batch('l', '#room', 'PRIVMSG #room a', 'PRIVMSG #room b', 'PRIVMSG #room c', 'PRIVMSG #room d'), ['BATCH', 'MULTILINE_MAX_LINES', '3', expect.any(String)]],
      [batch('y', '#room', `PRIVMSG #room :${'x'.repeat(400)}`, `PRIVMSG #room :${'x'.repeat(199)}`, 'PRIVMSG #room :z'), ['BATCH', 'MULTILINE_MAX_BYTES', '600', expect.any(String)]],
      [['BATCH +ok chathistory #room', 'BATCH -ok'], ['BATCH', 'UNKNOWN_TYPE', 'ok', 'chathistory', expect.any(String)]],
      [['BATCH +bad_ref draft/multiline #room'], ['BATCH', 'INVALID_REFTAG', '+bad_ref', expect.any(String)]],
      [['BATCH -never'], ['BATCH', 'MULTILINE_INVALID', expect.any(String)]],
    ];
    for (const [lines, fail] of cases) expect(fails(await ask(alice!, ...lines)), lines.join(' | ')).toEqual([fail]);
    // Exactly max-bytes is fine: 400 + 1 + 199 = 600.
    expect(fails(await ask(alice!, ...batch('f', '#room', `PRIVMSG #room :${'x'.repeat(400)}`, `PRIVMSG #room :${'x'.repeat(199)}`)))).toEqual([]);
    expect((await since(carol!, from)).map((m) => m.params[1]!.length)).toEqual([400, 199]);
  });

  it('breaks an open batch on an unrelated line, which still runs; PING and PONG pass', async () => {
    const [alice, bob] = await room();
    const res = await ask(alice!, 'BATCH +p draft/multiline #room', '@batch=p PRIVMSG #room :one', 'PING keep', '@batch=p PRIVMSG #room :two', 'BATCH -p');
    // The PONG leaves after whatever its tick produced, so where it lands depends on how the
    // lines were read; the batch itself must be whole.
    expect(res.filter((m) => m.command === 'PONG').map((m) => m.params[1])).toEqual(['keep']);
    expect(res.filter((m) => m.command !== 'PONG').map((m) => m.command)).toEqual(['BATCH', 'PRIVMSG', 'PRIVMSG', 'BATCH']);
    await bob!.collectUntilPong();
    const from = bob!.mark;
    const broken = await ask(alice!, 'BATCH +q draft/multiline #room', '@batch=q PRIVMSG #room :lost', 'TOPIC #room :new topic', '@batch=q PRIVMSG #room :lost too', 'BATCH -q');
    expect(broken.map((m) => m.command)).toEqual(['FAIL', 'TOPIC']);
    expect((await since(bob!, from)).map((m) => m.command)).toEqual(['TOPIC']);
  });

  it('needs the capability and batch, and follows the channel rules (404)', async () => {
    const [alice, bob] = await room();
    const plain = await connect('plain');
    expect(fails(await ask(plain, 'BATCH +z draft/multiline #room'))).toEqual([['BATCH', 'MULTILINE_INVALID', expect.any(String)]]);
    await ask(alice!, 'MODE #room +m');
    const res = await ask(bob!, ...batch('q', '#room', 'PRIVMSG #room :quiet?'));
    expect(res.map((m) => m.command)).toEqual(['404']);
  });

  it('charges a flood token for every line of a batch', async () => {
    await session.start({
      class: [{ name: 'default', max_per_ip: 100, recvq: 65536, flood: { burst: 2, rate: 5 } }],
    });
    const alice = await connect('alice', ML);
    const bob = await connect('bob');
    // Registration spent the burst; let it refill.
    await new Promise((r) => setTimeout(r, 500));
    const from = bob.mark;
    alice.send('BATCH +f draft/multiline bob');
    for (let i = 0; i < 8; i++) alice.send(`@batch=f PRIVMSG bob :line ${i}`);
    alice.send('BATCH -f');
    // 10 lines with a burst of 2 at 5 a second: the end of the batch is handled after >= 1.6 s.
    await new Promise((r) => setTimeout(r, 600));
    expect(await since(bob, from)).toEqual([]);
    await bob.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'line 7', { from, timeout: 4000 });
  });
});

describe('draft/multiline in chat history', () => {
  it('replays a multiline message as a nested multiline batch, or as its lines to clients without it', async () => {
    await session.start();
    const alice = await connect('alice', [...ML, 'draft/chathistory']);
    const carol = await connect('carol', ['batch', 'message-tags', 'server-time', 'draft/chathistory']);
    for (const c of [alice, carol]) await ask(c, 'JOIN #room');
    await ask(alice, ...batch('b1', '#room', 'PRIVMSG #room one', 'PRIVMSG #room :', '@draft/multiline-concat PRIVMSG #room :, two'));
    await ask(alice, 'PRIVMSG #room :plain');

    const full = await ask(alice, 'CHATHISTORY LATEST #room * 10');
    const outer = full[0]!;
    expect(outer.params.slice(1)).toEqual(['chathistory', '#room']);
    const outerRef = outer.params[0]!.slice(1);
    const nested = full[1]!;
    expect(nested.command).toBe('BATCH');
    expect(nested.params.slice(1)).toEqual(['draft/multiline', '#room']);
    expect(nested.tags?.batch).toBe(outerRef);
    expect(nested.tags?.msgid).toBeTruthy();
    const innerRef = nested.params[0]!.slice(1);
    const inner = full.filter((m) => m.tags?.batch === innerRef);
    expect(inner.map((m) => [m.params[1], 'draft/multiline-concat' in (m.tags ?? {})])).toEqual([
      ['one', false],
      ['', false],
      [', two', true],
    ]);
    expect(full.find((m) => m.command === 'BATCH' && m.params[0] === `-${innerRef}`)?.tags?.batch).toBe(outerRef);
    expect(full.filter((m) => m.command === 'PRIVMSG' && m.tags?.batch === outerRef).map((m) => m.params[1])).toEqual(['plain']);

    const lines = (await ask(carol, 'CHATHISTORY LATEST #room * 10')).filter((m) => m.command === 'PRIVMSG');
    expect(lines.map((m) => m.params[1])).toEqual(['one', ', two', 'plain']);
    expect(lines[0]!.tags?.msgid).toBe(nested.tags?.msgid);
    expect(lines[1]!.tags?.msgid).toBeUndefined();
  });
});
