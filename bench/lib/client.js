// Lean IRC client connection for load generation.
//
// Hot-path rules: raw node:net sockets with Nagle off; reads go through the
// socket `onread` hook into one process-wide buffer (this skips the Readable
// stream machinery and a Buffer allocation per read, which otherwise costs
// more than parsing the lines); lines are split on that Buffer by searching
// for 0x0a (no string decoding of lines nobody reads) and dispatched to one
// shared handler object per process (no per-line closures or promises);
// writes are coalesced: send() appends to a per-socket string and a single
// setImmediate per event-loop turn does one socket.write per dirty socket.
// Over TLS (--tls) the same hooks sit on a tls.connect socket: onread then
// receives the decrypted bytes.
import net from 'node:net';
import tls from 'node:tls';
import { monoUs } from './clock.js';
import { Histogram, Reasons } from './stats.js';

export const CONNECTING = 0;
export const REGISTERED = 1;
export const CLOSED = 2;

const MAX_LINE_BYTES = 1 << 20; // a server sending 1 MiB without a newline is broken

// ---- batched writes -------------------------------------------------------

const dirty = [];
let flushScheduled = false;

function flushAll() {
  flushScheduled = false;
  for (let i = 0; i < dirty.length; i++) {
    const c = dirty[i];
    c.dirty = false;
    if (c.state !== CLOSED && c.out.length !== 0) {
      // A false return means userland buffering (server not reading fast enough).
      if (!c.socket.write(c.out, 'latin1')) c.backpressured++;
    }
    c.out = '';
  }
  dirty.length = 0;
}

// ---- socket event trampolines (shared functions, `this` is the socket) ------

// Every read lands here; each chunk is fully consumed before the next read,
// so one buffer serves all sockets of the process.
const READ_BUF = Buffer.allocUnsafe(256 * 1024);

// A batched socket whose read was this big keeps reading: its kernel buffer
// must never fill up, or the server would see a slow client.
const BATCH_KEEP_READING = 32 * 1024;

function onSocketRead(nread, buf) {
  const c = this.ircConn;
  c.ingest(buf, nread);
  // false pauses the socket until the batch timer resumes it
  return !c.batched || nread >= BATCH_KEEP_READING;
}
function onSocketError(err) {
  this.ircConn.lastError = err.code || err.message;
}
function onSocketClose() {
  this.ircConn.closed();
}
function onSecureConnect() {
  const c = this.ircConn;
  c.handler.onHandshake(c, monoUs());
}

// ---- TLS -------------------------------------------------------------------
//
// 'full': every connection does a full handshake (the server's certificate is
// self-signed and not checked: the bench measures the server, not a PKI).
// 'resume': connections offer the last session ticket this process received,
// so the server may resume instead (what a reconnecting client does).
let lastSession = null;
function onSession(session) {
  lastSession = session;
}

export function tlsMode(opt) {
  if (opt === undefined || opt === null || opt === false || opt === 'false' || opt === 0) return null;
  if (opt === true || opt === 'full' || opt === 1) return 'full';
  if (opt === 'resume') return 'resume';
  throw new Error(`--tls ${opt}: full or resume (or no --tls for plaintext)`);
}

// ---- batched reading ---------------------------------------------------------
//
// A batched connection reads at most once per interval: after each read the
// socket is paused, and a process-wide 1 ms timer resumes it again when its
// turn comes. The server's work is unchanged -- it still writes each line to
// each socket as it produces it and the kernel buffer holds it -- but the
// generator pays one read syscall and one JS call per batch instead of per
// line. Connections are spread over the interval's 1 ms slots so that eager
// connections never wait behind one huge burst. Latency is only meaningful on
// eager (non-batched) connections.

let batchMs = 10;
let slots = [];
let slotIdx = 0;
let batchedCount = 0;
let nextSlot = 0;
let batchTimer = null;

export function setBatchInterval(ms) {
  if (batchedCount !== 0) throw new Error('change the batch interval before batching connections');
  batchMs = Math.max(1, Math.round(ms));
}

function resumeBatchedSlot() {
  const slot = slots[slotIdx];
  slotIdx = slotIdx + 1 === slots.length ? 0 : slotIdx + 1;
  for (let i = 0; i < slot.length; i++) {
    const c = slot[i];
    if (c.batched && c.state !== CLOSED) c.socket.resume();
  }
}

function addBatched(c) {
  if (batchedCount++ === 0) {
    slots = Array.from({ length: batchMs }, () => []);
    slotIdx = 0;
    nextSlot = 0;
    batchTimer = setInterval(resumeBatchedSlot, 1);
  }
  c.batchSlot = nextSlot;
  slots[nextSlot].push(c);
  nextSlot = nextSlot + 1 === batchMs ? 0 : nextSlot + 1;
}

function removeBatched(c) {
  const slot = slots[c.batchSlot];
  const i = slot.indexOf(c);
  if (i >= 0) slot.splice(i, 1);
  if (--batchedCount === 0) {
    clearInterval(batchTimer);
    batchTimer = null;
  }
}

// ---- connection -------------------------------------------------------------

export class Conn {
  /**
   * @param {number} id globally unique client number; the nick is b<id>
   * @param {Handler} handler per-process event sink
   */
  constructor(id, handler) {
    this.id = id;
    this.nick = 'b' + id;
    this.handler = handler;
    this.socket = null;
    this.state = CONNECTING;
    this.out = '';
    this.dirty = false;
    this.rest = null; // unterminated tail of the previous chunk
    this.startedAt = 0; // monoUs when connect() was called
    this.registeredAt = 0; // monoUs of 001
    this.readyAt = 0; // monoUs when registered and all JOINs answered
    this.settled = false; // registration/join outcome already counted
    this.joinsPending = 0;
    this.joinFailed = '';
    this.nickTries = 0;
    this.quitting = false;
    this.closeReason = ''; // from an ERROR line or a fatal numeric
    this.lastError = ''; // socket error code
    this.backpressured = 0;
    this.batched = false;
    this.batchSlot = 0;
    this.app = null; // scenario-specific state
  }

  /** @param {null|'full'|'resume'} tlsMode see tlsMode() */
  connect(host, port, localAddress, tlsMode = null) {
    this.startedAt = monoUs();
    const opts = { host, port, noDelay: true, onread: { buffer: READ_BUF, callback: onSocketRead } };
    if (localAddress) opts.localAddress = localAddress;
    let s;
    if (tlsMode) {
      opts.rejectUnauthorized = false;
      if (tlsMode === 'resume' && lastSession) opts.session = lastSession;
      s = tls.connect(opts);
      s.on('secureConnect', onSecureConnect);
      if (tlsMode === 'resume') s.on('session', onSession);
    } else {
      s = net.connect(opts);
    }
    s.setNoDelay(true);
    s.ircConn = this;
    s.on('error', onSocketError);
    s.on('close', onSocketClose);
    this.socket = s;
    // Queued before the TCP handshake completes; node sends it on connect.
    this.send(`NICK ${this.nick}\r\nUSER ${this.nick} 0 * :bench\r\n`);
  }

  /** Queue raw protocol text (must end in \r\n); written once per loop turn. */
  send(text) {
    this.out += text;
    if (!this.dirty) {
      this.dirty = true;
      dirty.push(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushAll);
      }
    }
  }

  /** Switch between eager reading (every line as it arrives) and batched reading. */
  setBatched(on) {
    if (on === this.batched) return;
    this.batched = on;
    if (on) {
      addBatched(this);
    } else {
      removeBatched(this);
      if (this.state !== CLOSED) this.socket.resume();
    }
  }

  quit(msg = 'bench done') {
    if (this.state === CLOSED || this.quitting) return;
    this.quitting = true;
    this.send(`QUIT :${msg}\r\n`);
  }

  destroy() {
    if (this.socket && this.state !== CLOSED) this.socket.destroy();
  }

  ingest(chunk, n) {
    // One clock read per chunk: every line in it arrived in the same read.
    const now = monoUs();
    // A view bounded to this read, so indexOf never scans stale bytes.
    let buf = chunk.subarray(0, n);
    if (this.rest !== null) {
      buf = Buffer.concat([this.rest, buf]);
      this.rest = null;
    }
    const len = buf.length;
    let pos = 0;
    let nl;
    while ((nl = buf.indexOf(0x0a, pos)) !== -1) {
      let end = nl;
      if (end > pos && buf[end - 1] === 0x0d) end--;
      if (end > pos) this.line(buf, pos, end, now);
      pos = nl + 1;
      if (this.state === CLOSED) return;
    }
    if (pos < len) {
      if (len - pos > MAX_LINE_BYTES) {
        this.closeReason = 'line too long';
        this.destroy();
        return;
      }
      this.rest = Buffer.from(buf.subarray(pos, len)); // copy: the read buffer is reused
    }
  }

  /** Parse one line in place: [@tags ][:prefix ]COMMAND params. */
  line(b, s, e, now) {
    let p = s;
    if (b[p] === 0x40 /* @ */) {
      p = b.indexOf(0x20, p) + 1;
      if (p === 0 || p >= e) return;
    }
    if (b[p] === 0x3a /* : */) {
      p = b.indexOf(0x20, p) + 1;
      if (p === 0 || p >= e) return;
    }
    let q = p;
    while (q < e && b[q] !== 0x20) q++;
    const len = q - p;
    const args = q < e ? q + 1 : e;
    const c0 = b[p];

    if (len === 7 && c0 === 0x50 /* P */ && b[p + 1] === 0x52 /* R */) {
      // PRIVMSG <target> :<text> -- skip the target, hand over the text span.
      let t = args;
      while (t < e && b[t] !== 0x20) t++;
      t++;
      if (t < e && b[t] === 0x3a) t++;
      this.handler.onPrivmsg(this, b, t, e, now);
      return;
    }
    if (len === 3 && c0 >= 0x30 && c0 <= 0x39) {
      const code = (c0 - 48) * 100 + (b[p + 1] - 48) * 10 + (b[p + 2] - 48);
      this.numeric(code, b, args, e, now);
      return;
    }
    if (len === 4 && c0 === 0x50 /* P */ && b[p + 1] === 0x49 /* I */) {
      this.send('PONG ' + b.toString('latin1', args, e) + '\r\n');
      return;
    }
    if (len === 5 && c0 === 0x45 /* E */ && b[p + 1] === 0x52 /* R */) {
      let t = args;
      if (b[t] === 0x3a) t++;
      this.closeReason = 'ERROR ' + b.toString('latin1', t, e);
      return;
    }
    // JOIN, PART, QUIT, NOTICE, MODE, ... are not needed by any scenario.
  }

  numeric(code, b, s, e, now) {
    if (code === 1) {
      if (this.state !== CONNECTING) return;
      this.state = REGISTERED;
      this.registeredAt = now;
      // 001's first parameter is the nick the server gave us.
      const sp = b.indexOf(0x20, s);
      if (sp > s && sp < e) this.nick = b.toString('latin1', s, sp);
      this.handler.onRegistered(this, now);
      return;
    }
    if ((code === 433 || code === 436) && this.state === CONNECTING) {
      // Nick in use (e.g. a stale session): retry with a short suffix.
      if (++this.nickTries > 5) {
        this.closeReason = `${code} nickname in use (gave up)`;
        this.destroy();
        return;
      }
      this.nick = `b${this.id}_${this.nickTries}`;
      this.send(`NICK ${this.nick}\r\n`);
      return;
    }
    if ((code === 432 || code === 465) && this.state === CONNECTING) {
      this.closeReason = `${code} ${b.toString('latin1', s, e)}`;
      this.destroy();
      return;
    }
    this.handler.onNumeric(this, code, b, s, e, now);
  }

  closed() {
    if (this.state === CLOSED) return;
    if (this.batched) {
      this.batched = false;
      removeBatched(this);
    }
    this.state = CLOSED;
    this.dirty = false;
    this.out = '';
    let reason = this.closeReason || this.lastError || 'closed by server';
    if (this.quitting) reason = 'quit';
    this.handler.onClosed(this, reason, monoUs());
  }
}

// ---- handler ----------------------------------------------------------------

/**
 * Base event sink. Tracks the readiness of every connection: registered (001)
 * and, if joinChannels() returns any, answered with RPL_ENDOFNAMES or a join
 * error for each channel. Scenario handlers extend it and override onPrivmsg
 * (and call super for the others).
 */
export class Handler {
  constructor() {
    this.regLatency = new Histogram(); // connect() -> 001
    this.handshakeLatency = new Histogram(); // connect() -> TLS handshake done (TLS only)
    this.resumed = 0; // TLS handshakes that resumed a session
    this.joinLatency = new Histogram(); // 001 -> last 366
    this.failures = new Reasons(); // never became ready (incl. join errors)
    this.disconnects = new Reasons(); // closed after becoming ready, not by us
    this.readyCount = 0;
    this.pending = 0;
    this.onAllSettled = null;
  }

  /** Channels a freshly registered connection joins; override. */
  joinChannels(_conn) {
    return null;
  }

  onRegistered(conn, now) {
    this.regLatency.record(now - conn.startedAt);
    const chans = this.joinChannels(conn);
    if (!chans || chans.length === 0) {
      this.settle(conn, now, '');
      return;
    }
    conn.joinsPending = chans.length;
    // Keep each JOIN line well under 512 bytes.
    let line = '';
    for (const ch of chans) {
      if (line.length + ch.length > 400) {
        conn.send(`JOIN ${line}\r\n`);
        line = '';
      }
      line = line ? `${line},${ch}` : ch;
    }
    conn.send(`JOIN ${line}\r\n`);
  }

  onNumeric(conn, code, b, s, e, now) {
    if (conn.joinsPending === 0) return;
    const joinErr =
      code === 403 || code === 405 || code === 471 || code === 473 ||
      code === 474 || code === 475 || code === 476 || code === 477 || code === 489;
    if (code === 366 || joinErr) {
      if (joinErr && !conn.joinFailed) conn.joinFailed = `${code} ${b.toString('latin1', s, e)}`;
      if (--conn.joinsPending === 0) {
        if (!conn.joinFailed) this.joinLatency.record(now - conn.registeredAt);
        this.settle(conn, now, conn.joinFailed);
      }
    }
  }

  onPrivmsg(_conn, _b, _s, _e, _now) {}

  onHandshake(conn, now) {
    this.handshakeLatency.record(now - conn.startedAt);
    if (conn.socket.isSessionReused()) this.resumed++;
  }

  onClosed(conn, reason, now) {
    if (!conn.settled) this.settle(conn, now, reason);
    else if (!conn.quitting && conn.readyAt !== 0) this.disconnects.add(reason);
  }

  settle(conn, now, failure) {
    if (conn.settled) return;
    conn.settled = true;
    if (failure) {
      this.failures.add(failure);
    } else {
      conn.readyAt = now;
      this.readyCount++;
    }
    if (--this.pending === 0 && this.onAllSettled) this.onAllSettled();
  }
}

/** A handler whose user i joins C consecutive channels (named prefix + number) of a pool sized for ~channelSize members each. */
export class PoolHandler extends Handler {
  constructor(channels, poolSize, prefix) {
    super();
    this.channels = channels;
    this.poolSize = poolSize;
    this.prefix = prefix;
  }

  joinChannels(conn) {
    if (!this.channels) return null;
    const list = [];
    for (let k = 0; k < this.channels; k++) list.push(this.prefix + ((conn.id * this.channels + k) % this.poolSize));
    return list;
  }
}
