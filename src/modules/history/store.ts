// Chat history in memory: one bounded list of messages per channel and per direct conversation,
// the conversations themselves in an LRU map. Memory, not the SQLite store: history is a recent
// window clients page through, written on every message; durability is not worth a disk write
// per line, and a restart forgetting it is acceptable.
// Spec: https://ircv3.net/specs/extensions/chathistory
import { LRUCache } from 'lru-cache';
import type { Config } from '../../config/schema.js';
import { detached, escapeTagValue, parseMessage, parseTags, type Message, type Tags } from '../../protocol/message.js';
import type { Channel } from '../../server/channel.js';
import type { User } from '../../server/user.js';
import type { MultilinePart } from '../../server/module.js';
import { flatten, type Outgoing } from '../../server/outgoing.js';
import { userSlot } from '../../server/slots.js';
import type { State } from '../../server/state.js';
import type { Dated } from './query.js';

// Sizes in V8's heap on 64-bit Node.js (no pointer compression), checked against heapUsed for
// stored messages of each kind; a heap with compressed pointers holds less than is counted.

/**
 * Bytes a flat string takes: a 16-byte header and one byte a character when every character is
 * ASCII, else two (counting Latin-1 text as two-byte overcounts, the safe side), in 8-byte steps.
 * Measuring its UTF-8 length flattens it (see flatten()), so what is counted is what is kept.
 */
function stringBytes(text: string, ascii = Buffer.byteLength(text, 'utf8') === text.length): number {
  const chars = ascii ? text.length : 2 * text.length;
  return (16 + chars + 7) & ~7;
}

/**
 * What a stored message holds besides its strings: the HistoryItem (nine fields), the boxed number
 * of its time, and its slot in the conversation's array, with that array's spare room.
 */
const ITEM_BYTES = 136;
/** A draft/multiline message's array of lines, and each line's object and slot. */
const MULTILINE_BYTES = 32;
const PART_BYTES = 48;
/**
 * A conversation besides its messages: its object, array and LRU entry; a direct one also its key,
 * its map of peers and its entries in the index by participant.
 */
const conversationBytes = (conv: Conversation) => (conv.peers ? 600 : 300);

/** The commands history keeps, one string each: a parsed command is a new string every message. */
const COMMANDS = new Map(['PRIVMSG', 'NOTICE', 'TAGMSG', 'TOPIC'].map((c) => [c, c]));

/**
 * One stored message, kept compact: every message of a busy server passes through here and most
 * live long enough to be promoted to V8's old generation, so each object and string kept per
 * message costs garbage-collector work on the hot path. The message is kept as its wire line
 * without tags (one string instead of a message object, its parameter array and their strings),
 * and the tags other than server-time and msgid, which are rebuilt, as one serialized string.
 */
export class HistoryItem implements Dated {
  constructor(
    /** The message as relayed, serialized without tags. */
    readonly line: string,
    readonly command: string,
    readonly msgid: string,
    /** Its server-time in epoch ms. */
    readonly at: number,
    /** Who sent it, for REDACT: the connection, and the casefolded account it was logged in to. */
    readonly senderId: number,
    readonly senderAccount: string | undefined,
    /** The other relayed tags (account, bot, the client-only tags kept), serialized; undefined when none. */
    private readonly otherTags: string | undefined,
    /** A draft/multiline message's lines (the line then holds its first non-blank line). */
    readonly multiline: readonly MultilinePart[] | undefined,
    /** The memory it holds, as counted against max_bytes. */
    readonly bytes: number,
  ) {}

  /** The message as relayed, without tags. */
  get msg(): Message {
    return parseMessage(this.line);
  }

  /** Its tags as relayed (but for client-only tags past client_tag_bytes): time, msgid, account, client-only tags. */
  get tags(): Tags {
    const tags: Tags = { time: new Date(this.at).toISOString(), msgid: this.msgid };
    // Bounded when received, and then by client_tag_bytes: all of what was kept comes back.
    return this.otherTags === undefined ? tags : Object.assign(tags, parseTags(this.otherTags, Infinity));
  }
}

/**
 * One target's messages, oldest first. Dropping the oldest is O(1): they are only skipped over
 * (`start`) and the array is compacted once the dead head is as long as the live part, so a full
 * history does not cost an O(n) shift on every new message.
 */
export class Conversation {
  private buffer: HistoryItem[] = [];
  private start = 0;
  /** Memory its kept messages hold (HistoryItem.bytes summed). */
  bytes = 0;

  /** Direct conversations: each participant's identity → the nick it last used here. */
  constructor(readonly peers?: Map<string, string>) {}

  /** The kept messages, oldest first. */
  get items(): HistoryItem[] {
    this.compact();
    return this.buffer;
  }

  get size(): number {
    return this.buffer.length - this.start;
  }

  push(item: HistoryItem): void {
    this.buffer.push(item);
    this.bytes += item.bytes;
  }

  /** Forgets the oldest `n` messages; returns how many went. */
  dropOldest(n: number): number {
    const before = this.start;
    this.start = Math.min(this.buffer.length, this.start + n);
    for (let i = before; i < this.start; i++) this.bytes -= this.buffer[i]!.bytes;
    const dropped = this.start - before;
    if (this.start >= 64 && this.start * 2 >= this.buffer.length) this.compact();
    return dropped;
  }

  /** Removes one message (REDACT); returns it, or undefined when it is not kept. */
  remove(msgid: string): HistoryItem | undefined {
    const items = this.items;
    const i = items.findIndex((m) => m.msgid === msgid);
    if (i === -1) return undefined;
    const [item] = items.splice(i, 1);
    this.bytes -= item!.bytes;
    return item;
  }

  /** Index (from the oldest kept) of the first message at or after `at`, or -1. */
  firstAtOrAfter(at: number): number {
    for (let i = this.start; i < this.buffer.length; i++) if (this.buffer[i]!.at >= at) return i - this.start;
    return -1;
  }

  private compact(): void {
    if (this.start === 0) return;
    this.buffer = this.buffer.slice(this.start);
    this.start = 0;
  }
}

type Key = Channel | string;

/** A client's history identity and folded account, computed once per account it is logged in to. */
interface Identity {
  account: string | undefined;
  id: string;
  folded: string | undefined;
}

// A client belongs to one server, so these caches of its server's store live on the client; an
// entry keeps what it was computed from (account, peers) and is recomputed when that changes.
const identities = userSlot<Identity>();
/** Each sender's last direct-message key. */
const lastDm = userSlot<{ from: string; to: string; key: string }>();

export class HistoryStore {
  /** Channels are keyed by their Channel object, so a name reused later starts empty. */
  private conversations: LRUCache<Key, Conversation>;
  /** Participant identity → keys of its direct conversations (TARGETS, and finding offline peers). */
  private readonly byParticipant = new Map<string, Set<string>>();
  /** Messages kept over all conversations (bounded by max_messages). */
  private total = 0;
  /** Memory those messages and their conversations hold (bounded by max_bytes). */
  private bytes = 0;

  constructor(
    private cfg: Config['history'],
    private readonly state: State,
  ) {
    this.conversations = this.makeCache(cfg.max_targets);
  }

  private makeCache(max: number): LRUCache<Key, Conversation> {
    return new LRUCache<Key, Conversation>({
      max,
      dispose: (conv, key) => {
        this.total -= conv.size;
        this.bytes -= conv.bytes + conversationBytes(conv);
        if (typeof key === 'string') for (const id of conv.peers?.keys() ?? []) this.unindex(id, key);
      },
    });
  }

  private unindex(id: string, key: string): void {
    const keys = this.byParticipant.get(id);
    keys?.delete(key);
    if (keys?.size === 0) this.byParticipant.delete(id);
  }

  /** New limits after a rehash: the most recently used conversations are kept. */
  reconfigure(cfg: Config['history']): void {
    const old = this.conversations;
    this.cfg = cfg;
    if (cfg.max_targets !== old.max) {
      this.conversations = this.makeCache(cfg.max_targets);
      // rkeys() runs least recently used first, so the newest end up kept and most recent.
      for (const key of [...old.rkeys()]) this.conversations.set(key, old.peek(key)!);
    }
    for (const conv of this.conversations.values()) this.trim(conv);
    this.keepWithinTotal();
  }

  clear(): void {
    this.conversations.clear();
    this.byParticipant.clear();
    this.total = 0;
    this.bytes = 0;
  }

  /**
   * Forgets a channel that no longer exists (its last member left). Only members may read a
   * channel's history, and a channel created again under the name is a new object that starts
   * empty, so nothing could read it any more; it would only hold memory until evicted.
   */
  forgetChannel(channel: Channel): void {
    this.conversations.delete(channel);
  }

  /**
   * Who a client is for direct-message history: its account when logged in (any session of the
   * account shares the history), otherwise this connection only, so that a nick taken over by
   * someone else never exposes the previous holder's conversations.
   */
  identity(client: User): string {
    return this.cachedIdentity(client).id;
  }

  /** The client's account casefolded: the same string for every message it sends (less to keep). */
  private foldedAccount(client: User): string | undefined {
    return this.cachedIdentity(client).folded;
  }

  // Cached: the same string objects each time, so the LRU lookup reuses the hash and stored
  // messages share one string.
  private cachedIdentity(client: User): Identity {
    const cached = identities.get(client);
    if (cached && cached.account === client.account) return cached;
    const folded = client.account !== undefined ? this.state.fold(client.account) : undefined;
    const entry = { account: client.account, id: folded !== undefined ? `a:${folded}` : `c:${client.id}`, folded };
    identities.set(client, entry);
    return entry;
  }

  private dmKey(a: string, b: string): string {
    return a < b ? `dm ${a} ${b}` : `dm ${b} ${a}`;
  }

  recordChannel(channel: Channel, sender: User, out: Outgoing, multiline?: readonly MultilinePart[]): void {
    let conv = this.conversations.get(channel);
    if (!conv) this.conversations.set(channel, (conv = this.newConversation()));
    this.push(conv, sender, out, multiline);
  }

  recordDirect(sender: User, recipient: User, out: Outgoing, multiline?: readonly MultilinePart[]): void {
    const from = this.identity(sender);
    const to = this.identity(recipient);
    // A sender usually writes to the same peer again: reuse that key string (and its hash).
    const last = lastDm.get(sender);
    const key = last && last.from === from && last.to === to ? last.key : this.dmKey(from, to);
    if (last?.key !== key) lastDm.set(sender, { from, to, key });
    let conv = this.conversations.get(key);
    if (!conv) {
      this.conversations.set(key, (conv = this.newConversation(new Map())));
      for (const id of new Set([from, to])) {
        let keys = this.byParticipant.get(id);
        if (!keys) this.byParticipant.set(id, (keys = new Set()));
        keys.add(key);
      }
    }
    conv.peers!.set(from, sender.nick);
    conv.peers!.set(to, recipient.nick);
    this.push(conv, sender, out, multiline);
  }

  private newConversation(peers?: Map<string, string>): Conversation {
    const conv = new Conversation(peers);
    this.bytes += conversationBytes(conv);
    return conv;
  }

  private push(conv: Conversation, sender: User, out: Outgoing, multiline?: readonly MultilinePart[]): void {
    const tags = out.tags;
    const at = out.at || Date.parse(tags.time!);
    const account = sender.account !== undefined ? this.foldedAccount(sender) : undefined;
    const otherTags = this.otherTags(out);
    const line = out.plainLine;
    const msgid = tags.msgid!;
    // Our msgids are ASCII; the line was measured as Outgoing flattened it.
    let bytes = ITEM_BYTES + stringBytes(line, out.plainLineIsAscii) + stringBytes(msgid, true) + (otherTags === undefined ? 0 : stringBytes(otherTags));
    let parts: MultilinePart[] | undefined;
    // Each line a copy: as a slice, it would keep its whole received line alive.
    if (multiline) {
      parts = multiline.map((p) => ({ text: detached(p.text), concat: p.concat }));
      bytes += MULTILINE_BYTES;
      for (const p of parts) bytes += PART_BYTES + stringBytes(p.text);
    }
    const command = COMMANDS.get(out.msg.command) ?? out.msg.command;
    conv.push(new HistoryItem(line, command, msgid, at, sender.id, account, otherTags, parts, bytes));
    this.total++;
    this.bytes += bytes;
    this.trim(conv);
    this.keepWithinTotal(conv);
  }

  /**
   * The relayed tags other than time and msgid (rebuilt on replay), serialized as one flat string,
   * with client-only tags only as long as they fit in client_tag_bytes: a client may send 4 KB of
   * them with every line, and history is where they would otherwise add up.
   */
  private otherTags(out: Outgoing): string | undefined {
    const keys = out.tagKeys;
    if (keys.length === 2 && out.tags.time !== undefined && out.tags.msgid !== undefined) return undefined;
    let text = '';
    let clientBytes = 0;
    for (const key of keys) {
      if (key === 'time' || key === 'msgid') continue;
      const value = out.tags[key]!;
      const tag = value === '' ? key : `${key}=${escapeTagValue(value)}`;
      if (key[0] === '+') {
        const size = Buffer.byteLength(tag) + (clientBytes === 0 ? 0 : 1);
        if (clientBytes + size > this.cfg.client_tag_bytes) continue;
        clientBytes += size;
      }
      text = text === '' ? tag : `${text};${tag}`;
    }
    return text === '' ? undefined : flatten(text);
  }

  private overLimit(): boolean {
    return this.total > this.cfg.max_messages || this.bytes > this.cfg.max_bytes;
  }

  /** Drops a conversation's oldest `n` messages from it and from the totals. */
  private dropOldest(conv: Conversation, n: number): number {
    const bytes = conv.bytes;
    const dropped = conv.dropOldest(n);
    this.total -= dropped;
    this.bytes -= bytes - conv.bytes;
    return dropped;
  }

  /**
   * Over max_messages or max_bytes: the least recently used conversations go, then the oldest
   * messages of this one.
   */
  private keepWithinTotal(current?: Conversation): void {
    while (this.overLimit()) {
      const oldest = this.conversations.rkeys().next();
      if (oldest.done) return;
      if (current && this.conversations.peek(oldest.value) === current) {
        while (this.overLimit() && this.dropOldest(current, 1) > 0);
        return;
      }
      this.conversations.delete(oldest.value);
    }
  }

  /** Drops what is over the count or older than max_age. */
  private trim(conv: Conversation): void {
    const excess = conv.size - this.cfg.messages_per_target;
    if (excess > 0) this.dropOldest(conv, excess);
    const stale = conv.firstAtOrAfter(Date.now() - this.cfg.max_age * 1000);
    if (stale !== 0) this.dropOldest(conv, stale === -1 ? conv.size : stale);
  }

  /** A channel's history (messages still within max_age, oldest first), if it has any. */
  ofChannel(channel: Channel): Conversation | undefined {
    return this.touch(channel);
  }

  /**
   * The conversation between `viewer` and the user called `nick`: whoever holds the nick now, or
   * else the conversation where the peer last used that nick (or is logged in to that account).
   */
  directWith(viewer: User, nick: string): Conversation | undefined {
    const me = this.identity(viewer);
    const online = this.state.findNick(nick);
    if (online?.registered) return this.touch(this.dmKey(me, this.identity(online)));
    const folded = this.state.fold(nick);
    let found: Conversation | undefined;
    for (const key of this.byParticipant.get(me) ?? []) {
      const conv = this.conversations.peek(key);
      const peer = conv && this.peerOf(conv, me);
      if (!peer) continue;
      if (peer.id === `a:${folded}` || this.state.fold(peer.nick) === folded) {
        if (!found || last(conv) > last(found)) found = conv;
      }
    }
    return found;
  }

  private touch(key: Key): Conversation | undefined {
    const conv = this.conversations.get(key);
    if (conv) this.trim(conv);
    return conv;
  }

  /** The other participant of a direct conversation (oneself for notes to self). */
  private peerOf(conv: Conversation, me: string): { id: string; nick: string } | undefined {
    for (const [id, nick] of conv.peers ?? []) if (id !== me) return { id, nick };
    const self = conv.peers?.get(me);
    return self === undefined ? undefined : { id: me, nick: self };
  }

  /**
   * Direct conversations of a client, each named by the peer's current nick when online under
   * the same identity (else the nick it last used), with the time of the latest message.
   */
  directTargets(viewer: User): Array<{ name: string; at: number }> {
    const me = this.identity(viewer);
    const out: Array<{ name: string; at: number }> = [];
    for (const key of this.byParticipant.get(me) ?? []) {
      const conv = this.conversations.peek(key);
      const peer = conv && this.peerOf(conv, me);
      if (!peer) continue;
      this.trim(conv);
      if (conv.size === 0) continue;
      const online = this.state.findNick(peer.nick);
      const name = online && this.identity(online) === peer.id ? online.nick : peer.nick;
      out.push({ name, at: last(conv) });
    }
    return out;
  }

  /** Removes a message (REDACT); returns it, or undefined when it is not stored. */
  remove(conv: Conversation, msgid: string): HistoryItem | undefined {
    const item = conv.remove(msgid);
    if (!item) return undefined;
    this.total--;
    this.bytes -= item.bytes;
    return item;
  }
}

function last(conv: Conversation): number {
  return conv.items[conv.items.length - 1]?.at ?? 0;
}
