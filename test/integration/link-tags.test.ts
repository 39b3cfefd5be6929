// Messages across links with their tags (issue #17): over a chain A–B–C, a message keeps its
// msgid, server-time and client-only tags; TAGMSG crosses; chat history on C holds A's messages
// under the same ids; a REDACT on A removes the message from history on B and C and is shown to
// C's clients; SETNAME crosses. Spec: ts6.md "STAG", IRCv3 message-tags, message-redaction, setname.
import { afterEach, describe, expect, it } from 'vitest';
import { client, waitUntil, type TestClient, type TestServer } from '../support/harness.js';
import { linkBlock, linkDaemon, linkedWithin } from '../support/link.js';

const CAPS = ['message-tags', 'server-time', 'echo-message', 'batch', 'draft/chathistory', 'draft/message-redaction', 'setname', 'draft/multiline'];
const running: TestServer[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of running.splice(0).reverse()) await s.stop();
});

/** A chain A–B–C: B is the hub, A and C link to it. */
async function chain() {
  const b = await linkDaemon('b.test', '2BB', [linkBlock('a.test'), linkBlock('c.test')]);
  const a = await linkDaemon('a.test', '1AA', [linkBlock('b.test', { port: b.serverPort, autoconnect: true, hub: true })]);
  const c = await linkDaemon('c.test', '3CC', [linkBlock('b.test', { port: b.serverPort, autoconnect: true, hub: true })]);
  running.push(b, a, c);
  expect(await linkedWithin(a, b)).toBe(true);
  expect(await linkedWithin(c, b)).toBe(true);
  return { a, b, c };
}

async function user(s: TestServer, nick: string): Promise<TestClient> {
  const c = await client(s.port, nick, { caps: CAPS });
  clients.push(c);
  return c;
}

/** Alice on A and carol on C, both in #t, each seeing the other. */
async function twoEnds() {
  const { a, b, c } = await chain();
  const alice = await user(a, 'alice');
  const carol = await user(c, 'carol');
  alice.send('JOIN #t');
  await alice.waitFor('366');
  await waitUntil(() => !!c.server.state.findChannel('#t'), 3000);
  carol.send('JOIN #t');
  await alice.waitFor((m) => m.command === 'JOIN' && m.source?.startsWith('carol!') === true);
  return { a, b, c, alice, carol };
}

function chathistory(c: TestClient, target: string) {
  return c.ask(`CHATHISTORY LATEST ${target} * 20`).then((lines) => lines.filter((m) => m.command === 'PRIVMSG'));
}

describe('message tags over links', () => {
  it('a message keeps its msgid, time and client-only tags across two links; TAGMSG crosses; history on C has it under the same id', async () => {
    const { alice, carol } = await twoEnds();
    alice.send('@+draft/reply=abc PRIVMSG #t :hello over two links');
    const echo = await alice.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'hello over two links');
    const got = await carol.waitFor('PRIVMSG');
    expect(got.tags!.msgid).toBe(echo.tags!.msgid);
    expect(got.tags!.time).toBe(echo.tags!.time);
    expect(got.tags!['+draft/reply']).toBe('abc');

    alice.send('@+typing=active TAGMSG #t');
    const typing = await carol.waitFor('TAGMSG');
    expect(typing.source).toMatch(/^alice!/);
    expect(typing.tags!['+typing']).toBe('active');

    alice.send('PRIVMSG carol :direct');
    const dmEcho = await alice.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'direct');
    const dm = await carol.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'direct');
    expect(dm.tags!.msgid).toBe(dmEcho.tags!.msgid);

    const stored = await chathistory(carol, '#t');
    expect(stored.map((m) => [m.tags!.msgid, m.tags!.time, m.params[1]])).toEqual([[echo.tags!.msgid, echo.tags!.time, 'hello over two links']]);
    expect((await chathistory(carol, 'alice')).map((m) => m.tags!.msgid)).toEqual([dmEcho.tags!.msgid]);
  });

  it('a REDACT on A removes the message from history on B and C and is shown to C’s clients', async () => {
    const { b, alice, carol } = await twoEnds();
    const hub = await user(b, 'bob');
    hub.send('JOIN #t');
    await carol.waitFor((m) => m.command === 'JOIN' && m.source?.startsWith('bob!') === true);
    alice.send('PRIVMSG #t :oops');
    const echo = await alice.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === 'oops');
    await carol.waitFor('PRIVMSG');
    await hub.waitFor('PRIVMSG');
    const msgid = echo.tags!.msgid!;
    expect((await chathistory(carol, '#t')).map((m) => m.tags!.msgid)).toEqual([msgid]);

    alice.send(`REDACT #t ${msgid} :typo`);
    const redact = await carol.waitFor('REDACT');
    expect(redact.source).toMatch(/^alice!/);
    expect(redact.params).toEqual(['#t', msgid, 'typo']);
    expect((await hub.waitFor('REDACT')).params[1]).toBe(msgid);
    expect(await chathistory(carol, '#t')).toEqual([]);
    expect(await chathistory(hub, '#t')).toEqual([]);
  });

  it('SETNAME crosses the links (ENCAP REALNAME): C shows the new realname and tells its clients', async () => {
    const { c, alice, carol } = await twoEnds();
    alice.send('SETNAME :Alice of A');
    const seen = await carol.waitFor('SETNAME');
    expect(seen.source).toMatch(/^alice!/);
    expect(seen.params).toEqual(['Alice of A']);
    expect(c.server.state.findNick('alice')!.realname).toBe('Alice of A');
  });

  it('a draft/multiline message crosses as all its non-blank lines, the first with the message’s msgid', async () => {
    const { alice, carol } = await twoEnds();
    alice.send('BATCH +ml draft/multiline #t');
    for (const text of ['one', '', 'two', 'three']) alice.send(`@batch=ml PRIVMSG #t :${text}`);
    alice.send('BATCH -ml');
    const start = await alice.waitFor((m) => m.command === 'BATCH' && m.params[0]!.startsWith('+'));
    const lines: Array<{ text: string; msgid: string | undefined }> = [];
    for (let i = 0; i < 3; i++) {
      const m = await carol.waitFor('PRIVMSG');
      lines.push({ text: m.params[1]!, msgid: m.tags?.msgid });
    }
    expect(lines.map((l) => l.text)).toEqual(['one', 'two', 'three']);
    // The first is the message; the others are new messages where they arrive, with ids of their own.
    expect(lines[0]!.msgid).toBe(start.tags!.msgid);
    expect(new Set(lines.map((l) => l.msgid)).size).toBe(3);
  });

  it('+U: a message of a member without voice reaches the operators on other servers only, and no history', async () => {
    const { b, alice, carol } = await twoEnds();
    const bob = await user(b, 'bob');
    bob.send('JOIN #t');
    await carol.waitFor((m) => m.command === 'JOIN' && m.source?.startsWith('bob!') === true);
    alice.send('MODE #t +U');
    await carol.waitFor((m) => m.command === 'MODE' && m.params[1] === '+U');
    carol.send('PRIVMSG #t :for the ops');
    const held = await alice.waitFor('PRIVMSG');
    expect(held.source).toMatch(/^carol!/);
    expect(held.params).toEqual(['#t', 'for the ops']);
    // bob, a member without op, sees the next message but never the held one.
    alice.send('PRIVMSG #t :for everyone');
    expect((await bob.waitFor('PRIVMSG')).params[1]).toBe('for everyone');
    expect(bob.lines.some((l) => l.includes('for the ops'))).toBe(false);
    expect((await chathistory(alice, '#t')).map((m) => m.params[1])).toEqual(['for everyone']);
  });
});
