// sqlite history written by its worker thread (store/history-writer.ts): what the worker wrote is
// served after a restart, a kill -9 loses at most the batch not yet written, and a worker that
// dies leaves the daemon running, history then written on the main thread.
// The kill -9 test runs dist/src/main.js as a real process (`npm run build` first); the in-process
// servers start the build's worker script too (a worker thread loads JavaScript only).
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { historyStore } from '../../src/modules/history.js';
import { MAX_BATCH, type SqlHistoryStore } from '../../src/modules/history/sqlstore.js';
import type { Message } from '../../src/protocol/message.js';
import { daemonFiles, useDaemons } from '../support/daemon.js';
import { client, storeFile, TestClient, useServers, waitUntil, type TestServer } from '../support/harness.js';

const CAPS = ['draft/chathistory', 'batch', 'message-tags', 'server-time', 'echo-message'];
const HISTORY = { backend: 'sqlite', query_limit: 1000, messages_per_target: 1000 };

const { start: startTracked, stop, track } = useServers();
const daemons = useDaemons();

function start(path: string): Promise<TestServer> {
  return startTracked({ store: { path }, history: HISTORY });
}

const sqlStore = (srv: TestServer) => historyStore(srv.server) as SqlHistoryStore;

async function member(port: number, nick: string, channel: string): Promise<TestClient> {
  return joined(track(await client(port, nick, { caps: CAPS })), channel);
}

async function joined(c: TestClient, channel: string): Promise<TestClient> {
  c.send(`JOIN ${channel}`);
  await c.waitFor((m) => m.command === '366');
  return c;
}

/** Sends the lines in one write and waits for the echo of the last. */
async function say(c: TestClient, channel: string, texts: string[]): Promise<void> {
  c.socket.write(texts.map((t) => `PRIVMSG ${channel} :${t}\r\n`).join(''));
  await c.waitFor((m) => m.command === 'PRIVMSG' && m.params[1] === texts[texts.length - 1], { timeout: 10000 });
}

async function latest(c: TestClient, channel: string, limit: number): Promise<string[]> {
  await c.collectUntilPong();
  c.send(`CHATHISTORY LATEST ${channel} * ${limit}`);
  const reply: Message[] = await c.collectUntilPong();
  const start = reply.find((m) => m.command === 'BATCH' && m.params[0]!.startsWith('+'));
  if (!start) throw new Error(`no chathistory batch: ${JSON.stringify(reply)}`);
  return reply.filter((m) => m.tags?.batch === start.params[0]!.slice(1)).map((m) => m.params[1]!);
}

const numbered = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `m${from + i}`);

describe('the sqlite history writer thread', () => {
  it('writes on a worker thread; what it wrote is served after a restart', async () => {
    const path = storeFile();
    let srv = await start(path);
    expect(sqlStore(srv).writer.where).toBe('worker thread');
    let a = await member(srv.port, 'alice', '#w');
    // More than one batch: the reader waits for every batch sent, not just the last.
    const texts = numbered(0, MAX_BATCH + 200);
    await say(a, '#w', texts);
    expect(await latest(a, '#w', 5)).toEqual(texts.slice(-5));
    expect(srv.server.stats.history!().messages).toBe(1000);
    await stop(srv);

    srv = await start(path);
    a = await member(srv.port, 'alice', '#w');
    expect(await latest(a, '#w', 1000)).toEqual(texts.slice(-1000));
  });

  it('survives the worker thread dying: history goes on, written on the main thread', async () => {
    const path = storeFile();
    let srv = await start(path);
    let a = await member(srv.port, 'alice', '#f');
    await say(a, '#f', ['before']);
    const store = sqlStore(srv);
    // A real failure of the thread (as if it crashed), reached through the writer's internals.
    await (store.writer as unknown as { worker: Worker }).worker.terminate();
    expect(await waitUntil(() => store.writer.where === 'main thread', 5000)).toBe(true);
    await say(a, '#f', ['after']);
    expect(await latest(a, '#f', 10)).toEqual(['before', 'after']);
    a.send('PING :alive');
    await a.waitFor((m) => m.command === 'PONG' && m.params[1] === 'alive');
    await stop(srv);

    srv = await start(path);
    expect(sqlStore(srv).writer.where).toBe('worker thread');
    a = await member(srv.port, 'alice', '#f');
    expect(await latest(a, '#f', 10)).toEqual(['before', 'after']);
  });

  it('loses at most the batch not yet written to a kill -9', async () => {
    const { dir, port, config } = await daemonFiles((dir) => ({ store: { path: join(dir, 'ircd.db') }, history: HISTORY }));
    const path = join(dir, 'ircd.db');
    /** A member of #k once the daemon listens. */
    const connected = async (nick: string) => {
      const c = await daemons.connectWhenUp(port);
      await c.register(nick, { caps: CAPS });
      return joined(c, '#k');
    };

    let daemon = daemons.spawn(config);
    let a = await connected('alice');
    const first = numbered(0, 300);
    await say(a, '#k', first);
    // Read the file as another process would, until the writer has committed all of the first lines.
    const reader = new Database(path, { readonly: true, fileMustExist: true });
    const stored = () => reader.prepare("SELECT COUNT(*) FROM history WHERE target = '#k'").pluck().get() as number;
    expect(await waitUntil(() => stored() === first.length, 10000)).toBe(true);
    reader.close();
    const second = numbered(300, 600);
    await say(a, '#k', second);
    await daemon.kill('SIGKILL');
    a.close();

    daemon = daemons.spawn(config);
    a = await connected('alice');
    const kept = await latest(a, '#k', 1000);
    // Everything written before is there; of what followed, what survived is a prefix (batches are
    // written whole and in order).
    expect(kept.slice(0, first.length)).toEqual(first);
    expect(kept.slice(first.length)).toEqual(second.slice(0, kept.length - first.length));
  });
});
