// CHATHISTORY message references and selection (IRCv3 draft/chathistory), as pure functions over
// a conversation's messages in the order they were stored (oldest first).
// Spec: https://ircv3.net/specs/extensions/chathistory

/** A message reference: `msgid=<id>` or `timestamp=YYYY-MM-DDThh:mm:ss.sssZ`. */
export type MessageRef = { msgid: string } | { at: number };

/** Anything with a msgid and a time in ms, oldest first. */
export interface Dated {
  msgid: string;
  at: number;
}

export type HistoryQuery =
  | { kind: 'LATEST'; after: MessageRef | undefined; limit: number }
  | { kind: 'BEFORE' | 'AFTER' | 'AROUND'; ref: MessageRef; limit: number }
  | { kind: 'BETWEEN'; from: MessageRef; to: MessageRef; limit: number };

const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Milliseconds of a server-time timestamp in its exact format, or undefined when it is not one. */
export function parseTimestamp(text: string): number | undefined {
  if (!TIMESTAMP_RE.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : at;
}

/** `timestamp=...` → ms; undefined when the parameter is anything else. */
export function parseTimestampRef(param: string): number | undefined {
  return param.startsWith('timestamp=') ? parseTimestamp(param.slice('timestamp='.length)) : undefined;
}

/**
 * Parses a reference parameter. 'unsupported' is a `type=value` of a type this server does not
 * know (INVALID_MSGREFTYPE); 'invalid' is anything else that is not a reference (INVALID_PARAMS).
 */
export function parseMessageRef(param: string): MessageRef | 'unsupported' | 'invalid' {
  const eq = param.indexOf('=');
  if (eq <= 0) return 'invalid';
  const type = param.slice(0, eq);
  const value = param.slice(eq + 1);
  if (type === 'msgid') return value ? { msgid: value } : 'invalid';
  if (type === 'timestamp') {
    const at = parseTimestamp(value);
    return at === undefined ? 'invalid' : { at };
  }
  return 'unsupported';
}

/** Index of the message a msgid names, -1 when it is not (or no longer) stored. */
function indexOfMsgid(items: readonly Dated[], msgid: string): number {
  for (let i = items.length - 1; i >= 0; i--) if (items[i]!.msgid === msgid) return i;
  return -1;
}

/** First index strictly after the reference; undefined for an unknown msgid. */
function startAfter(items: readonly Dated[], ref: MessageRef): number | undefined {
  if ('msgid' in ref) {
    const i = indexOfMsgid(items, ref.msgid);
    return i === -1 ? undefined : i + 1;
  }
  const i = items.findIndex((m) => m.at > ref.at);
  return i === -1 ? items.length : i;
}

/** Index just past the last message strictly before the reference; undefined for an unknown msgid. */
function endBefore(items: readonly Dated[], ref: MessageRef): number | undefined {
  if ('msgid' in ref) {
    const i = indexOfMsgid(items, ref.msgid);
    return i === -1 ? undefined : i;
  }
  const i = items.findIndex((m) => m.at >= ref.at);
  return i === -1 ? items.length : i;
}

const first = <T>(items: readonly T[], start: number, end: number, limit: number) => items.slice(start, Math.min(end, start + limit));
const last = <T>(items: readonly T[], start: number, end: number, limit: number) => items.slice(Math.max(start, end - limit), end);

/** The messages a query selects, oldest first; an unknown msgid selects nothing. */
export function selectHistory<T extends Dated>(items: readonly T[], q: HistoryQuery): T[] {
  switch (q.kind) {
    case 'LATEST': {
      const start = q.after ? startAfter(items, q.after) : 0;
      return start === undefined ? [] : last(items, start, items.length, q.limit);
    }
    case 'BEFORE': {
      const end = endBefore(items, q.ref);
      return end === undefined ? [] : last(items, 0, end, q.limit);
    }
    case 'AFTER': {
      const start = startAfter(items, q.ref);
      return start === undefined ? [] : first(items, start, items.length, q.limit);
    }
    case 'AROUND': {
      // The referenced message (or the first at or after the timestamp) sits in the middle.
      const centre = endBefore(items, q.ref);
      if (centre === undefined) return [];
      const start = Math.max(0, Math.min(centre - Math.floor(q.limit / 2), items.length - q.limit));
      return first(items, start, items.length, q.limit);
    }
    case 'BETWEEN': {
      const forwards = position(items, q.from) <= position(items, q.to);
      const [low, high] = forwards ? [q.from, q.to] : [q.to, q.from];
      const start = startAfter(items, low);
      const end = endBefore(items, high);
      if (start === undefined || end === undefined || start >= end) return [];
      // The limit counts from the first reference, whichever way time runs.
      return forwards ? first(items, start, end, q.limit) : last(items, start, end, q.limit);
    }
  }
}

/** Where a reference falls among the messages, to tell which way a BETWEEN runs. */
function position(items: readonly Dated[], ref: MessageRef): number {
  if ('msgid' in ref) return indexOfMsgid(items, ref.msgid);
  return endBefore(items, ref)! - 0.5;
}

/** Whether a time lies strictly between two bounds given in either order (CHATHISTORY TARGETS). */
export function strictlyBetween(at: number, a: number, b: number): boolean {
  return at > Math.min(a, b) && at < Math.max(a, b);
}
