// [history] backend = "sqlite": history survives a restart on the same store file, channel history
// is kept by name, REDACT and ACCOUNT DROP delete rows, conversations of connections without an
// account end with the process, and /metrics shows the size.
import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol/message.js';
import { client, storeFile, useServers, type TestClient, type TestServer } from '../support/harness.js';
import { loggedInClient } from '../support/login.js';
import { makeOper } from '../support/state.js';

const CAPS = ['draft/chathistory', 'batch', 'message-tags', 'server-time', 'echo-message', 'draft/message-redaction'];

const { start: startTracked, stop, track } = useServers();

/** A server keeping history in the store file `path`. */
function start(path: string, history: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<TestServer> {
  return startTracked({ store: { path }, history: { backend: 'sqlite', ...history }, ...extra });
}

async function connect(srv: TestServer, nick: string, account?: string): Promise<TestClient> {
  return track(account ? await loggedInClient(srv.server, srv.port, nick, account, CAPS) : await client(srv.port, nick, { caps: CAPS }));
}

/** The lines of the chathistory batch answering `line`. */
async function history(c: TestClient, line: string): Promise<Message[]> {
  await c.collectUntilPong();
  c.send(line);
  const reply = await c.collectUntilPong();
  const start = reply.find((m) => m.command === 'BATCH' && m.params[0]!.startsWith('+'));
  if (!start) throw new Error(`no batch in reply to ${line}: ${JSON.stringify(reply)}`);
  return reply.filter((m) => m.tags?.batch === start.params[0]!.slice(1));
}

async function say(c: TestClient, target: string, texts: string[]): Promise<Message[]> {
  const echoes: Message[] = [];
  for (const text of texts) {
    c.send(`PRIVMSG ${target} :${text}`);
    echoes.push(await c.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === text));
  }
  return echoes;
}

const texts = (lines: Message[]) => lines.map((m) => m.params[1]);

async function joinChannel(c: TestClient, channel: string): Promise<void> {
  c.send(`JOIN ${channel}`);
  await c.waitFor((m) => m.command === '366' && m.params[1] === channel);
}

describe('[history] backend = "sqlite"', () => {
  it('serves history from before a restart after it: channels, and conversations between accounts', async () => {
    const path = storeFile();
    let srv = await start(path);
    let a = await connect(srv, 'alice', 'alice');
    let b = await connect(srv, 'bob', 'bob');
    await joinChannel(a, '#keep');
    const before = await say(a, '#keep', ['one', 'two', 'three']);
    const dms = await say(a, 'bob', ['hi bob']);
    await stop(srv);

    srv = await start(path);
    a = await connect(srv, 'alice', 'alice');
    await joinChannel(a, '#keep');
    const replayed = await history(a, 'CHATHISTORY LATEST #keep * 10');
    expect(replayed.map((m) => ({ source: m.source, params: m.params, msgid: m.tags?.msgid, time: m.tags?.time }))).toEqual(
      before.map((m) => ({ source: m.source, params: m.params, msgid: m.tags?.msgid, time: m.tags?.time })),
    );
    expect(texts(await history(a, `CHATHISTORY AFTER #keep msgid=${before[0]!.tags!.msgid} 10`))).toEqual(['two', 'three']);
    // bob is offline: the conversation is found by the nick he last used.
    expect((await history(a, 'CHATHISTORY LATEST bob * 10')).map((m) => m.tags?.msgid)).toEqual(dms.map((m) => m.tags?.msgid));
    b = await connect(srv, 'bob', 'bob');
    expect(texts(await history(b, 'CHATHISTORY LATEST alice * 10'))).toEqual(['hi bob']);
    // The sender's connection of the earlier run is nobody now; the account still says who sent it.
    a.send(`REDACT #keep ${before[2]!.tags!.msgid}`);
    await a.waitFor('REDACT');
    expect(texts(await history(a, 'CHATHISTORY LATEST #keep * 10'))).toEqual(['one', 'two']);
  });

  it('forgets conversations of clients without an account at the restart, not channel history', async () => {
    const path = storeFile();
    let srv = await start(path);
    let a = await connect(srv, 'alice');
    const b = await connect(srv, 'bob');
    await joinChannel(a, '#c');
    await say(a, 'bob', ['unkeyed']);
    await b.waitFor('PRIVMSG');
    expect(texts(await history(b, 'CHATHISTORY LATEST alice * 10'))).toEqual(['unkeyed']);
    await say(a, '#c', ['kept']);
    await stop(srv);

    srv = await start(path);
    a = await connect(srv, 'alice');
    await connect(srv, 'bob');
    await joinChannel(a, '#c');
    expect(await history(a, 'CHATHISTORY LATEST bob * 10')).toEqual([]);
    expect(texts(await history(a, 'CHATHISTORY LATEST #c * 10'))).toEqual(['kept']);
  });

  it('keeps a channel by name: members of it made again read it, others are refused', async () => {
    const srv = await start(storeFile());
    const a = await connect(srv, 'alice');
    await joinChannel(a, '#h');
    await say(a, '#h', ['before']);
    a.send('PART #h');
    await a.waitFor('PART');
    a.send('CHATHISTORY LATEST #h * 10');
    expect((await a.waitFor('FAIL')).params.slice(0, 2)).toEqual(['CHATHISTORY', 'INVALID_TARGET']);
    await joinChannel(a, '#H');
    expect(texts(await history(a, 'CHATHISTORY LATEST #h * 10'))).toEqual(['before']);
  });

  it('keeps the history of a renamed channel under its new name', async () => {
    const srv = await start(storeFile());
    const a = await connect(srv, 'alice');
    await joinChannel(a, '#old');
    await say(a, '#old', ['moved']);
    a.send('RENAME #old #new :moving');
    await a.waitFor((m) => m.command === 'RENAME' || m.command === 'JOIN' || m.command === 'FAIL');
    await a.collectUntilPong();
    if (!srv.server.state.findChannel('#new')) throw new Error('RENAME did not rename here');
    expect(texts(await history(a, 'CHATHISTORY LATEST #new * 10'))).toEqual(['moved']);
  });

  it('keeps messages_per_target per target across many messages', async () => {
    const srv = await start(storeFile(), { messages_per_target: 4 });
    const a = await connect(srv, 'alice');
    await joinChannel(a, '#h');
    const sent = await say(a, '#h', Array.from({ length: 30 }, (_, i) => `m${i}`));
    expect(texts(await history(a, 'CHATHISTORY LATEST #h * 100'))).toEqual(texts(sent).slice(-4));
    expect(srv.server.stats.history!().messages).toBe(4);
  });

  it('deletes the account\'s direct conversations with ACCOUNT DROP, and nothing else', async () => {
    const srv = await start(storeFile());
    const a = await connect(srv, 'alice', 'alice');
    const b = await connect(srv, 'bob', 'bob');
    const c = await connect(srv, 'carol', 'carol');
    await say(a, 'bob', ['to bob']);
    await say(c, 'bob', ['from carol']);
    await joinChannel(a, '#c');
    await say(a, '#c', ['channel line']);
    makeOper(srv.server, 'carol', ['accounts']);
    c.send('ACCOUNT DROP alice');
    await c.waitFor((m) => m.command === 'NOTICE' && m.params[1]!.includes('dropped'));
    expect(await history(b, 'CHATHISTORY LATEST alice * 10')).toEqual([]);
    expect(texts(await history(b, 'CHATHISTORY LATEST carol * 10'))).toEqual(['from carol']);
    expect(texts(await history(a, 'CHATHISTORY LATEST #c * 10'))).toEqual(['channel line']);
  });

  it('shows the history size in /metrics', async () => {
    const srv = await start(storeFile(), {}, { metrics: { enabled: true, address: '127.0.0.1', port: 0 } });
    const a = await connect(srv, 'alice');
    await joinChannel(a, '#m');
    await say(a, '#m', ['a', 'b', 'c']);
    const text = await (await fetch(`http://127.0.0.1:${srv.server.http!.port}/metrics`)).text();
    expect(text).toMatch(/^ircd_history_messages 3$/m);
    const bytes = Number(/^ircd_history_bytes (\d+)$/m.exec(text)?.[1]);
    expect(bytes).toBeGreaterThan(4096);
  });
});
