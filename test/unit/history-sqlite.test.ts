// The SQLite history backend: one transaction per FLUSH_MS however many messages, and the same
// selections as the memory backend for any sequence of messages, visible commands and queries.
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import type { HistoryQuery } from '../../src/modules/history/query.js';
import { FLUSH_MS, MAX_BATCH, SqlHistoryStore } from '../../src/modules/history/sqlstore.js';
import { HistoryStore } from '../../src/modules/history/store.js';
import { caseFolder } from '../../src/protocol/casemap.js';
import type { Channel } from '../../src/server/channel.js';
import { newMsgid, relay } from '../../src/server/outgoing.js';
import { State } from '../../src/server/state.js';
import type { User } from '../../src/server/user.js';
import { openStore } from '../../src/store/db.js';
import type { Commands } from '../../src/store/history.js';

const base = { listen: [{ port: 0 }], class: [{ name: 'c' }], allow: [{ mask: '*', class: 'c' }] };
const config = (history: Record<string, unknown>) => validateConfig({ ...base, history }, 'test').history;
const sender = { id: 7, account: undefined, nick: 'alys', mask: 'alys!a@host', modes: new Set(), moduleState: [] } as unknown as User;
const channel = { name: '#c' } as Channel;
const failed = (err: Error, message: string) => {
  throw new Error(`${message}: ${err.message}`);
};

function sqlStore(history: Record<string, unknown> = {}): SqlHistoryStore {
  return new SqlHistoryStore(config({ backend: 'sqlite', ...history }), new State(caseFolder('rfc1459')), openStore(':memory:'), failed);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('SQLite history writes', () => {
  it('writes the messages of FLUSH_MS in one transaction, or MAX_BATCH at once', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const store = sqlStore({ messages_per_target: 10000 });
    const send = (n: number) => {
      for (let i = 0; i < n; i++) store.recordChannel(channel, sender, relay(sender, { source: sender.mask, command: 'PRIVMSG', params: ['#c', `m${i}`] }, { msgid: newMsgid() }));
    };
    const before = store.table.transactions;
    send(150);
    expect(store.table.transactions).toBe(before);
    vi.advanceTimersByTime(FLUSH_MS - 1);
    send(100);
    expect(store.table.transactions).toBe(before);
    vi.advanceTimersByTime(1);
    expect(store.table.transactions).toBe(before + 1);
    expect(store.table.rows).toBe(250);
    send(MAX_BATCH * 2 + 5);
    expect(store.table.transactions).toBe(before + 3);
    vi.advanceTimersByTime(FLUSH_MS);
    expect(store.table.transactions).toBe(before + 4);
    expect(store.table.rows).toBe(250 + MAX_BATCH * 2 + 5);
    store.close();
  });

  it('keeps messages_per_target per target and deletes what is past max_age when pruned', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const store = sqlStore({ messages_per_target: 5, max_age: 60 });
    const send = (text: string) =>
      store.recordChannel(channel, sender, relay(sender, { source: sender.mask, command: 'PRIVMSG', params: ['#c', text] }, { msgid: newMsgid() }));
    for (let i = 0; i < 8; i++) send(`old ${i}`);
    store.flush();
    expect(store.table.rows).toBe(5);
    vi.setSystemTime(Date.now() + 61_000);
    send('new');
    store.prune();
    expect(store.table.rows).toBe(1);
    const all: Commands = ['PRIVMSG', 'NOTICE', 'TAGMSG', 'TOPIC'];
    expect(store.select(store.ofChannel(channel), { kind: 'LATEST', after: undefined, limit: 10 }, all).map((i) => i.msg.params[1])).toEqual(['new']);
    store.close();
  });

  it('deletes the oldest messages while the store is over max_db_bytes, in bounded steps', () => {
    const store = sqlStore({ messages_per_target: 100000, max_db_bytes: 1 << 20 });
    const padding = 'x'.repeat(300);
    for (let i = 0; i < 6000; i++)
      store.recordChannel({ name: `#c${i % 7}` } as Channel, sender, relay(sender, { source: sender.mask, command: 'PRIVMSG', params: [`#c${i % 7}`, `${i} ${padding}`] }, { msgid: newMsgid() }));
    store.flush();
    expect(store.table.usedBytes()).toBeGreaterThan(1 << 20);
    store.prune();
    expect(store.table.usedBytes()).toBeLessThanOrEqual(1 << 20);
    const kept = store.table.rows;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(6000);
    // What is left is the newest: channel #c0's latest message is still the last one sent to it.
    const all: Commands = ['PRIVMSG', 'NOTICE', 'TAGMSG', 'TOPIC'];
    const latest = store.select(store.ofChannel({ name: '#c0' } as Channel), { kind: 'LATEST', after: undefined, limit: 1 }, all);
    expect(latest.map((i) => i.msg.params[1]!.split(' ')[0])).toEqual(['5999']);
    store.close();
  });
});

describe('SQLite and memory history', () => {
  it('select the same messages for any sequence of messages and any query', () => {
    const COMMANDS = ['PRIVMSG', 'NOTICE', 'TAGMSG', 'TOPIC'] as const;
    const VIEWS: Commands[] = [
      ['PRIVMSG', 'NOTICE', 'PRIVMSG', 'NOTICE'],
      ['PRIVMSG', 'NOTICE', 'TOPIC', 'TOPIC'],
      ['PRIVMSG', 'NOTICE', 'TOPIC', 'TAGMSG'],
    ];
    const message = fc.record({ command: fc.constantFrom(...COMMANDS), gap: fc.integer({ min: 0, max: 3 }) });
    const sequence = fc.array(message, { maxLength: 30 });
    // Indexes past the end name a msgid never stored; times run from before the first to after the last.
    const ref = fc.oneof(fc.integer({ min: 0, max: 32 }).map((i) => ({ i })), fc.integer({ min: -2, max: 100 }).map((dt) => ({ dt })));
    const limit = fc.integer({ min: 1, max: 12 });
    const query = fc.oneof(
      fc.record({ kind: fc.constant('LATEST' as const), after: fc.option(ref, { nil: undefined }), limit }),
      fc.record({ kind: fc.constantFrom('BEFORE' as const, 'AFTER' as const, 'AROUND' as const), ref, limit }),
      fc.record({ kind: fc.constant('BETWEEN' as const), from: ref, to: ref, limit }),
    );
    vi.useFakeTimers({ toFake: ['Date'] });
    fc.assert(
      fc.property(sequence, fc.array(fc.tuple(query, fc.constantFrom(...VIEWS)), { minLength: 1, maxLength: 10 }), fc.integer({ min: 1, max: 40 }), (messages, queries, keep) => {
        const start = Date.now();
        const memory = new HistoryStore(config({ messages_per_target: keep }), new State(caseFolder('rfc1459')));
        const sql = sqlStore({ messages_per_target: keep });
        const msgids: string[] = [];
        let now = start;
        for (const m of messages) {
          vi.setSystemTime((now += m.gap));
          const params = m.command === 'TAGMSG' ? ['#c'] : ['#c', 'text'];
          const out = relay(sender, { source: sender.mask, command: m.command, params }, { msgid: newMsgid() });
          msgids.push(out.tags.msgid!);
          memory.recordChannel(channel, sender, out);
          sql.recordChannel(channel, sender, out);
        }
        const toRef = (r: { i: number } | { dt: number }) => ('i' in r ? { msgid: msgids[r.i] ?? `gone${r.i}` } : { at: start + r.dt });
        for (const [q, view] of queries) {
          const real: HistoryQuery =
            q.kind === 'LATEST'
              ? { kind: 'LATEST', after: q.after && toRef(q.after), limit: q.limit }
              : q.kind === 'BETWEEN'
                ? { kind: 'BETWEEN', from: toRef(q.from), to: toRef(q.to), limit: q.limit }
                : { kind: q.kind, ref: toRef(q.ref), limit: q.limit };
          const conv = memory.ofChannel(channel);
          const expected = conv ? memory.select(conv, real, view).map((i) => i.msgid) : [];
          expect(sql.select(sql.ofChannel(channel), real, view).map((i) => i.msgid)).toEqual(expected);
        }
        sql.close();
        vi.setSystemTime(now + 1000);
      }),
      { numRuns: 300 },
    );
  });
});
