// IRCv3 draft/chathistory and draft/event-playback: what is recorded, CHATHISTORY subcommands and
// errors, direct-message conversations keyed by account or connection, TARGETS, and the bounds.
import { describe, expect, it } from 'vitest';
import { historyStore } from '../../src/modules/history.js';
import type { Message } from '../../src/protocol/message.js';
import type { TestClient } from '../support/harness.js';
import { loggedInClient } from '../support/login.js';
import { useSession } from '../support/session.js';

const s = useSession();
const CAPS = ['draft/chathistory', 'batch', 'message-tags', 'server-time', 'echo-message'];

/** Sends a command and returns the chathistory batch it answers with: its parameters and inner lines. */
async function history(c: TestClient, line: string): Promise<{ batch: string[]; lines: Message[] }> {
  await c.collectUntilPong(); // earlier lines out of the way
  c.send(line);
  const reply = await c.collectUntilPong();
  const start = reply.find((m) => m.command === 'BATCH' && m.params[0]!.startsWith('+'));
  if (!start) throw new Error(`no batch in reply to ${line}: ${JSON.stringify(reply)}`);
  const ref = start.params[0]!.slice(1);
  expect(reply[reply.length - 1]).toMatchObject({ command: 'BATCH', params: [`-${ref}`] });
  return { batch: start.params.slice(1), lines: reply.filter((m) => m.tags?.batch === ref) };
}

/** Sends numbered PRIVMSGs and returns their echoes. */
async function say(c: TestClient, target: string, count: number, prefix = 'message'): Promise<Message[]> {
  const echoes: Message[] = [];
  for (let i = 0; i < count; i++) {
    c.send(`PRIVMSG ${target} :${prefix} ${i}`);
    echoes.push(await c.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === `${prefix} ${i}`));
    // Distinct server-time stamps (ms resolution) make timestamp references unambiguous.
    await new Promise((r) => setTimeout(r, 3));
  }
  return echoes;
}

const texts = (lines: Message[]) => lines.map((m) => m.params[1]);
const ids = (lines: Message[]) => lines.map((m) => m.tags?.msgid);

for (const backend of ['memory', 'sqlite'] as const) {
  /** A server with this backend; a patch's [history] keys are added to the backend's. */
  const start = (patch: { history?: Record<string, unknown> } = {}) => s.start({ ...patch, history: { backend, ...patch.history } });

  describe(`history in ${backend}`, () => {
    describe('CHATHISTORY in a channel', () => {
      it('replays PRIVMSGs with their original msgid, time and source in a chathistory batch', async () => {
        await start();
        const a = await s.connect('alice', { caps: CAPS });
        expect(a.lines.find((l) => l.includes(' 005 ') && l.includes('CHATHISTORY=100'))).toContain('MSGREFTYPES=timestamp,msgid');
        a.send('JOIN #h');
        await a.waitFor('366');
        const echoes = await say(a, '#h', 3);
        const { batch, lines } = await history(a, 'CHATHISTORY LATEST #H * 10');
        expect(batch).toEqual(['chathistory', '#h']);
        expect(lines.map((m) => ({ source: m.source, params: m.params, msgid: m.tags?.msgid, time: m.tags?.time }))).toEqual(
          echoes.map((m) => ({ source: m.source, params: m.params, msgid: m.tags?.msgid, time: m.tags?.time })),
        );
      });

      it('selects with LATEST, BEFORE, AFTER, BETWEEN (both ways) and AROUND by msgid and by timestamp', async () => {
        await start();
        const a = await s.connect('alice', { caps: CAPS });
        a.send('JOIN #h');
        await a.waitFor('366');
        const e = await say(a, '#h', 10);
        const id = (i: number) => `msgid=${e[i]!.tags!.msgid}`;
        const ts = (i: number) => `timestamp=${e[i]!.tags!.time}`;
        const all = texts(e);
        const run = async (line: string) => texts((await history(a, line)).lines);
        expect(await run('CHATHISTORY LATEST #h * 3')).toEqual(all.slice(7));
        expect(await run(`CHATHISTORY LATEST #h ${id(4)} 20`)).toEqual(all.slice(5));
        expect(await run(`CHATHISTORY LATEST #h ${ts(4)} 20`)).toEqual(all.slice(5));
        expect(await run(`CHATHISTORY BEFORE #h ${id(6)} 2`)).toEqual(all.slice(4, 6));
        expect(await run(`CHATHISTORY BEFORE #h ${ts(6)} 20`)).toEqual(all.slice(0, 6));
        expect(await run(`CHATHISTORY AFTER #h ${id(3)} 3`)).toEqual(all.slice(4, 7));
        expect(await run(`CHATHISTORY AFTER #h ${ts(3)} 20`)).toEqual(all.slice(4));
        expect(await run(`CHATHISTORY BETWEEN #h ${id(0)} ${id(9)} 3`)).toEqual(all.slice(1, 4));
        expect(await run(`CHATHISTORY BETWEEN #h ${id(9)} ${id(0)} 3`)).toEqual(all.slice(6, 9));
        expect(await run(`CHATHISTORY BETWEEN #h ${ts(0)} ${ts(9)} 20`)).toEqual(all.slice(1, 9));
        expect(await run(`CHATHISTORY AROUND #h ${id(7)} 1`)).toEqual([all[7]]);
        expect(await run(`CHATHISTORY AROUND #h ${id(7)} 3`)).toEqual(all.slice(6, 9));
        expect(await run(`CHATHISTORY AROUND #h ${ts(7)} 3`)).toEqual(all.slice(6, 9));
        // A msgid no longer (or never) stored selects nothing rather than everything.
        expect(await run('CHATHISTORY BEFORE #h msgid=nosuchid 20')).toEqual([]);
      });

      it('cuts limits to query_limit and keeps only messages_per_target messages per target', async () => {
        await start({ history: { messages_per_target: 5, query_limit: 3 } });
        const a = await s.connect('alice', { caps: CAPS });
        expect(a.lines.find((l) => l.includes(' 005 ') && l.includes('CHATHISTORY='))).toContain('CHATHISTORY=3');
        a.send('JOIN #h');
        await a.waitFor('366');
        const e = await say(a, '#h', 8);
        expect(texts((await history(a, 'CHATHISTORY LATEST #h * 100')).lines)).toEqual(texts(e).slice(5));
        expect(texts((await history(a, 'CHATHISTORY AFTER #h timestamp=2000-01-01T00:00:00.000Z 100')).lines)).toEqual(texts(e).slice(3, 6));
      });

      it('keeps exactly the newest messages_per_target while far more messages pass through', async () => {
        await start({ history: { messages_per_target: 10 } });
        const a = await s.connect('alice', { caps: CAPS });
        a.send('JOIN #h');
        await a.waitFor('366');
        const sent = await say(a, '#h', 300);
        expect(texts((await history(a, 'CHATHISTORY LATEST #h * 100')).lines)).toEqual(texts(sent).slice(-10));
        expect(ids((await history(a, 'CHATHISTORY LATEST #h * 3')).lines)).toEqual(ids(sent).slice(-3));
      });

      it('keeps client-only tags up to client_tag_bytes, whole and in order; recipients online get them all', async () => {
        await start({ history: { client_tag_bytes: 100 } });
        const a = await s.connect('alice', { caps: CAPS });
        const b = await s.connect('bob', { caps: CAPS });
        for (const c of [a, b]) {
          c.send('JOIN #h');
          await c.waitFor('366');
        }
        const sixty = (c: string) => c.repeat(60);
        a.send(`@+a=${sixty('a')};+b=${sixty('b')};+c=z PRIVMSG #h :three tags`);
        a.send(`@+big=${'\\s'.repeat(2000)};+small PRIVMSG #h :escapes`);
        const live = [await b.waitFor('PRIVMSG'), await b.waitFor('PRIVMSG')];
        expect(live[0]!.tags).toMatchObject({ '+a': sixty('a'), '+b': sixty('b'), '+c': 'z' });
        expect(live[1]!.tags).toMatchObject({ '+big': ' '.repeat(2000), '+small': '' });
        const replayed = (await history(b, 'CHATHISTORY LATEST #h * 10')).lines;
        expect(replayed.map(({ tags: { batch: _, ...tags } = {} }) => tags)).toEqual([
          { time: live[0]!.tags!.time, msgid: live[0]!.tags!.msgid, '+a': sixty('a'), '+c': 'z' },
          { time: live[1]!.tags!.time, msgid: live[1]!.tags!.msgid, '+small': '' },
        ]);
      });

      it('does not keep STATUSMSG messages, which only some members received', async () => {
        await start();
        const a = await s.connect('alice', { caps: CAPS });
        a.send('JOIN #h');
        await a.waitFor('366');
        a.send('PRIVMSG @#h :ops only');
        await a.waitFor('PRIVMSG');
        expect((await history(a, 'CHATHISTORY LATEST #h * 10')).lines).toEqual([]);
      });

      it('sends bare lines to clients without batch, and nests the batch in a labeled response', async () => {
        await start();
        const plain = await s.connect('bob', { caps: ['draft/chathistory'] });
        plain.send('JOIN #h');
        await plain.waitFor('366');
        plain.send('PRIVMSG #h :hello');
        await plain.collectUntilPong();
        plain.send('CHATHISTORY LATEST #h * 10');
        expect((await plain.collectUntilPong()).map((m) => [m.command, ...m.params])).toEqual([['PRIVMSG', '#h', 'hello']]);

        const labeled = await s.connect('carol', { caps: [...CAPS, 'labeled-response'] });
        labeled.send('JOIN #h');
        await labeled.waitFor('366');
        await labeled.collectUntilPong();
        labeled.send('@label=x1 CHATHISTORY LATEST #h * 10');
        const reply = await labeled.collectUntilPong();
        const [outer, inner, msg, innerEnd, outerEnd] = reply;
        expect(outer).toMatchObject({ command: 'BATCH', tags: { label: 'x1' }, params: [expect.any(String), 'labeled-response'] });
        const outerRef = outer!.params[0]!.slice(1);
        expect(inner).toMatchObject({ command: 'BATCH', tags: { batch: outerRef }, params: [expect.any(String), 'chathistory', '#h'] });
        const innerRef = inner!.params[0]!.slice(1);
        expect(msg).toMatchObject({ command: 'PRIVMSG', tags: { batch: innerRef }, params: ['#h', 'hello'] });
        expect(innerEnd).toMatchObject({ command: 'BATCH', params: [`-${innerRef}`], tags: { batch: outerRef } });
        expect(outerEnd).toMatchObject({ command: 'BATCH', params: [`-${outerRef}`] });
      });
    });

    describe('CHATHISTORY errors', () => {
      it('answers FAIL with the code the spec names', async () => {
        await start();
        const a = await s.connect('alice', { caps: CAPS });
        const b = await s.connect('bob');
        b.send('JOIN #secret');
        await b.waitFor('366');
        const fail = async (line: string) => {
          a.send(line);
          return (await a.waitFor('FAIL')).params;
        };
        expect(await fail('CHATHISTORY LATEST #secret * 10')).toEqual(['CHATHISTORY', 'INVALID_TARGET', 'LATEST', '#secret', expect.any(String)]);
        expect(await fail('CHATHISTORY LATEST #nowhere * 10')).toEqual(['CHATHISTORY', 'INVALID_TARGET', 'LATEST', '#nowhere', expect.any(String)]);
        expect(await fail('CHATHISTORY')).toEqual(['CHATHISTORY', 'INVALID_PARAMS', '*', 'Unknown command']);
        expect(await fail('CHATHISTORY SIDEWAYS bob * 10')).toEqual(['CHATHISTORY', 'INVALID_PARAMS', 'SIDEWAYS', 'Unknown command']);
        expect(await fail('CHATHISTORY LATEST bob *')).toEqual(['CHATHISTORY', 'INVALID_PARAMS', 'LATEST', 'Insufficient parameters']);
        expect(await fail('CHATHISTORY LATEST bob * 10 extra')).toEqual(['CHATHISTORY', 'INVALID_PARAMS', 'LATEST', 'Too many parameters']);
        expect(await fail('CHATHISTORY LATEST bob * 0')).toEqual(['CHATHISTORY', 'INVALID_PARAMS', 'LATEST', '0', 'Invalid limit']);
        expect(await fail('CHATHISTORY BEFORE bob timestamp=yesterday 10')).toEqual([
          'CHATHISTORY',
          'INVALID_PARAMS',
          'BEFORE',
          'timestamp=yesterday',
          'Invalid message reference',
        ]);
        expect(await fail('CHATHISTORY BEFORE bob * 10')).toEqual(['CHATHISTORY', 'INVALID_PARAMS', 'BEFORE', '*', 'Invalid message reference']);
        expect(await fail('CHATHISTORY BEFORE bob seq=4 10')).toEqual(['CHATHISTORY', 'INVALID_MSGREFTYPE', 'BEFORE', 'bob', 'seq=4', expect.any(String)]);
        expect(await fail('CHATHISTORY TARGETS msgid=x timestamp=2020-01-01T00:00:00.000Z 10')).toEqual([
          'CHATHISTORY',
          'INVALID_PARAMS',
          'TARGETS',
          'msgid=x',
          'Invalid timestamp',
        ]);
      });
    });

    describe('CHATHISTORY of direct messages', () => {
      it('shows both sides the same conversation, by either nick and in any case', async () => {
        const srv = await start();
        const a = await loggedInClient(srv.server, srv.port, 'alice', 'alice', CAPS);
        const b = await loggedInClient(srv.server, srv.port, 'bob', 'bob', CAPS);
        const e1 = await say(a, 'bob', 1, 'from alice');
        const e2 = await say(b, 'alice', 1, 'from bob');
        const expected = [...ids(e1), ...ids(e2)];
        expect(ids((await history(a, 'CHATHISTORY LATEST BOB * 10')).lines)).toEqual(expected);
        const fromBob = await history(b, 'CHATHISTORY LATEST alice * 10');
        expect(fromBob.batch).toEqual(['chathistory', 'alice']);
        expect(ids(fromBob.lines)).toEqual(expected);
        // A third party sees nothing of it.
        const c = await s.connect('carol', { caps: CAPS });
        expect((await history(c, 'CHATHISTORY LATEST alice * 10')).lines).toEqual([]);
      });

      it('keeps an account conversation after the peer leaves, and keeps the next holder of a nick out of it', async () => {
        const srv = await start();
        const a = await loggedInClient(srv.server, srv.port, 'alice', 'alice', CAPS);
        const guest = await s.connect('guest', { caps: CAPS });
        await say(guest, 'alice', 2, 'hi');
        guest.close();
        await a.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'hi 1');
        // The logged-in side still finds it under the nick the guest used.
        expect(texts((await history(a, 'CHATHISTORY LATEST guest * 10')).lines)).toEqual(['hi 0', 'hi 1']);
        // Someone else taking the nick is not the same person: no history either way.
        const impostor = await s.connect('guest', { caps: CAPS });
        expect((await history(impostor, 'CHATHISTORY LATEST alice * 10')).lines).toEqual([]);
        expect((await history(a, 'CHATHISTORY LATEST guest * 10')).lines).toEqual([]);
      });

      it('lists conversations by their latest message with TARGETS, within exclusive bounds', async () => {
        const srv = await start();
        const a = await loggedInClient(srv.server, srv.port, 'alice', 'alice', CAPS);
        await loggedInClient(srv.server, srv.port, 'bob', 'bob', CAPS);
        await s.connect('dave');
        a.send('JOIN #t');
        await a.waitFor('366');
        const [ch] = await say(a, '#t', 1);
        const [dm] = await say(a, 'bob', 1);
        const [other] = await say(a, 'dave', 1);
        const targets = async (line: string) => {
          a.send(line);
          const reply = await a.collectUntilPong();
          expect(reply[0]).toMatchObject({ command: 'BATCH', params: [expect.any(String), 'draft/chathistory-targets'] });
          return reply.filter((m) => m.command === 'CHATHISTORY').map((m) => m.params.slice(1));
        };
        const early = 'timestamp=2020-01-01T00:00:00.000Z';
        const late = 'timestamp=2262-01-01T00:00:00.000Z';
        expect(await targets(`CHATHISTORY TARGETS ${early} ${late} 10`)).toEqual([
          ['#t', ch!.tags!.time],
          ['bob', dm!.tags!.time],
          ['dave', other!.tags!.time],
        ]);
        expect((await targets(`CHATHISTORY TARGETS ${early} ${late} 2`)).map((t) => t[0])).toEqual(['#t', 'bob']);
        expect((await targets(`CHATHISTORY TARGETS timestamp=${ch!.tags!.time} timestamp=${other!.tags!.time} 10`)).map((t) => t[0])).toEqual(['bob']);
      });
    });

    describe('draft/event-playback', () => {
      it('replays TAGMSG and TOPIC only to clients that negotiated it', async () => {
        await start();
        const a = await s.connect('alice', { caps: [...CAPS, 'draft/event-playback'] });
        const b = await s.connect('bob', { caps: CAPS });
        a.send('JOIN #e');
        await a.waitFor('366');
        b.send('JOIN #e');
        await b.waitFor('366');
        a.send('TOPIC #e :new topic');
        const topic = await a.waitFor('TOPIC');
        expect(topic.tags?.msgid).toBeTruthy();
        a.send('@+draft/react=x TAGMSG #e');
        const tagmsg = await a.waitFor('TAGMSG');
        a.send('PRIVMSG #e :text');
        await a.waitFor('PRIVMSG');
        const full = (await history(a, 'CHATHISTORY LATEST #e * 10')).lines;
        expect(full.map((m) => m.command)).toEqual(['TOPIC', 'TAGMSG', 'PRIVMSG']);
        expect(full[1]!.tags).toMatchObject({ msgid: tagmsg.tags!.msgid, '+draft/react': 'x' });
        expect((await history(b, 'CHATHISTORY LATEST #e * 10')).lines.map((m) => m.command)).toEqual(['PRIVMSG']);
      });
    });

  });
}

describe('memory backend bounds and channel lifetime', () => {
  it('forgets the least recently used targets beyond max_targets', async () => {
    await s.start({ history: { max_targets: 2 } });
    const a = await s.connect('alice', { caps: CAPS });
    a.send('JOIN #one,#two,#three');
    await a.waitFor((m) => m.command === '366' && m.params[1] === '#three');
    await say(a, '#one', 1);
    await say(a, '#two', 1);
    await say(a, '#three', 1);
    expect((await history(a, 'CHATHISTORY LATEST #one * 10')).lines).toEqual([]);
    expect(texts((await history(a, 'CHATHISTORY LATEST #three * 10')).lines)).toEqual(['message 0']);
  });

  it('keeps at most max_messages over all targets: least recently used targets go first, then the oldest lines', async () => {
    await s.start({ history: { max_messages: 5 } });
    const a = await s.connect('alice', { caps: CAPS });
    a.send('JOIN #one,#two');
    await a.waitFor((m) => m.command === '366' && m.params[1] === '#two');
    await say(a, '#one', 3);
    const two = await say(a, '#two', 3);
    expect((await history(a, 'CHATHISTORY LATEST #one * 10')).lines).toEqual([]);
    expect(texts((await history(a, 'CHATHISTORY LATEST #two * 10')).lines)).toEqual(texts(two));
    const more = await say(a, '#two', 4);
    expect(texts((await history(a, 'CHATHISTORY LATEST #two * 10')).lines)).toEqual(texts([...two, ...more]).slice(-5));
  });

  it('keeps at most max_bytes of memory: the least recently used targets go first, then the oldest lines', async () => {
    const maxBytes = 1 << 20;
    await s.start({ history: { max_bytes: maxBytes, messages_per_target: 100000, query_limit: 1000, client_tag_bytes: 1000 } });
    const a = await s.connect('alice', { caps: CAPS });
    a.send('JOIN #old,#big');
    await a.waitFor((m) => m.command === '366' && m.params[1] === '#big');
    await say(a, '#old', 2);
    // Lines of 512 bytes with 1,000 bytes of client-only tags: 1.5 KB of text each, 3 MB in all.
    const sent = 2000;
    const tags = `@+x=${'t'.repeat(997)}`;
    // In steps that fit the test class's recvq (64 KiB).
    for (let i = 0; i < sent; i += 25) {
      const lines = Array.from({ length: 25 }, (_, j) => `${tags} PRIVMSG #big :${i + j} ${'m'.repeat(480)}\r\n`);
      a.sendRaw(lines.join(''));
      await a.collectUntilPong();
    }
    expect((await history(a, 'CHATHISTORY LATEST #old * 10')).lines).toEqual([]);
    const kept = (await history(a, 'CHATHISTORY LATEST #big * 1000')).lines;
    const numbers = kept.map((m) => Number(m.params[1]!.split(' ')[0]));
    expect(numbers).toEqual(Array.from({ length: kept.length }, (_, i) => sent - kept.length + i));
    // What is kept holds at least its text, and the count is not far below what the text allows.
    const textBytes = Buffer.byteLength(`:${kept[0]!.source} PRIVMSG #big :${kept[0]!.params[1]}`) + tags.length;
    expect(kept.length * textBytes).toBeLessThanOrEqual(maxBytes);
    expect(kept.length * textBytes).toBeGreaterThan(maxBytes / 2);
    expect(kept[0]!.tags!['+x']).toBe('t'.repeat(997));
  });

  it('starts empty for a new channel of the same name once the old one is gone', async () => {
    await s.start();
    const a = await s.connect('alice', { caps: CAPS });
    a.send('JOIN #h');
    await a.waitFor('366');
    await say(a, '#h', 2);
    a.send('PART #h');
    await a.waitFor('PART');
    a.send('JOIN #h');
    await a.waitFor('366');
    expect((await history(a, 'CHATHISTORY LATEST #h * 10')).lines).toEqual([]);
  });

  it("forgets a channel's history when its last member leaves, and only then", async () => {
    const srv = await s.start();
    const a = await s.connect('alice', { caps: CAPS });
    const b = await s.connect('bob', { caps: CAPS });
    for (const c of [a, b]) {
      c.send('JOIN #h');
      await c.waitFor('366');
    }
    await say(a, '#h', 2);
    const store = historyStore(srv.server)!;
    a.send('PART #h');
    await a.waitFor('PART');
    expect(store.stats().messages).toBe(2);
    expect(texts((await history(b, 'CHATHISTORY LATEST #h * 10')).lines)).toEqual(['message 0', 'message 1']);
    b.send('QUIT');
    await b.waitClosed();
    expect(srv.server.state.findChannel('#h')).toBeUndefined();
    expect(store.stats().messages).toBe(0);
  });
});

describe('[history] enabled = false', () => {
  it('offers none of the history capabilities nor ISUPPORT tokens', async () => {
    await s.start({ history: { enabled: false } });
    const a = await s.connect('alice');
    a.send('CAP LS 302');
    const ls = (await a.collectUntilPong()).filter((m) => m.command === 'CAP').flatMap((m) => m.params[m.params.length - 1]!.split(' '));
    expect(ls).not.toContain('draft/chathistory');
    expect(ls).not.toContain('draft/message-redaction');
    expect(ls).toContain('draft/read-marker');
    expect(a.lines.join('\n')).not.toContain('CHATHISTORY=');
  });
});
