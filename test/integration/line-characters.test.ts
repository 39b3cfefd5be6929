// Characters that could forge lines: Modern IRC forbids CR, LF and NUL inside a message, so a bare
// CR in any field is refused before parsing (a client splitting on CR would otherwise show what
// follows as a line of its own); tag keys outside the IRCv3 message-tags grammar are dropped, and
// tag values holding CR or LF leave escaped.
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/protocol/message.js';
import type { TestClient } from '../support/harness.js';
import { useSession } from '../support/session.js';

const s = useSession();
const FORGED = ':irc.example.net NOTICE bob :You have been K-lined';
const WATCHER_CAPS = ['message-tags', 'away-notify', 'setname', 'draft/metadata-3', 'batch'];

/** Sends a line and waits until the server has handled it. */
async function say(c: TestClient, line: string): Promise<void> {
  c.sendRaw(`${line}\r\n`);
  await c.collectUntilPong();
}

/** Lines received since the last wait, up to a PING round trip, as sent. */
async function received(c: TestClient): Promise<string[]> {
  const from = c.cursor;
  const token = `p${from}x${c.mark}`;
  c.send(`PING ${token}`);
  await c.waitFor((m) => m.command === 'PONG' && m.params[1] === token, { from });
  return c.lines.slice(from, c.cursor - 1);
}

describe('a bare CR inside a line', () => {
  // Each field a client's text reaches others through: the line with a CR in it, the same line
  // without, and the command the watcher then sees (proof that it would have seen the first).
  const cases: Array<[string, string, string]> = [
    [`PRIVMSG #p :hello\r${FORGED}`, 'PRIVMSG #p :hello', 'PRIVMSG'],
    [`NOTICE #p :hello\r${FORGED}`, 'NOTICE #p :hello', 'NOTICE'],
    [`TOPIC #p :topic\r${FORGED}`, 'TOPIC #p :topic', 'TOPIC'],
    [`AWAY :gone\r${FORGED}`, 'AWAY :gone', 'AWAY'],
    [`SETNAME :Alice\r${FORGED}`, 'SETNAME :Alice', 'SETNAME'],
    [`METADATA * SET display-name :Al\r${FORGED}`, 'METADATA * SET display-name :Al', '761'],
    [`@+draft/reply=x\r${FORGED.replace(/ /g, '')} TAGMSG #p`, '@+draft/reply=x TAGMSG #p', 'TAGMSG'],
    [`@+draft/re\rply=x TAGMSG #p`, '@+draft/reply=y TAGMSG #p', 'TAGMSG'],
    [`PART #p :bye\r${FORGED}`, 'PART #p :bye', 'PART'],
    [`QUIT :bye\r${FORGED}`, 'QUIT :bye', 'QUIT'],
  ];

  it('is refused with FAIL * INVALID_CHARACTERS in every field, and nothing of it reaches anyone', async () => {
    await s.start();
    const alice = await s.connect('alice', { caps: ['message-tags', 'setname', 'draft/metadata-3'] });
    const bob = await s.connect('bob', { caps: WATCHER_CAPS });
    await received(bob);
    bob.send('METADATA * SUB display-name');
    for (const c of [alice, bob]) {
      c.send('JOIN #p');
      await c.waitFor('366');
    }
    await received(bob);
    for (const [withCr, clean, command] of cases) {
      alice.sendRaw(`${withCr}\r\n`);
      const fail = await alice.waitFor('FAIL');
      expect(fail.params.slice(0, 2), withCr).toEqual(['*', 'INVALID_CHARACTERS']);
      expect(await received(bob), withCr).toEqual([]);
      if (command === 'QUIT') {
        alice.send(clean);
        await alice.waitClosed();
      } else await say(alice, clean);
      const seen = (await received(bob)).map((l) => parseMessage(l));
      expect(seen.map((m) => m.command), clean).toEqual([command]);
      if (command === 'PART') {
        alice.send('JOIN #p');
        await alice.waitFor('366');
        await received(bob); // the JOIN and what follows it (AWAY, metadata)
      }
    }
    expect(bob.lines.filter((l) => /[\r\n\0]/.test(l))).toEqual([]);
  });

  it('is refused in the realname of USER, which then waits for a clean one', async () => {
    await s.start();
    const c = await s.raw();
    c.sendRaw(`NICK carol\r\nUSER carol 0 * :Carol\r${FORGED}\r\n`);
    expect((await c.waitFor('FAIL')).params.slice(0, 2)).toEqual(['*', 'INVALID_CHARACTERS']);
    c.send('USER carol 0 * :Carol');
    await c.waitFor('001');
    const who = await s.connect('dave');
    who.send('WHOIS carol');
    expect((await who.waitFor('311')).params.at(-1)).toBe('Carol');
  });
});

describe('client tags', () => {
  it('are relayed only under keys of the message-tags grammar, at most 64 of them', async () => {
    await s.start();
    const alice = await s.connect('alice', { caps: ['message-tags'] });
    const bob = await s.connect('bob', { caps: ['message-tags'] });
    for (const c of [alice, bob]) {
      c.send('JOIN #p');
      await c.waitFor('366');
    }
    await received(bob);
    await say(alice, '@+ok=1;+bad\x01key=2;+sp\x1bc;+a/b/c=3;+=4;+example.com/x-1=5;+draft/reply=6 PRIVMSG #p :hi');
    const [line] = await received(bob);
    expect(line).not.toMatch(/[\x00-\x1f\x7f]/);
    const tags = parseMessage(line!).tags!;
    expect(Object.keys(tags).filter((k) => k.startsWith('+'))).toEqual(['+ok', '+example.com/x-1', '+draft/reply']);

    await say(alice, `@${Array.from({ length: 200 }, (_, i) => `+k${i}`).join(';')} TAGMSG #p`);
    const [tagmsg] = await received(bob);
    expect(Object.keys(parseMessage(tagmsg!).tags!).filter((k) => k.startsWith('+k'))).toHaveLength(64);
  });

  it('leave with CR and LF in their values escaped, as does an echoed label', async () => {
    await s.start();
    const alice = await s.connect('alice', { caps: ['message-tags', 'labeled-response'] });
    const bob = await s.connect('bob', { caps: ['message-tags'] });
    await received(bob);
    await say(alice, '@+x=a\\r:irc.example.net\\sNOTICE\\sbob\\s:forged\\nb PRIVMSG bob :hi');
    const [line] = await received(bob);
    expect(line).toContain('+x=a\\r:irc.example.net\\sNOTICE\\sbob\\s:forged\\nb');
    expect(parseMessage(line!).tags!['+x']).toBe('a\r:irc.example.net NOTICE bob :forged\nb');
    alice.send('@label=l\\r1 PING x');
    const pong = await alice.waitFor('PONG');
    expect(pong.tags?.label).toBe('l\r1');
    expect(alice.lines.filter((l) => /[\r\n\0]/.test(l))).toEqual([]);
  });
});
