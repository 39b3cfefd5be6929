// A Connection owns one socket: framing, input limits, flood penalty and the bounded output
// queue. It knows nothing about IRC commands; complete lines go to its owner.
import { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { ClassConfig } from '../config/schema.js';
import { normalizeIp } from '../protocol/mask.js';
import { BudgetQueue } from './budget.js';
import type { FlushQueue } from './flush.js';
import type { DisconnectReason } from './disconnect.js';
import type { Peer } from './proxy.js';
import { WebSocketTransport } from './websocket.js';

/** What a Connection needs of its byte stream: a TCP or TLS socket, or a WebSocketTransport. */
export interface Transport {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly writableLength: number;
  readonly destroyed: boolean;
  write(data: Buffer | string): boolean;
  /** WebSocket only: answers a PING frame the transport reported with a 'control' event. */
  pong?(payload: Buffer): void;
  end(callback?: () => void): unknown;
  destroy(): unknown;
  setNoDelay(on: boolean): unknown;
  on(event: string, listener: (...args: any[]) => void): unknown;
}

export interface LineLimits {
  /** Non-tag part including CRLF (Modern IRC: 512). */
  lineLength: number;
  /** Tag part including the leading '@' and the following space. */
  tagLength: number;
}

/**
 * Why a received line could not be used as it is. 'cr' is a CR anywhere but just before the LF
 * that ends the line: Modern IRC forbids CR and LF inside a message, and a client that splits on
 * CR would show what follows it as a line of its own (a forged server NOTICE, say). Checked here,
 * once for the whole line, so no field (parameters, trailing text, realname, tag keys and values)
 * can carry one. The line is rejected, not split at the CR as some servers do: split, the line a
 * gateway or bouncer in front of us saw as one command would run as two here.
 */
export type LineProblem = 'too-long' | 'invalid-utf8' | 'nul' | 'cr';

export interface ConnectionOwner {
  /** A complete line (without CR/LF) ready to be handled; may return a promise to hold the queue. */
  handleLine(conn: Connection, line: string, problem: LineProblem | undefined): void | Promise<void>;
  connectionClosed(conn: Connection, reason: DisconnectReason): void;
  /** Called when a connection has lines waiting for flood tokens. */
  throttled(conn: Connection): void;
}

const LF = 0x0a;
/** The first byte of a TLS handshake record (a ClientHello): never the start of an IRC line. */
const TLS_HANDSHAKE = 0x16;
/** The disconnect text (and log reason) for a TLS client on a plaintext port. */
const TLS_ON_PLAINTEXT = 'TLS handshake on a plaintext port: turn TLS off in the client, or use a TLS port';
const utf8 = new TextDecoder('utf-8', { fatal: true });

let nextId = 1;

// One set of socket listeners for every connection, which finds its Connection on the socket:
// three closures per client add up with tens of thousands of idle clients.
const CONNECTION = Symbol('connection');
type OwnedSocket = Transport & { [CONNECTION]: Connection };

function onSocketData(this: OwnedSocket, chunk: Buffer): void {
  const conn = this[CONNECTION];
  conn.flushes.flushIfLate();
  conn.onData(chunk);
}

/**
 * A socket's end, error and close, and the end of a connection closed by the server (the farewell
 * write, the shutdown, the owner's part), are done a few milliseconds' worth per event-loop turn:
 * thousands of peers going away at once (a gateway or a network gone, a bouncer quitting all its
 * users) arrive in one poll phase, and each costs writes, a shutdown and the user's quit. Until
 * its turn a connection is as it was, or, closed, takes no more input or output. Bounded: a
 * connection queues at most its end, an error, its close and the finish of its close.
 */
const SOCKET_END_BUDGET_MS = 5;
/**
 * And at most this many steps a turn: a socket our slice ends is closed by Node in a later phase
 * of the loop (20-30 µs for a TLS socket), so 1,000 ends in a 5 ms slice cost another 25 ms there.
 */
const SOCKET_ENDS_PER_TURN = 200;
type SocketEnd =
  | { conn: Connection; step: 'end' }
  | { conn: Connection; step: 'close' | 'finish'; reason: DisconnectReason };
const socketEnds = new BudgetQueue<SocketEnd>(
  (e) => (e.step === 'end' ? e.conn.onEnd() : e.step === 'close' ? e.conn.close(e.reason) : e.conn.finishClose(e.reason)),
  SOCKET_END_BUDGET_MS,
  // Nothing to tell it to but the process: a throw here is a bug that must not pass silently.
  (err) => process.emitWarning(err instanceof Error ? err : new Error(String(err))),
  SOCKET_ENDS_PER_TURN,
);

/** Finishes every close waiting its turn now (a shutdown). */
export function finishPendingCloses(): void {
  socketEnds.drainAll();
}

function onSocketError(this: OwnedSocket, err: Error): void {
  this[CONNECTION].flushes.flushIfLate();
  socketEnds.push({ conn: this[CONNECTION], step: 'close', reason: { kind: 'closed', text: `Read error: ${err.message}` } });
}

function onSocketEnd(this: OwnedSocket): void {
  const conn = this[CONNECTION];
  conn.flushes.flushIfLate();
  conn.peerEnded();
  socketEnds.push({ conn, step: 'end' });
}

function onSocketClose(this: OwnedSocket): void {
  this[CONNECTION].flushes.flushIfLate();
  socketEnds.push({ conn: this[CONNECTION], step: 'close', reason: { kind: 'closed', text: 'Connection closed' } });
}

function onWebSocketControl(this: OwnedSocket, bytes: number, ping: Buffer | undefined): void {
  this[CONNECTION].onControlFrame(bytes, ping);
}

function onWebSocketCloseRequested(this: OwnedSocket, reason: DisconnectReason): void {
  this[CONNECTION].close(reason);
}

/**
 * The last Buffers joined for a flush, and the result. A channel's messages of one turn reach
 * every member as the same shared Buffers in the same order, so the members flushed one after
 * the other can write one joined copy instead of each making its own (allocation and copy were
 * 7% of a fan-out's CPU). Only small results are kept, so it never holds much memory.
 */
let lastParts: Buffer[] = [];
let lastJoined: Buffer | undefined;
const JOINED_KEPT_BYTES = 64 * 1024;

function joinShared(parts: Buffer[], bytes: number): Buffer {
  if (lastJoined && parts.length === lastParts.length && lastJoined.length === bytes) {
    let same = true;
    for (let i = 0; i < parts.length && same; i++) same = parts[i] === lastParts[i];
    if (same) return lastJoined;
  }
  const joined = Buffer.concat(parts, bytes);
  if (bytes <= JOINED_KEPT_BYTES) {
    lastParts = parts;
    lastJoined = joined;
  } else {
    lastParts = [];
    lastJoined = undefined;
  }
  return joined;
}

/**
 * What waits in the recvq for a flood token: a line, or a WebSocket control frame (PING, whose
 * PONG is sent when its turn comes, or PONG), which costs a token like a line.
 */
type Received =
  | { line: string; bytes: number; problem: LineProblem | undefined }
  | { control: true; bytes: number; ping: Buffer | undefined };

export class Connection {
  readonly id = nextId++;
  ip: string;
  readonly port: number;
  secure: boolean;
  readonly connectedAt = Date.now();
  /** Last time any line arrived (ping timer). */
  lastRead = Date.now();
  /** When a PING was sent for which no reply has come yet (0 = none). */
  pingSentAt = 0;
  closed = false;
  bytesIn = 0;
  bytesOut = 0;
  linesIn = 0;
  linesOut = 0;
  /** The listener that accepted it, "address:port" (a metrics label). */
  listener = '';

  private partial: Buffer | null = null;
  private queue: Received[] = [];
  private queuedBytes = 0;
  private busy = false;
  /** The peer half-closed (FIN): no more input comes, and what waits in the recvq runs without waiting for tokens. */
  private ended = false;
  /** Ended with nothing left to answer: new output is dropped (peerEnded). */
  private silenced = false;
  private tokens: number;
  private tokensAt = Date.now();
  private out: Buffer[] = [];
  private outBytes = 0;
  /**
   * Lines written as text since the last Buffer: a burst of replies (the welcome, WHO, NAMES)
   * becomes one string and one Buffer instead of one of each per line.
   */
  private outText = '';
  /** Lines that go out after everything else of this tick. */
  private lastText = '';

  constructor(
    readonly socket: Transport,
    private owner: ConnectionOwner,
    public klass: ClassConfig,
    public limits: LineLimits,
    /** The server's one flush queue (net/flush.ts). */
    readonly flushes: FlushQueue,
    /** The client behind a proxy (PROXY protocol header), when it is not the socket's peer. */
    peer?: Peer,
  ) {
    this.ip = peer?.ip ?? normalizeIp(socket.remoteAddress ?? '0.0.0.0');
    this.port = peer?.port ?? socket.remotePort ?? 0;
    this.secure = socket instanceof TLSSocket || (socket instanceof WebSocketTransport && socket.secure) || !!peer?.secure;
    this.tokens = klass.flood.burst;
    socket.setNoDelay(true);
    // A client's FIN leaves the socket open for writing: the lines it sent before (a QUIT after a
    // burst) are still handled and answered (onEnd), and close() ends it. (Sockets still in a TLS
    // handshake or a WebSocket upgrade close on FIN, as the listener made them.)
    if (socket instanceof Socket) socket.allowHalfOpen = true;
    (socket as OwnedSocket)[CONNECTION] = this;
    socket.on('data', onSocketData);
    socket.on('error', onSocketError);
    socket.on('end', onSocketEnd);
    socket.on('close', onSocketClose);
    if (socket instanceof WebSocketTransport) {
      socket.on('control', onWebSocketControl);
      socket.on('closeRequested', onWebSocketCloseRequested);
    }
  }

  /** The client's real address as a trusted gateway told it (WEBIRC), and the class it gets. */
  readdress(ip: string, secure: boolean, klass: ClassConfig): void {
    this.ip = ip;
    this.secure = secure;
    this.klass = klass;
    this.tokens = Math.min(this.tokens, klass.flood.burst);
  }

  get sendqBytes(): number {
    // Text counts in UTF-16 units here (bytes once it is a Buffer): close enough for a limit.
    return this.outBytes + this.outText.length + this.lastText.length + this.socket.writableLength;
  }

  /** SHA-256 fingerprint of the client's TLS certificate (lowercase hex, no colons), if it sent one. */
  get certFingerprint(): string | undefined {
    // By the socket, not `secure`: a WebIRC user may be secure behind a plain gateway link.
    const socket = this.socket;
    if (!(socket instanceof TLSSocket || socket instanceof WebSocketTransport)) return undefined;
    const fp = socket.getPeerCertificate()?.fingerprint256;
    return fp ? fp.replace(/:/g, '').toLowerCase() : undefined;
  }

  get recvqBytes(): number {
    return this.queuedBytes + (this.partial?.length ?? 0);
  }

  onData(chunk: Buffer): void {
    if (this.closed) return;
    if (this.bytesIn === 0 && chunk[0] === TLS_HANDSHAKE && !(this.socket instanceof TLSSocket) && !(this.socket instanceof WebSocketTransport)) {
      this.close({ kind: 'other', text: TLS_ON_PLAINTEXT });
      return;
    }
    this.bytesIn += chunk.length;
    let buf = this.partial ? Buffer.concat([this.partial, chunk]) : chunk;
    this.partial = null;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(LF, start);
      if (nl === -1) break;
      let end = nl;
      if (end > start && buf[end - 1] === 0x0d) end--;
      if (end > start) this.enqueue(buf, start, end);
      start = nl + 1;
    }
    if (start < buf.length) {
      buf = buf.subarray(start);
      // Copy so the (possibly large) read chunk is not kept alive by a small tail.
      this.partial = Buffer.from(buf);
    }
    this.received();
  }

  /**
   * A WebSocket PING or PONG frame of `bytes` on the wire. It queues behind the lines and costs a
   * flood token like one, so a flood of control frames is slowed and bounded as a flood of lines
   * is (PONGs wait, and a full recvq is "Excess Flood"); a PING is answered when its turn comes.
   */
  onControlFrame(bytes: number, ping: Buffer | undefined): void {
    if (this.closed) return;
    this.queue.push({ control: true, bytes, ping });
    this.queuedBytes += bytes;
    this.received();
  }

  /**
   * The peer sent FIN (listeners allow half-open sockets). Lines it sent before still count: a
   * burst ending in QUIT keeps its reason instead of becoming "Connection closed". They were held
   * only by flood tokens and already fit the recvq, so they run now, and the connection closes
   * once they are done. An unterminated last line is dropped.
   */
  onEnd(): void {
    if (this.closed) return;
    this.ended = true;
    this.partial = null;
    this.pump();
  }

  /**
   * The peer's FIN arrived and its end waits its turn. With none of its lines left to answer, the
   * connection only waits to close: what others send it meanwhile (the QUITs of a mass disconnect)
   * is dropped instead of written to a peer that is most likely gone. What was queued before, and
   * the farewell ERROR, still go out.
   */
  peerEnded(): void {
    if (this.queue.length === 0 && !this.busy) this.silenced = true;
  }

  /** Enforces the class recvq on what just arrived, then handles what the flood tokens allow. */
  private received(): void {
    if (this.recvqBytes > this.klass.recvq) {
      this.close({ kind: 'flood', text: 'Excess Flood' });
      return;
    }
    this.pump();
  }

  private enqueue(buf: Buffer, start: number, end: number): void {
    this.linesIn++;
    let problem: LineProblem | undefined;
    let tagEnd = start;
    if (buf[start] === 0x40 /* @ */) {
      const sp = buf.indexOf(0x20, start);
      tagEnd = sp === -1 ? end : sp + 1;
    }
    if (tagEnd - start > this.limits.tagLength || end - tagEnd + 2 > this.limits.lineLength) problem = 'too-long';
    let ascii = true;
    for (let i = start; i < end; i++) {
      const b = buf[i]!;
      if (b === 0) problem ??= 'nul';
      else if (b === 0x0d) problem ??= 'cr';
      if (b >= 0x80) ascii = false;
    }
    let line: string;
    if (ascii) line = buf.toString('latin1', start, end);
    else {
      try {
        line = utf8.decode(buf.subarray(start, end));
      } catch {
        problem ??= 'invalid-utf8';
        line = buf.toString('utf8', start, end); // with U+FFFD replacements
      }
    }
    this.queue.push({ line, bytes: end - start, problem });
    this.queuedBytes += end - start;
  }

  /** Handles queued lines as flood tokens allow. */
  pump(): void {
    if (this.busy) return;
    while (this.queue.length > 0 && !this.closed) {
      this.refill();
      if (this.tokens < 1 && !this.ended) {
        this.owner.throttled(this);
        return;
      }
      this.tokens -= 1;
      const item = this.queue.shift()!;
      this.queuedBytes -= item.bytes;
      this.lastRead = Date.now();
      this.pingSentAt = 0;
      if ('control' in item) {
        if (item.ping) this.pong(item.ping);
        continue;
      }
      const pending = this.owner.handleLine(this, item.line, item.problem);
      if (pending) {
        this.busy = true;
        pending.finally(() => {
          this.busy = false;
          this.pump();
        });
        return;
      }
    }
    // An emptied queue keeps its grown backing store; an idle connection should not.
    if (this.queue.length === 0) this.queue = [];
    if (this.ended && !this.closed) this.close({ kind: 'closed', text: 'Connection closed' });
  }

  /**
   * Takes `extra` flood tokens beyond the one every line costs (a command's declared penalty). The
   * count may go below zero: the lines after an expensive command then wait until it is paid off.
   */
  charge(extra: number): void {
    this.tokens -= extra;
  }

  get hasQueuedLines(): boolean {
    return this.queue.length > 0;
  }

  private refill(): void {
    const now = Date.now();
    const f = this.klass.flood;
    if (this.tokens < f.burst) {
      this.tokens = Math.min(f.burst, this.tokens + ((now - this.tokensAt) / 1000) * f.rate);
    }
    this.tokensAt = now;
  }

  /** True when nothing waits for this tick's flush (the first write schedules it). */
  private get idle(): boolean {
    return this.out.length === 0 && this.outText === '' && this.lastText === '';
  }

  /** Queues bytes for the next batched write of this tick. */
  write(buf: Buffer): void {
    if (this.closed || this.silenced) return;
    if (this.idle) this.flushes.scheduleFlush(this);
    else if (this.outText !== '') this.takeText();
    this.out.push(buf);
    this.outBytes += buf.length;
    this.queued();
  }

  /** Queues one line (with its CRLF) of text for the next batched write of this tick. */
  writeText(line: string): void {
    if (this.closed || this.silenced) return;
    if (this.idle) this.flushes.scheduleFlush(this);
    this.outText += line;
    this.queued();
  }

  /**
   * Queues a line to go after everything else written this tick (see the PONG in registration.ts).
   */
  writeAfterTick(line: string): void {
    if (this.closed || this.silenced) return;
    if (this.idle) this.flushes.scheduleFlush(this);
    this.lastText += line;
    this.queued();
  }

  /** Counts a queued line and enforces the class sendq. */
  private queued(): void {
    this.linesOut++;
    this.checkSendq();
  }

  private checkSendq(): void {
    if (this.sendqBytes > this.klass.sendq) this.close({ kind: 'sendq', text: 'SendQ exceeded' });
  }

  /** Answers a WebSocket PING frame; the PONG is output like any other, within the sendq. */
  private pong(payload: Buffer): void {
    this.socket.pong!(payload);
    this.checkSendq();
  }

  /** Moves the queued text into the Buffer queue, keeping the order of what was written. */
  private takeText(): void {
    const buf = Buffer.from(this.outText, 'utf8');
    this.outText = '';
    this.out.push(buf);
    this.outBytes += buf.length;
  }

  flush(): void {
    if (this.lastText !== '') {
      this.outText += this.lastText;
      this.lastText = '';
    }
    if (this.socket.destroyed) return;
    // Text alone goes to the socket as a string: Node encodes it straight into the write without
    // a Buffer of our own (cheaper for the common reply-only tick, ~2 µs on a welcome burst).
    if (this.out.length === 0) {
      if (this.outText === '') return;
      const text = this.outText;
      this.outText = '';
      this.bytesOut += Buffer.byteLength(text, 'utf8');
      this.socket.write(text);
      return;
    }
    if (this.outText !== '') this.takeText();
    const data = this.out.length === 1 ? this.out[0]! : joinShared(this.out, this.outBytes);
    this.out = [];
    this.bytesOut += this.outBytes;
    this.outBytes = 0;
    this.socket.write(data);
  }

  /**
   * Sends an ERROR line, flushes what is queued and closes. The owner hears about it once, when
   * the close's turn comes (finishClose); from now on nothing more is read or queued.
   * The ERROR line (and a WebSocket's CLOSE frame after it) counts against the sendq like any
   * output: when it does not fit, everything queued is dropped instead, as for a sendq overflow,
   * since that client is not reading anyway.
   */
  close(reason: DisconnectReason, errorLine?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.queuedBytes = 0;
    this.partial = null;
    const farewell = this.socket.destroyed ? '' : (errorLine ?? `ERROR :Closing Link: ${this.ip} (${reason.text})`) + '\r\n';
    this.outText += this.lastText + farewell;
    this.lastText = '';
    if (this.sendqBytes > this.klass.sendq) {
      this.out = [];
      this.outBytes = 0;
      this.outText = '';
      this.socket.destroy();
    } else if (farewell) this.linesOut++;
    socketEnds.push({ conn: this, step: 'finish', reason });
  }

  /**
   * The rest of close(), in its turn: what is queued goes out, the socket ends, and the owner is
   * told in the same turn (its user's quit is done before the client can act on its ERROR).
   */
  finishClose(reason: DisconnectReason): void {
    if (!this.socket.destroyed) {
      this.flush();
      // Once the ERROR line is handed to the kernel the socket is done: don't wait for the peer's
      // FIN (a client that never closes would hold it, and a shutdown, open), and a peer that
      // never reads must not hold it either.
      this.socket.end(() => this.socket.destroy());
      setTimeout(() => this.socket.destroy(), 5000).unref();
    }
    this.owner.connectionClosed(this, reason);
  }
}
