// IRCv3 draft/message-redaction: who may REDACT what, who is told, the FAIL codes, and the
// message leaving chat history.
import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol/message.js';
import type { TestClient } from '../support/harness.js';
import { loggedInClient } from '../support/login.js';
import { makeOper } from '../support/state.js';
import { useSession } from '../support/session.js';

const s = useSession();
const CAPS = ['message-tags', 'echo-message', 'draft/message-redaction', 'draft/chathistory', 'batch'];

for (const backend of ['memory', 'sqlite'] as const) {
  /** alice (op, joined first) and bob in #r, both with the capability. */
  async function channelPair(): Promise<[TestClient, TestClient]> {
    await s.start({ history: { backend } });
    const a = await s.connect('alice', { caps: CAPS });
    const b = await s.connect('bob', { caps: CAPS });
    a.send('JOIN #r');
    await a.waitFor('366');
    b.send('JOIN #r');
    await b.waitFor('366');
    await a.collectUntilPong();
    return [a, b];
  }

  async function send(from: TestClient, line: string): Promise<Message> {
    from.send(line);
    return from.waitFor((m) => m.command === 'PRIVMSG' || m.command === 'TAGMSG');
  }

  const reply = async (c: TestClient, line: string) => {
    c.send(line);
    return (await c.collectUntilPong()).map((m) => [m.source?.split('!')[0], m.command, ...m.params]);
  };

  describe(`REDACT in a channel (${backend} history)`, () => {
    it('lets the sender redact, tells members with the cap, and removes the message from history', async () => {
      const [a, b] = await channelPair();
      const msg = await send(a, 'PRIVMSG #r :oops');
      const id = msg.tags!.msgid!;
      await b.waitFor('PRIVMSG');
      expect(await reply(a, `REDACT #r ${id} :typo`)).toEqual([['alice', 'REDACT', '#r', id, 'typo']]);
      expect((await b.waitFor('REDACT')).params).toEqual(['#r', id, 'typo']);
      b.send('CHATHISTORY LATEST #r * 10');
      expect((await b.collectUntilPong()).map((m) => m.command)).toEqual(['BATCH', 'BATCH']);
    });

    it('lets a channel operator redact anyone, but not a plain member', async () => {
      const [a, b] = await channelPair();
      const fromAlice = (await send(a, 'PRIVMSG #r :mine')).tags!.msgid!;
      expect(await reply(b, `REDACT #r ${fromAlice}`)).toEqual([
        ['irc.test', 'FAIL', 'REDACT', 'REDACT_FORBIDDEN', '#r', fromAlice, expect.any(String)],
      ]);
      const fromBob = (await send(b, 'PRIVMSG #r :spam')).tags!.msgid!;
      await a.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'spam');
      expect(await reply(a, `REDACT #r ${fromBob} spam`)).toEqual([['alice', 'REDACT', '#r', fromBob, 'spam']]);
      expect((await b.waitFor('REDACT')).params).toEqual(['#r', fromBob, 'spam']);
    });

    it('lets an oper with the override privilege redact in a channel they are in', async () => {
      const [a, b] = await channelPair();
      const id = (await send(a, 'PRIVMSG #r :hello')).tags!.msgid!;
      makeOper(s.srv.server, 'bob', ['override']);
      await b.collectUntilPong();
      expect(await reply(b, `REDACT #r ${id}`)).toEqual([['bob', 'REDACT', '#r', id]]);
    });

    it('redacts a TAGMSG (a reaction)', async () => {
      const [a] = await channelPair();
      const id = (await send(a, '@+draft/react=x TAGMSG #r')).tags!.msgid!;
      expect(await reply(a, `REDACT #r ${id}`)).toEqual([['alice', 'REDACT', '#r', id]]);
    });

    it('does not send REDACT to members without the capability', async () => {
      const [a] = await channelPair();
      const c = await s.connect('carol', { caps: ['message-tags'] });
      c.send('JOIN #r');
      await c.waitFor('366');
      const id = (await send(a, 'PRIVMSG #r :x')).tags!.msgid!;
      await c.waitFor('PRIVMSG');
      await reply(a, `REDACT #r ${id}`);
      expect((await c.collectUntilPong()).map((m) => m.command)).toEqual([]);
    });

    it('answers UNKNOWN_MSGID and INVALID_TARGET', async () => {
      const [a] = await channelPair();
      expect(await reply(a, 'REDACT #r nosuchid')).toEqual([['irc.test', 'FAIL', 'REDACT', 'UNKNOWN_MSGID', '#r', 'nosuchid', expect.any(String)]]);
      expect(await reply(a, 'REDACT #elsewhere someid')).toEqual([['irc.test', 'FAIL', 'REDACT', 'INVALID_TARGET', '#elsewhere', expect.any(String)]]);
      expect(await reply(a, 'REDACT nobody someid')).toEqual([['irc.test', 'FAIL', 'REDACT', 'INVALID_TARGET', 'nobody', expect.any(String)]]);
      expect((await reply(a, 'REDACT #r'))[0]).toEqual(['irc.test', '461', 'alice', 'REDACT', 'Not enough parameters']);
    });
  });

  describe(`REDACT of a direct message (${backend} history)`, () => {
    it('tells both sides; only the sender may do it', async () => {
      const srv = await s.start({ history: { backend } });
      const a = await loggedInClient(srv.server, srv.port, 'alice', 'alice', CAPS);
      const b = await loggedInClient(srv.server, srv.port, 'bob', 'bob', CAPS);
      const id = (await send(a, 'PRIVMSG bob :private')).tags!.msgid!;
      await b.waitFor('PRIVMSG');
      expect(await reply(b, `REDACT alice ${id}`)).toEqual([['irc.test', 'FAIL', 'REDACT', 'REDACT_FORBIDDEN', 'alice', id, expect.any(String)]]);
      expect(await reply(a, `REDACT bob ${id}`)).toEqual([['alice', 'REDACT', 'bob', id]]);
      expect((await b.waitFor('REDACT')).params).toEqual(['bob', id]);
    });
  });
}
