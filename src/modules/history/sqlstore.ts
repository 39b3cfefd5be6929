// Chat history in the SQLite store (`[history] backend = "sqlite"`): it survives restarts.
// Messages are queued and handed to the writer (store/history-writer.ts: a worker thread with its
// own connection, for a store file) as one batch, written in one transaction, FLUSH_MS after the
// first of them, or at once when MAX_BATCH are waiting: a commit per message (or per tick, which
// under light load is the same) writes a page for the table and for the index, and brings WAL
// checkpoints. Every read hands over the queue and waits for the writer first, so a query sees
// every message relayed before it; a crash loses at most the last FLUSH_MS of history (more only
// while the disk is behind: up to MAX_IN_FLIGHT batches the writer has not confirmed). Selection
// is done by range queries with the same meaning as history/query.ts's selectHistory on the
// conversation's messages in storage order, which is time order as long as the clock does not
// run backwards (then the sqlite backend orders by time, the memory one by arrival).
// Spec: https://ircv3.net/specs/extensions/chathistory
import type { Config } from '../../config/schema.js';
import type { Db } from '../../store/db.js';
import { emptyBatch, HistoryTable, type Bound, type Commands, type HistoryBatch, type HistoryRow } from '../../store/history.js';
import { historyWriter, type HistoryWriter, type Peer } from '../../store/history-writer.js';
import type { Channel } from '../../server/channel.js';
import type { MultilinePart } from '../../server/module.js';
import type { Outgoing } from '../../server/outgoing.js';
import type { State } from '../../server/state.js';
import type { User } from '../../server/user.js';
import type { HistoryQuery, MessageRef } from './query.js';
import { dmKey, historyIdentity, HistoryItem, newItem, peerOf, type HistoryBackend } from './store.js';

/** A conversation: its key in the table. */
interface Target {
  key: string;
}

/** Longest a queued message waits to be written. */
export const FLUSH_MS = 100;
/** Queued messages that are written at once, without waiting for FLUSH_MS. */
export const MAX_BATCH = 1000;
/** Seconds between prune runs. */
const PRUNE_SECONDS = 60;

export class SqlHistoryStore implements HistoryBackend<Target> {
  /** The main thread's view of the table: reads, and writes when the writer is the main thread. */
  readonly table: HistoryTable;
  readonly writer: HistoryWriter;
  /**
   * This run of the server (when it started, in ms; two runs never start in the same ms): rows
   * written by an earlier run name connections that no longer exist.
   */
  private readonly run = Date.now();
  private queue: HistoryBatch = emptyBatch(this.run);
  /** The participants' nicks to write with the queue, once per conversation and participant. */
  private peers = new Map<string, Peer>();
  private pending: NodeJS.Timeout | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private cfg: Config['history'],
    private readonly state: State,
    db: Db,
    /** Told when a change fails (a batch is lost, the server goes on) and when the writer thread failed. */
    report: (err: Error, message: string) => void,
  ) {
    this.table = new HistoryTable(db);
    // Connection-keyed conversations were only ever meaningful to their connections, all gone.
    this.table.forgetParticipant('c:', true);
    this.table.prune(this.since, cfg.max_db_bytes);
    this.writer = historyWriter(
      db,
      this.table,
      (err) => report(err, 'chat history could not be written to the store'),
      (err) => report(err, 'the chat history writer thread failed: history is written on the main thread from now on'),
    );
    this.timer = setInterval(() => this.prune(), PRUNE_SECONDS * 1000).unref();
  }

  reconfigure(cfg: Config['history']): void {
    this.cfg = cfg;
  }

  /**
   * History turned off by a rehash: what is queued is dropped, what is stored stays (durable data
   * is not deleted by a config change; max_age still prunes it) and is served again if it is
   * turned back on.
   */
  clear(): void {
    clearTimeout(this.pending);
    this.pending = undefined;
    this.queue = emptyBatch(this.run);
    this.peers.clear();
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
    this.writer.close();
  }

  private get since(): number {
    return Date.now() - this.cfg.max_age * 1000;
  }

  /** Hands what is queued to the writer, as one batch. */
  flush(): void {
    clearTimeout(this.pending);
    this.pending = undefined;
    if (this.queue.target.length === 0) return;
    const [rows, peers] = [this.queue, this.peers];
    this.queue = emptyBatch(this.run);
    this.peers = new Map();
    this.writer.send({ op: 'write', rows, peers: [...peers.values()], keep: this.cfg.messages_per_target });
  }

  /** Before a read: every message relayed so far is written. */
  private settle(): void {
    this.flush();
    this.writer.wait();
  }

  private enqueue(target: string, sender: User, out: Outgoing, multiline: readonly MultilinePart[] | undefined): void {
    const folded = historyIdentity(this.state, sender).folded;
    const item = newItem(out, sender.id, folded, multiline, this.cfg.client_tag_bytes);
    const q = this.queue;
    q.target.push(target);
    q.at.push(item.at);
    q.msgid.push(item.msgid);
    q.command.push(item.command);
    q.line.push(item.line);
    q.tags.push(item.otherTags ?? null);
    q.multiline.push(item.multiline ? JSON.stringify(item.multiline) : null);
    q.senderId.push(item.senderId);
    q.senderAccount.push(item.senderAccount ?? null);
    if (q.target.length >= MAX_BATCH) this.flush();
    else this.pending ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Channels are kept by casefolded name: the history outlives the channel and a restart. */
  private channelKey(channel: Channel): string {
    return this.state.fold(channel.name);
  }

  recordChannel(channel: Channel, sender: User, out: Outgoing, multiline?: readonly MultilinePart[]): void {
    this.enqueue(this.channelKey(channel), sender, out, multiline);
  }

  recordDirect(sender: User, recipient: User, out: Outgoing, multiline?: readonly MultilinePart[]): void {
    const from = historyIdentity(this.state, sender).id;
    const to = historyIdentity(this.state, recipient).id;
    const target = dmKey(from, to);
    this.peers.set(`${target}\n${from}`, { target, id: from, nick: sender.nick });
    this.peers.set(`${target}\n${to}`, { target, id: to, nick: recipient.nick });
    this.enqueue(target, sender, out, multiline);
  }

  ofChannel(channel: Channel): Target {
    return { key: this.channelKey(channel) };
  }

  directWith(viewer: User, nick: string): Target | undefined {
    this.settle();
    const me = historyIdentity(this.state, viewer).id;
    const online = this.state.findNick(nick);
    if (online?.registered) return { key: dmKey(me, historyIdentity(this.state, online).id) };
    const folded = this.state.fold(nick);
    let found: { key: string; at: number } | undefined;
    for (const [key, peers] of this.conversationsOf(me)) {
      const peer = peerOf(peers, me);
      if (!peer || (peer.id !== `a:${folded}` && this.state.fold(peer.nick) !== folded)) continue;
      const at = this.table.latestAt(key, -Infinity) ?? 0;
      if (!found || at > found.at) found = { key, at };
    }
    return found && { key: found.key };
  }

  /** The direct conversations an identity takes part in, each with its participants' last nicks. */
  private conversationsOf(me: string): Map<string, Map<string, string>> {
    const byTarget = new Map<string, Map<string, string>>();
    for (const p of this.table.peersOf(me)) {
      let peers = byTarget.get(p.target);
      if (!peers) byTarget.set(p.target, (peers = new Map()));
      peers.set(p.id, p.nick);
    }
    return byTarget;
  }

  directTargets(viewer: User): Array<{ name: string; at: number }> {
    this.settle();
    const me = historyIdentity(this.state, viewer).id;
    const out: Array<{ name: string; at: number }> = [];
    for (const [key, peers] of this.conversationsOf(me)) {
      const peer = peerOf(peers, me);
      const at = this.table.latestAt(key, this.since);
      if (!peer || at === undefined) continue;
      const online = this.state.findNick(peer.nick);
      const name = online && historyIdentity(this.state, online).id === peer.id ? online.nick : peer.nick;
      out.push({ name, at });
    }
    return out;
  }

  latestAt(conv: Target): number | undefined {
    this.settle();
    return this.table.latestAt(conv.key, this.since);
  }

  find(conv: Target, msgid: string, commands: Commands): HistoryItem | undefined {
    this.settle();
    const row = this.table.byMsgid(conv.key, msgid, commands, this.since);
    return row && this.item(row);
  }

  remove(conv: Target, msgid: string): boolean {
    this.flush();
    return this.writer.call({ op: 'remove', target: conv.key, msgid }) === true;
  }

  forgetChannel(): void {
    // Kept by name: members of the channel made again under it read it, as after a restart.
  }

  renameChannel(channel: Channel, oldName: string): void {
    this.flush();
    this.writer.send({ op: 'rename', from: this.state.fold(oldName), to: this.channelKey(channel) });
  }

  forgetAccount(folded: string): void {
    this.flush();
    this.writer.send({ op: 'forget', id: `a:${folded}` });
  }

  stats(): { messages: number; bytes: number } {
    this.settle();
    return { messages: this.writer.rows, bytes: this.table.usedBytes() };
  }

  /**
   * Has the writer delete, in bounded steps, messages older than max_age, then the oldest
   * messages while the store file is over max_db_bytes (store/history.ts).
   */
  prune(): void {
    this.flush();
    this.writer.send({ op: 'prune', since: this.since, maxDbBytes: this.cfg.max_db_bytes });
  }

  select(conv: Target, q: HistoryQuery, commands: Commands): HistoryItem[] {
    this.settle();
    const since = this.since;
    const range = (bounds: Bound[], order: 'ASC' | 'DESC', limit: number) => {
      const rows = this.table.range(conv.key, commands, since, bounds, order, limit);
      return order === 'DESC' ? rows.reverse() : rows;
    };
    // A reference as a bound; undefined for a msgid not (or no longer) stored, which selects nothing.
    const find = (ref: MessageRef) => ('msgid' in ref ? this.table.byMsgid(conv.key, ref.msgid, commands, since) : undefined);
    const after = (ref: MessageRef, op: '>' | '>=' = '>'): Bound | undefined => {
      if (!('msgid' in ref)) return { op, at: ref.at };
      const row = find(ref);
      return row && { op, at: row.at, seq: row.seq };
    };
    const before = (ref: MessageRef): Bound | undefined => {
      if (!('msgid' in ref)) return { op: '<', at: ref.at };
      const row = find(ref);
      return row && { op: '<', at: row.at, seq: row.seq };
    };
    let rows: HistoryRow[] = [];
    switch (q.kind) {
      case 'LATEST': {
        const start = q.after && after(q.after);
        if (!q.after || start) rows = range(start ? [start] : [], 'DESC', q.limit);
        break;
      }
      case 'BEFORE': {
        const end = before(q.ref);
        if (end) rows = range([end], 'DESC', q.limit);
        break;
      }
      case 'AFTER': {
        const start = after(q.ref);
        if (start) rows = range([start], 'ASC', q.limit);
        break;
      }
      case 'AROUND': {
        // Up to `limit` messages on each side of the centre (the referenced message, or the first
        // at or after the time), then the window selectHistory would pick from all of them.
        const end = before(q.ref);
        const start = after(q.ref, '>=');
        if (!end || !start) break;
        const earlier = range([end], 'DESC', q.limit);
        const window = earlier.concat(range([start], 'ASC', q.limit));
        const first = Math.max(0, Math.min(earlier.length - Math.floor(q.limit / 2), window.length - q.limit));
        rows = window.slice(first, first + q.limit);
        break;
      }
      case 'BETWEEN': {
        const forwards = this.runsForwards(q.from, q.to, find);
        if (forwards === undefined) break;
        const [low, high] = forwards ? [q.from, q.to] : [q.to, q.from];
        const start = after(low);
        const end = before(high);
        if (start && end) rows = range([start, end], forwards ? 'ASC' : 'DESC', q.limit);
        break;
      }
    }
    return rows.map((row) => this.item(row));
  }

  /**
   * Whether `from` comes no later than `to` in the conversation (the limit counts from `from`);
   * undefined when a msgid is not stored.
   */
  private runsForwards(from: MessageRef, to: MessageRef, find: (ref: MessageRef) => HistoryRow | undefined): boolean | undefined {
    const a = 'msgid' in from ? find(from) : undefined;
    const b = 'msgid' in to ? find(to) : undefined;
    if (('msgid' in from && !a) || ('msgid' in to && !b)) return undefined;
    if (a && b) return a.at < b.at || (a.at === b.at && a.seq <= b.seq);
    // A message lies before a time when it is older; a time before a message when it is no newer.
    if (a) return a.at < (to as { at: number }).at;
    if (b) return (from as { at: number }).at <= b.at;
    return (from as { at: number }).at <= (to as { at: number }).at;
  }

  private item(row: HistoryRow): HistoryItem {
    const multiline = row.multiline === null ? undefined : (JSON.parse(row.multiline) as MultilinePart[]);
    // A connection of an earlier run is nobody now: only the account still names the sender.
    const senderId = row.sender_run === this.run ? row.sender_id : -1;
    return new HistoryItem(row.line, row.command, row.msgid, row.at, senderId, row.sender_account ?? undefined, row.tags ?? undefined, multiline, 0);
  }
}
