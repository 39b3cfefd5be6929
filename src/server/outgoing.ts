// A message on its way to one or many clients. The wire form depends only on which of the
// message's tags a recipient may see, so it is serialized once per distinct view and the same
// Buffer is reused for every recipient sharing that view.
import { serializeMessage, type Message, type Tags } from '../protocol/message.js';
import { tagCap, tagView, type CapSet } from './caps.js';
import type { User } from './user.js';

const CRLF = '\r\n';

export class Outgoing {
  /** The tagView bits of all capabilities that gate at least one tag of this message. */
  readonly tagCaps: number;
  /** Its server-time in epoch ms when relayed (history keeps it without parsing the tag back). */
  at = 0;
  /** The first view built, kept apart: most messages only ever need one or two. */
  private firstView = -1;
  private firstBuf: Buffer | undefined;
  private views: Map<number, Buffer> | undefined;
  private plain: string | undefined;
  /** The UTF-8 length of `plain`, measured as it was flattened. */
  private plainUtf8 = 0;
  private readonly tagBits: number[] = [];
  /** Names of its tags, in order. */
  readonly tagKeys: readonly string[];

  constructor(
    readonly msg: Message,
    readonly tags: Tags = {},
  ) {
    this.tagKeys = Object.keys(tags);
    let all = 0;
    for (const k of this.tagKeys) {
      const bit = tagCap(k);
      this.tagBits.push(bit);
      all |= bit;
    }
    this.tagCaps = all;
  }

  /** Tags visible to a client holding `caps`. */
  tagsFor(caps: CapSet): Tags | undefined {
    return this.tagsInView(tagView(caps) & this.tagCaps);
  }

  private tagsInView(view: number): Tags | undefined {
    if (view === 0) return undefined;
    const out: Tags = {};
    for (let i = 0; i < this.tagKeys.length; i++) {
      if (view & this.tagBits[i]!) out[this.tagKeys[i]!] = this.tags[this.tagKeys[i]!]!;
    }
    return out;
  }

  /** The message serialized without tags (no CRLF); built once, as one flat string (history keeps it). */
  get plainLine(): string {
    if (this.plain === undefined) {
      const line = serializeMessage(this.msg);
      // Measuring flattens it (see flatten), and history wants the length: one pass for both.
      this.plainUtf8 = Buffer.byteLength(line, 'utf8');
      this.plain = line;
    }
    return this.plain;
  }

  /** Whether plainLine is all ASCII (its UTF-8 length is its length). */
  get plainLineIsAscii(): boolean {
    return this.plainLine.length === this.plainUtf8;
  }

  bufferFor(caps: CapSet): Buffer {
    const view = tagView(caps) & this.tagCaps;
    if (view === this.firstView) return this.firstBuf!;
    let buf = this.views?.get(view);
    if (!buf) {
      const tags = this.tagsInView(view);
      buf = Buffer.from((tags ? serializeMessage({ ...this.msg, tags }) : this.plainLine) + CRLF, 'utf8');
      if (this.firstView === -1) {
        this.firstView = view;
        this.firstBuf = buf;
      } else (this.views ??= new Map()).set(view, buf);
    }
    return buf;
  }

  /** How many distinct wire forms were built (tests and benchmarks check the fan-out cost). */
  get viewCount(): number {
    return (this.firstView === -1 ? 0 : 1) + (this.views?.size ?? 0);
  }
}

const msgidPrefix = Date.now().toString(36) + Math.random().toString(36).slice(2, 6);
let msgidSeq = 0;

/** A unique, opaque message id (IRCv3 msgid). */
export function newMsgid(): string {
  return flatten(`${msgidPrefix}-${(++msgidSeq).toString(36)}`);
}

/**
 * The same text as one flat string. A string built by concatenation is a tree of its pieces in
 * V8 (~500 bytes and a dozen objects for a 100-byte line); measuring its UTF-8 length flattens it
 * in place (~110 bytes, one object). For strings kept a long time, such as history entries.
 */
export function flatten(text: string): string {
  Buffer.byteLength(text, 'utf8');
  return text;
}

/**
 * Wraps a message relayed on behalf of a client with the tags every relayed message carries:
 * server-time, the sender's account and bot flag, and (for PRIVMSG/NOTICE/TAGMSG) a msgid.
 */
let isoMs = 0;
let isoText = '';

/** The current time as IRCv3 server-time text, formatted once per millisecond. */
export function serverTime(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

export function relay(
  from: User | undefined,
  msg: Message,
  /** `at`: when it was sent (epoch ms), for a message that arrived from another server; now by default. */
  opts: { msgid?: string; clientTags?: Tags; at?: number } = {},
): Outgoing {
  const time = opts.at === undefined ? serverTime() : new Date(opts.at).toISOString();
  const tags: Tags = opts.clientTags ? { ...opts.clientTags, time } : { time };
  if (opts.msgid) tags.msgid = opts.msgid;
  if (from?.account) tags.account = from.account;
  if (from?.modes.has('B')) tags.bot = '';
  const out = new Outgoing(msg, tags);
  out.at = opts.at ?? isoMs;
  return out;
}
