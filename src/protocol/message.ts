// IRC message parsing and serialization (Modern IRC "Message format", IRCv3 message-tags).

export type Tags = Record<string, string>;

export interface Message {
  tags?: Tags;
  source?: string;
  command: string;
  params: string[];
}

export class ParseError extends Error {}

const TAG_UNESCAPE: Record<string, string> = { ':': ';', s: ' ', '\\': '\\', r: '\r', n: '\n' };

export function unescapeTagValue(raw: string): string {
  if (raw.indexOf('\\') === -1) return raw;
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    i++;
    if (i >= raw.length) break; // a lone trailing backslash is dropped
    const next = raw[i]!;
    out += TAG_UNESCAPE[next] ?? next;
  }
  return out;
}

export function escapeTagValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    switch (c) {
      case ';':
        out += '\\:';
        break;
      case ' ':
        out += '\\s';
        break;
      case '\\':
        out += '\\\\';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\n':
        out += '\\n';
        break;
      default:
        out += c;
    }
  }
  return out;
}

function parseTags(raw: string): Tags {
  const tags: Tags = Object.create(null);
  for (const item of raw.split(';')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    const key = eq === -1 ? item : item.slice(0, eq);
    if (key === '' || key === '+') continue;
    tags[key] = eq === -1 ? '' : unescapeTagValue(item.slice(eq + 1));
  }
  return tags;
}

/** Parses one line without its CR/LF. Throws ParseError when there is no command. */
export function parseMessage(line: string): Message {
  let pos = 0;
  const len = line.length;
  const skipSpaces = () => {
    while (pos < len && line.charCodeAt(pos) === 32) pos++;
  };
  let tags: Tags | undefined;
  let source: string | undefined;
  if (line.charCodeAt(0) === 64 /* @ */) {
    const end = line.indexOf(' ');
    if (end === -1) throw new ParseError('tags without a command');
    tags = parseTags(line.slice(1, end));
    pos = end;
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
