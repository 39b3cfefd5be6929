// IRC over WebSocket (RFC 6455; IRCv3 "WebSocket support") for browser clients such as Kiwi IRC.
// A listener with `websocket = true` expects an HTTP Upgrade on each connection; afterwards each
// WebSocket message carries one IRC line without CRLF. WebSocketTransport then stands in for the
// TCP socket under a Connection: incoming messages become LF-terminated lines, and outgoing
// lines become one message each (text frames, or binary with the binary.ircv3.net subprotocol).
// Once upgraded, the transport never writes on its own: PING/PONG frames and the peer's CLOSE (or
// a protocol error) are reported to the Connection, which answers them within its flood control
// and sendq like lines, so a client cannot make the server queue bytes it does not account for.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { isIP, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { DisconnectReason } from './disconnect.js';
import { globMatch, normalizeIp } from '../protocol/mask.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const SUBPROTOCOLS = ['binary.ircv3.net', 'text.ircv3.net'];
/** Bytes of HTTP request a client may send before the upgrade completes. */
const MAX_REQUEST = 8192;
/** Largest WebSocket message accepted (all fragments): far above any IRC line with tags. */
const MAX_MESSAGE = 65536;

const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

export interface UpgradeOptions {
  /** Browser origins allowed (globs, case-insensitive); empty allows any. Clients without Origin are not browsers and pass. */
  origins: string[];
  /** The peer is a trusted reverse proxy: its X-Forwarded-For names the client's address. */
  fromTrustedProxy: boolean;
  timeoutMs: number;
}

/**
 * Runs the HTTP upgrade on a fresh socket. Resolves with the transport, or undefined when the
 * request was refused (answered with an HTTP error) or the peer went away.
 */
export function upgradeToWebSocket(socket: Socket, opts: UpgradeOptions): Promise<WebSocketTransport | undefined> {
  return new Promise((resolve) => {
    let head = Buffer.alloc(0);
    const done = (transport: WebSocketTransport | undefined) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onGone);
      socket.off('close', onGone);
      resolve(transport);
    };
    const refuse = (status: string, extra = '') => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n${extra}\r\n`);
      setTimeout(() => socket.destroy(), 2000).unref();
      done(undefined);
    };
    const onGone = () => {
      socket.destroy();
      done(undefined);
    };
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (head.length > MAX_REQUEST) refuse('431 Request Header Fields Too Large');
        return;
      }
      const request = parseRequest(head.subarray(0, end).toString('latin1'));
      const rest = head.subarray(end + 4);
      if (!request) return refuse('400 Bad Request');
      const h = request.headers;
      if (request.method !== 'GET' || !/\bwebsocket\b/i.test(h.upgrade ?? '') || !/\bupgrade\b/i.test(h.connection ?? ''))
        return refuse('426 Upgrade Required', 'Upgrade: websocket\r\n');
      if (h['sec-websocket-version'] !== '13') return refuse('426 Upgrade Required', 'Sec-WebSocket-Version: 13\r\n');
      const key = h['sec-websocket-key'];
      if (!key || Buffer.from(key, 'base64').length !== 16) return refuse('400 Bad Request');
      const origin = h.origin?.toLowerCase();
      if (origin && opts.origins.length > 0 && !opts.origins.some((o) => globMatch(o.toLowerCase(), origin))) return refuse('403 Forbidden');
      // The client's order of preference decides among the subprotocols we support.
      const offered = (h['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
      const protocol = offered.find((p) => SUBPROTOCOLS.includes(p));
      const accept = createHash('sha1').update(key + GUID).digest('base64');
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${accept}\r\n${protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : ''}\r\n`,
      );
      const forwarded = opts.fromTrustedProxy ? forwardedFor(h['x-forwarded-for']) : undefined;
      done(new WebSocketTransport(socket, protocol === 'binary.ircv3.net', forwarded, rest));
    };
    const timer = setTimeout(() => refuse('408 Request Timeout'), opts.timeoutMs);
    socket.on('data', onData);
    socket.on('error', onGone);
    socket.on('close', onGone);
  });
}

function parseRequest(text: string): { method: string; headers: Record<string, string> } | undefined {
  const [first, ...lines] = text.split('\r\n');
  const m = /^(\S+) \S+ HTTP\/1\.1$/.exec(first ?? '');
  if (!m) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { method: m[1]!, headers };
}

/** The address the nearest proxy saw: the last entry of X-Forwarded-For, when it is an IP. */
function forwardedFor(header: string | undefined): string | undefined {
  const last = header?.split(',').at(-1)?.trim();
  return last && isIP(last) ? normalizeIp(last) : undefined;
}

/**
 * A WebSocket that looks like the socket a Connection expects: 'data' carries LF-terminated IRC
 * lines, write() takes CRLF-terminated lines and sends one WebSocket message per line. Besides
 * the socket's events it emits 'control' (frame bytes, and the payload of a PING, which wants
 * pong(payload)) for each PING or PONG frame, and 'closeRequested' (reason) when the peer sent
 * CLOSE or broke the protocol; end() then sends the CLOSE frame with the matching code.
 */
export class WebSocketTransport extends EventEmitter {
  readonly secure: boolean;
  private buffered: Buffer;
  /** Data frames of a fragmented message so far. */
  private fragments: Buffer[] = [];
  private fragmentBytes = 0;
  /** False once the peer sent CLOSE, broke the protocol, or end() was called: input is ignored. */
  private reading = true;
  /** The status code of the CLOSE frame end() sends: the peer's own, or why we fail it. */
  private closeCode = 1000;

  constructor(
    readonly raw: Socket,
    private readonly binary: boolean,
    /** The client's address from a trusted reverse proxy's X-Forwarded-For. */
    readonly forwardedIp: string | undefined,
    pending: Buffer,
  ) {
    super();
    this.secure = raw instanceof TLSSocket;
    this.buffered = pending;
    raw.on('data', (chunk: Buffer) => this.onRaw(chunk));
    raw.on('error', (err) => this.emit('error', err));
    raw.on('close', () => this.emit('close'));
    // Frames that came with the upgrade request are read once the Connection listens.
    if (pending.length > 0) setImmediate(() => this.onRaw(Buffer.alloc(0)));
  }

  get remoteAddress(): string | undefined {
    return this.forwardedIp ?? this.raw.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.raw.remotePort;
  }

  get writableLength(): number {
    return this.raw.writableLength;
  }

  get destroyed(): boolean {
    return this.raw.destroyed;
  }

  setNoDelay(on: boolean): this {
    this.raw.setNoDelay(on);
    return this;
  }

  /** The TLS client certificate, when the WebSocket runs over TLS. */
  getPeerCertificate(): ReturnType<TLSSocket['getPeerCertificate']> | undefined {
    return this.raw instanceof TLSSocket ? this.raw.getPeerCertificate() : undefined;
  }

  /** Sends each CRLF-terminated line of `data` as one message; all of them in one socket write. */
  write(data: Buffer | string): boolean {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const frames: Buffer[] = [];
    let start = 0;
    while (start < buf.length) {
      let nl = buf.indexOf(0x0a, start);
      if (nl === -1) nl = buf.length;
      const end = nl > start && buf[nl - 1] === 0x0d ? nl - 1 : nl;
      if (end > start) frames.push(frame(this.binary ? OP_BINARY : OP_TEXT, buf.subarray(start, end)));
      start = nl + 1;
    }
    return frames.length === 0 || this.raw.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
  }

  /** Answers a PING frame reported by 'control' (its owner decides when: see Connection). */
  pong(payload: Buffer): void {
    this.raw.write(frame(OP_PONG, payload));
  }

  /** Sends a CLOSE frame, ends the socket and stops reading. */
  end(callback?: () => void): this {
    this.reading = false;
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(this.closeCode);
    this.raw.end(frame(OP_CLOSE, payload), callback);
    return this;
  }

  destroy(): this {
    this.raw.destroy();
    return this;
  }

  /** Stops reading and asks the owner to close with `reason`. */
  private stop(reason: DisconnectReason): void {
    this.reading = false;
    this.buffered = Buffer.alloc(0);
    this.fragments = [];
    this.emit('closeRequested', reason);
  }

  /** A protocol error: the CLOSE frame will carry `code`. */
  private fail(code: number): void {
    this.closeCode = code;
    this.stop({ kind: 'other', text: code === 1009 ? 'WebSocket message too big' : 'WebSocket protocol error' });
  }

  private onRaw(chunk: Buffer): void {
    if (!this.reading) return;
    let buf = this.buffered.length > 0 ? Buffer.concat([this.buffered, chunk]) : chunk;
    for (;;) {
      const f = readFrame(buf);
      if (f === 'incomplete') break;
      if (f === 'invalid') return this.fail(1002);
      buf = buf.subarray(f.size);
      this.handleFrame(f.fin, f.opcode, f.payload, f.size);
      // Closed on that frame: by the peer, a protocol error, or the owner (a full recvq or sendq).
      if (!this.reading) return;
    }
    // Keep only the unread tail, copied so the whole read chunk is not kept alive by it.
    this.buffered = buf.length > 0 ? Buffer.from(buf) : Buffer.alloc(0);
    if (this.buffered.length > MAX_MESSAGE + 14) this.fail(1009);
  }

  private handleFrame(fin: boolean, opcode: number, payload: Buffer, size: number): void {
    if (opcode >= 0x8) {
      if (!fin || payload.length > 125) return this.fail(1002);
      if (opcode === OP_CLOSE) {
        // Echo the peer's status code, as RFC 6455 5.5.1 suggests.
        if (payload.length >= 2) this.closeCode = payload.readUInt16BE(0);
        return this.stop({ kind: 'closed', text: 'Connection closed' });
      }
      if (opcode !== OP_PING && opcode !== OP_PONG) return this.fail(1002);
      this.emit('control', size, opcode === OP_PING ? payload : undefined);
      return;
    }
    const starts = opcode === OP_TEXT || opcode === OP_BINARY;
    if (starts === this.fragments.length > 0 || (!starts && opcode !== OP_CONTINUATION)) return this.fail(1002);
    this.fragmentBytes += payload.length;
    if (this.fragmentBytes > MAX_MESSAGE) return this.fail(1009);
    if (!fin) {
      this.fragments.push(payload);
      return;
    }
    const message = this.fragments.length > 0 ? Buffer.concat([...this.fragments, payload]) : payload;
    this.fragments = [];
    this.fragmentBytes = 0;
    // One IRC line per message; a client that still ends it with CR/LF is forgiven.
    let end = message.length;
    while (end > 0 && (message[end - 1] === 0x0a || message[end - 1] === 0x0d)) end--;
    const line = Buffer.allocUnsafe(end + 1);
    message.copy(line, 0, 0, end);
    // A message is one line: an LF inside would make it two here, so it is passed on as a CR,
    // which the Connection refuses (FAIL INVALID_CHARACTERS) like a bare CR from any client.
    for (let i = line.indexOf(0x0a); i !== -1 && i < end; i = line.indexOf(0x0a, i + 1)) line[i] = 0x0d;
    line[end] = 0x0a;
    this.emit('data', line);
  }
}

/** An unmasked frame from the server. */
function frame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const headerLen = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(headerLen + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = len;
  else if (len < 65536) {
    out[1] = 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  payload.copy(out, headerLen);
  return out;
}

/** Reads one client frame (which must be masked) from the start of `buf`. */
function readFrame(buf: Buffer): { fin: boolean; opcode: number; payload: Buffer; size: number } | 'incomplete' | 'invalid' {
  if (buf.length < 2) return 'incomplete';
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  if (b0 & 0x70) return 'invalid'; // no extension is negotiated, so RSV bits must be 0
  if (!(b1 & 0x80)) return 'invalid'; // RFC 6455 5.1: client frames are masked
  let len = b1 & 0x7f;
  let offset = 2;
  if (len === 126) {
    if (buf.length < 4) return 'incomplete';
    len = buf.readUInt16BE(2);
    offset = 4;
  } else if (len === 127) {
    if (buf.length < 10) return 'incomplete';
    const big = buf.readBigUInt64BE(2);
    if (big > BigInt(MAX_MESSAGE)) return 'invalid';
    len = Number(big);
    offset = 10;
  }
  if (len > MAX_MESSAGE) return 'invalid';
  if (buf.length < offset + 4 + len) return 'incomplete';
  const mask = buf.subarray(offset, offset + 4);
  const payload = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) payload[i] = buf[offset + 4 + i]! ^ mask[i & 3]!;
  return { fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, payload, size: offset + 4 + len };
}
