// IRC message parsing and serialization (Modern IRC "Message format", IRCv3 message-tags).

export type Tags = Record<string, string>;

export interface Message {
  tags?: Tags;
  source?: string;
  command: string;
  params: string[];
}

export class ParseError extends Error {}

/**
 * The first `length` UTF-16 units of `units` as one flat string. Escaping and unescaping build
 * their result here rather than by appending a character at a time, which makes a V8 rope of one
 * piece per character (~2,000 objects and ~65 KB for a 4 KB value of escapes) that chat history
 * may then keep for days. fromCharCode takes an argument list, hence the chunks; values up to the
 * 4 KB of a tag section take one.
 */
function unitsToString(units: Uint16Array, length: number): string {
  const CHUNK = 8192;
  let out = '';
  for (let i = 0; i < length; i += CHUNK) {
    out += String.fromCharCode.apply(null, units.subarray(i, Math.min(length, i + CHUNK)) as unknown as number[]);
  }
  return out;
}

const BACKSLASH = 0x5c;

export function unescapeTagValue(raw: string): string {
  if (raw.indexOf('\\') === -1) return raw;
  const units = new Uint16Array(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    let c = raw.charCodeAt(i);
    if (c === BACKSLASH) {
      if (++i === raw.length) break; // a lone trailing backslash is dropped
      c = raw.charCodeAt(i);
      // \: \s \r \n; "\\" and an unknown escape ("\b") give the character itself.
      c = c === 0x3a ? 0x3b : c === 0x73 ? 0x20 : c === 0x72 ? 0x0d : c === 0x6e ? 0x0a : c;
    }
    units[n++] = c;
  }
  return unitsToString(units, n);
}

const NEEDS_ESCAPE = /[; \\\r\n]/;

export function escapeTagValue(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  const units = new Uint16Array(value.length * 2);
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    const escaped = c === 0x3b ? 0x3a : c === 0x20 ? 0x73 : c === BACKSLASH ? BACKSLASH : c === 0x0d ? 0x72 : c === 0x0a ? 0x6e : 0;
    if (escaped === 0) units[n++] = c;
    else {
      units[n++] = BACKSLASH;
      units[n++] = escaped;
    }
  }
  return unitsToString(units, n);
}

/**
 * IRCv3 message-tags key: [ "+" ] [ vendor "/" ] key_name, key_name = 1*( ALPHA / DIGIT / "-" ),
 * vendor a host name (letters, digits, dots and hyphens here). Without nested quantifiers, so
 * matching a 4 KB key stays linear.
 */
const TAG_KEY = /^\+?(?:[A-Za-z0-9.-]+\/)?[A-Za-z0-9-]+$/;

/**
 * Distinct tag keys read from one line; later new keys are ignored. Real clients send a handful
 * (label, batch, +draft/reply...), and without a bound a 4 KB tag section of tiny tags makes an
 * object of ~1,000 properties per line.
 */
export const MAX_TAGS = 64;

/**
 * Parses a tag section (without "@"), reading at most `maxTags` distinct keys. A key that breaks
 * the message-tags grammar is dropped, not the message: the spec forbids rejecting a message for
 * its tag names, and such a key (control characters, say) must never be relayed. A repeated key
 * keeps its last value, as the spec asks. Linear in the length of the text: each character is
 * looked at a bounded number of times.
 */
export function parseTags(raw: string, maxTags = MAX_TAGS): Tags {
  const tags: Tags = Object.create(null);
  let count = 0;
  // The next "=" at or after the current tag, found again only once passed: asking indexOf for
  // every tag would rescan the rest of a section that has none (quadratic).
  let eq = -1;
  for (let start = 0; start < raw.length; ) {
    let end = raw.indexOf(';', start);
    if (end === -1) end = raw.length;
    if (eq < start) {
      eq = raw.indexOf('=', start);
      if (eq === -1) eq = raw.length;
    }
    const keyEnd = Math.min(eq, end);
    const key = raw.slice(start, keyEnd);
    const known = key in tags;
    if ((known || count < maxTags) && TAG_KEY.test(key)) {
      if (!known) count++;
      tags[key] = keyEnd === end ? '' : unescapeTagValue(raw.slice(keyEnd + 1, end));
    }
    start = end + 1;
  }
  return tags;
}

/**
 * A copy of a string that shares no memory with the text it was cut from: V8 keeps a slice of a
 * string as a reference into the whole, so a short field kept for hours keeps its whole line
 * alive. Exact for text decoded from UTF-8, as every received line is.
 */
export function detached(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

/** Parses one line without its CR/LF. Throws ParseError when there is no command. */
export function parseMessage(line: string): Message {
  let pos = 0;
  let len = line.length;
  const skipSpaces = () => {
    while (pos < len && line.charCodeAt(pos) === 32) pos++;
  };
  let tags: Tags | undefined;
  let source: string | undefined;
  if (line.charCodeAt(0) === 64 /* @ */) {
    const end = line.indexOf(' ');
    if (end === -1) throw new ParseError('tags without a command');
    tags = parseTags(line.slice(1, end));
    // The rest is parsed from a copy of its own: a parameter kept for long (a metadata value, a
    // topic, a realname) would otherwise hold the line's up to 4 KB of tags with it (~0.3 µs).
    line = detached(line.slice(end));
    len = line.length;
    pos = 0;
    skipSpaces();
  } else {
    skipSpaces();
  }
  if (line.charCodeAt(pos) === 58 /* : */) {
    const end = line.indexOf(' ', pos);
    if (end === -1) throw new ParseError('source without a command');
    source = line.slice(pos + 1, end);
    pos = end;
    skipSpaces();
  }
  let end = line.indexOf(' ', pos);
  if (end === -1) end = len;
  const command = line.slice(pos, end).toUpperCase();
  if (command === '') throw new ParseError('no command');
  pos = end;
  const params: string[] = [];
  while (pos < len) {
    skipSpaces();
    if (pos >= len) break;
    if (line.charCodeAt(pos) === 58) {
      params.push(line.slice(pos + 1));
      break;
    }
    let pend = line.indexOf(' ', pos);
    if (pend === -1) pend = len;
    params.push(line.slice(pos, pend));
    pos = pend;
  }
  const msg: Message = { command, params };
  if (tags) msg.tags = tags;
  if (source !== undefined) msg.source = source;
  return msg;
}

export function serializeTags(tags: Tags): string {
  let out = '';
  for (const key in tags) {
    const value = tags[key]!;
    if (out) out += ';';
    out += value === '' ? key : key + '=' + escapeTagValue(value);
  }
  return out;
}

/** Serializes without CRLF. The last parameter is made trailing when it needs to be. */
export function serializeMessage(msg: Message): string {
  let out = '';
  if (msg.tags) {
    const t = serializeTags(msg.tags);
    if (t) out = '@' + t + ' ';
  }
  if (msg.source) out += ':' + msg.source + ' ';
  out += msg.command;
  const params = msg.params;
  const last = params.length - 1;
  for (let i = 0; i < params.length; i++) {
    const p = params[i]!;
    if (i === last && (p === '' || p.charCodeAt(0) === 58 || p.indexOf(' ') !== -1)) out += ' :' + p;
    else out += ' ' + p;
  }
  return out;
}
