// Server links (TS6): the links of this server, the handshake, the burst, and what goes over a
// link when State changes. A change applied from a link is announced by State like any other;
// `from` names that link while it is applied, so the change goes to every other link and never
// back to the one it came from.
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md
import { connect, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { verifyPassword } from '../../auth/password.js';
import { isLoopback, type ClassConfig, type LinkConfig, type ListenConfig } from '../../config/schema.js';
import { Connection, type ConnectionOwner, type LineProblem } from '../../net/connection.js';
import { readTls } from '../../net/listener.js';
import type { DisconnectReason } from '../../net/disconnect.js';
import { normalizeIp } from '../../protocol/mask.js';
import { parseMessage, serializeMessage, type Message } from '../../protocol/message.js';
import type { Channel } from '../../server/channel.js';
import type { Server } from '../../server/server.js';
import type { ServerEntry, SplitPlan } from '../../server/state.js';
import type { User } from '../../server/user.js';
import { serverNotice } from '../oper.js';
import { fromPeer, ourCapab, ourTable, peerTable, REQUIRED_CAPABS, toPeer, type ModeTable } from './dialect.js';
import { channelTs, makeUid, SID_RE, userIds } from './ids.js';

/** Seconds a link may take from connect to the end of its handshake (SVINFO). */
const HANDSHAKE_SECONDS = 30;
/** Snomask letter of this server's own link events (events.ts has the network's). */
export const SNO_LINKS = 's';
/** The least recvq a link gets: a socket read of a burst may hold this much. */
const LINK_RECVQ = 1 << 20;
/** Incoming links in their handshake at once; more are closed at once (a bound on what a link address can open). */
const MAX_HANDSHAKES = 8;
/** Largest difference of clocks (seconds) SVINFO accepts, as TS6 servers do by default. */
const MAX_CLOCK_DELTA = 60;
/** Milliseconds of a split's quits applied per event-loop turn (a netsplit of thousands of users). */
const SPLIT_SLICE_MS = 5;

/**
 * What the link module's other files give the Network (index.ts wires them): how a server's line
 * is applied (inbound.ts), which local users stay out of bursts (services.ts), and what the SASL
 * agent adds to a burst (sasl.ts). Given, not imported, since those files build on the Network.
 */
export interface NetworkParts {
  applyLine(net: Network, link: Link, msg: Message): void;
  staysHome(net: Network, user: User): boolean;
  agentBurst(net: Network): Message[];
}

export interface Link {
  conn: Connection;
  /** Our [[link]] block for it, known once it named itself (SERVER), or when we connected. */
  cfg: LinkConfig | undefined;
  outgoing: boolean;
  phase: 'handshake' | 'up';
  /** The SID it sent in PASS, and whether that password matched. */
  theirSid: string | undefined;
  password: string | undefined;
  name: string | undefined;
  description: string;
  /** The server it is, in State, once up. */
  peer: ServerEntry | undefined;
  /** Its burst has not ended yet (our PING not answered). */
  bursting: boolean;
  /** When the handshake ended (ms), and how long the peer's burst took then (events.ts). */
  upAt: number;
  burstSeconds: number | undefined;
  /** Lines of it not applied (malformed, or from the wrong direction), for the log's bound. */
  ignored: number;
  /** The capabilities of its CAPAB, and its mode letters (dialect.ts). */
  caps: ReadonlySet<string>;
  modes: ModeTable;
  /** It speaks exactly as we do (our modes, EUID): lines go to it untranslated. */
  native: boolean;
  handshakeTimer: NodeJS.Timeout | undefined;
}

export class Network implements ConnectionOwner {
  readonly links = new Set<Link>();
  private readonly byConn = new Map<Connection, Link>();
  /** The link of each server linked directly to this one. */
  readonly byPeer = new Map<ServerEntry, Link>();
  readonly bySid = new Map<string, ServerEntry>();
  readonly byUid = new Map<string, User>();
  /**
   * Each linked server's capabilities (its CAPAB, or ENCAP GCAP for one further away): told to
   * the other links, which decide by them whether a user of that server can be saved (ts6.md).
   */
  readonly gcaps = new Map<string, string>();
  /** The link whose line is being applied: State's events of that change do not go back to it. */
  from: Link | undefined;
  /** The line being applied went on to the other links as it came: State's events of it send nothing (services.ts). */
  quiet = false;
  /** A slice of a split is being applied: its users' quits are told as one SQUIT, not one QUIT each. */
  splitting = false;
  /**
   * Splits waiting or under way, the first being applied. Thousands of users quitting take a few
   * hundred milliseconds, so a split is applied SPLIT_SLICE_MS per event-loop turn; meanwhile
   * every link's lines wait (handleLine), so nothing a server says meets a half-split network (a
   * relinking server's burst meeting users not yet gone). Clients go on, and see the users quit.
   */
  private readonly splits: { server: ServerEntry; reason: string; from: Link | undefined; plan?: SplitPlan }[] = [];
  /** Settles when `splits` is empty again (undefined while it is). */
  private splitsDone: { promise: Promise<void>; resolve: () => void } | undefined;
  /** A nick collision is renaming a user to its UID: collisions.ts tells the links (SAVE), not the nick change. */
  saving = false;
  private uidSeq = 0;
  private readonly retries = new Map<string, NodeJS.Timeout>();
  /** Names of [[link]] blocks with a connect in progress. */
  private readonly connecting = new Set<string>();
  private pingTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  /** Our channel and user modes, as dialect.ts compares them with a peer's. */
  readonly ourModes: ModeTable;

  constructor(
    readonly server: Server,
    private readonly parts: NetworkParts,
  ) {
    this.ourModes = ourTable(server);
  }

  get sid(): string {
    return this.server.state.me.sid!;
  }

  // ---- identities ---------------------------------------------------------------------------

  /** The UID of a user: a local user gets one the first time it is needed. */
  ids(user: User): { uid: string; ts: number; home: ServerEntry | undefined } {
    return userIds.getOrCreate(user, () => ({ uid: makeUid(this.sid, this.uidSeq++), ts: Math.floor(user.signonAt / 1000), home: undefined }));
  }

  uid(user: User): string {
    const ids = this.ids(user);
    if (!ids.home) this.byUid.set(ids.uid, user);
    return ids.uid;
  }

  channelTs(channel: Channel): number {
    return channelTs.get(channel)?.ts ?? channel.createdAt;
  }

  /** The link through which a server is reached (undefined for this server). */
  linkToward(server: ServerEntry | undefined): Link | undefined {
    let at = server;
    while (at?.uplink && at.uplink !== this.server.state.me) at = at.uplink;
    return at ? this.byPeer.get(at) : undefined;
  }

  /** The link a user is reached through; undefined for a user of this server. */
  linkOfUser(user: User): Link | undefined {
    const home = userIds.get(user)?.home;
    return home ? this.linkToward(home) : undefined;
  }

  sidOf(server: ServerEntry): string {
    return server.sid ?? this.sid;
  }

  // ---- sending ------------------------------------------------------------------------------

  send(link: Link, msg: Message): void {
    if (link.native) return link.conn.writeText(serializeMessage(msg) + '\r\n');
    for (const line of toPeer(this.ourModes, link.modes, link.caps, msg)) link.conn.writeText(serializeMessage(line) + '\r\n');
  }

  /** To every link that is up, but the one the change came from (and `except`). */
  broadcast(msg: Message, except?: Link): void {
    if (this.quiet) return;
    const line = serializeMessage(msg) + '\r\n';
    for (const link of this.links)
      if (link.phase === 'up' && link !== this.from && link !== except) {
        if (link.native) link.conn.writeText(line);
        else this.send(link, msg);
      }
  }

  // ---- connections --------------------------------------------------------------------------

  private classOf(cfg: LinkConfig | undefined): ClassConfig {
    const config = this.server.config;
    const klass = config.class.find((c) => c.name === (cfg?.class ?? 'default')) ?? config.class[0]!;
    // Servers send bursts: flood tokens do not apply to them, and a read of a burst may be
    // larger than a client's recvq (the lines are applied as they arrive); the sendq applies.
    return { ...klass, recvq: Math.max(klass.recvq, LINK_RECVQ), flood: { burst: 100000, rate: 1000000 } };
  }

  private open(socket: Socket, cfg: LinkConfig | undefined, outgoing: boolean): Link {
    const conn = new Connection(socket, this, this.classOf(cfg), this.server.lineLimits(), this.server.flushes);
    const link: Link = {
      conn,
      cfg,
      outgoing,
      phase: 'handshake',
      theirSid: undefined,
      password: undefined,
      name: undefined,
      description: '',
      peer: undefined,
      bursting: false,
      upAt: 0,
      burstSeconds: undefined,
      ignored: 0,
      caps: new Set(),
      modes: this.ourModes,
      native: false,
      handshakeTimer: setTimeout(() => this.drop(link, 'Handshake timeout'), HANDSHAKE_SECONDS * 1000),
    };
    link.handshakeTimer!.unref();
    this.links.add(link);
    this.byConn.set(conn, link);
    return link;
  }

  /** A socket on a `servers = true` listener. */
  accept(socket: Socket, _listener: ListenConfig): void {
    if (this.stopped) return void socket.destroy();
    const ip = normalizeIp(socket.remoteAddress ?? '');
    // Only addresses of [[link]] blocks: anyone else is gone before a byte is read.
    if (!this.server.config.link.some((l) => l.address === ip)) {
      this.server.log.warn({ ip }, 'server link refused: no [[link]] block has this address');
      serverNotice(this.server, SNO_LINKS, `Link from [${ip}] refused: no [[link]] block has this address`);
      return void socket.destroy();
    }
    let handshaking = 0;
    for (const l of this.links) if (l.phase === 'handshake' && !l.outgoing) handshaking++;
    if (handshaking >= MAX_HANDSHAKES) {
      this.server.log.warn({ ip }, 'server link refused: too many links in their handshake');
      return void socket.destroy();
    }
    this.open(socket, undefined, false);
  }

  /** Connects to a [[link]] block's server (autoconnect). */
  connectTo(cfg: LinkConfig): void {
    if (this.stopped || this.connecting.has(cfg.name) || this.server.state.findServer(cfg.name) || [...this.links].some((l) => l.cfg?.name === cfg.name)) return;
    this.server.log.info({ link: cfg.name, address: cfg.address, port: cfg.port, tls: cfg.tls }, 'connecting to server');
    let socket: Socket;
    try {
      socket = cfg.tls ? connectTls(this.tlsOptions(cfg)) : connect({ host: cfg.address, port: cfg.port });
    } catch (err) {
      // Our certificate files could not be read.
      this.server.log.warn({ link: cfg.name, err: (err as Error).message }, 'server link connect failed');
      return this.scheduleRetry(cfg);
    }
    this.connecting.add(cfg.name);
    const failed = (err: Error) => {
      this.connecting.delete(cfg.name);
      this.server.log.warn({ link: cfg.name, err: err.message }, 'server link connect failed');
      serverNotice(this.server, SNO_LINKS, `Connect to ${cfg.name} failed: ${err.message}`);
      socket.destroy();
      this.scheduleRetry(cfg);
    };
    socket.once('error', failed);
    socket.once(cfg.tls ? 'secureConnect' : 'connect', () => {
      this.connecting.delete(cfg.name);
      socket.off('error', failed);
      // Stopped, or a rehash removed the block while the connect was under way.
      const block = this.blockNamed(cfg.name);
      if (this.stopped || !block) return void socket.destroy();
      const link = this.open(socket, block, true);
      // Our password goes only to the certificate pinned.
      const tlsProblem = this.tlsProblem(link, block);
      if (tlsProblem) return this.refuse(link, tlsProblem);
      this.sendIntroduction(link, block);
    });
  }

  /**
   * A TLS connect: the peer's certificate is not checked against a CA (servers' are usually
   * self-signed) but by its pinned fingerprint, after the handshake; ours is the certificate of
   * our first TLS listener (servers listeners first), so the peer can pin it too.
   */
  private tlsOptions(cfg: LinkConfig): ConnectionOptions {
    const listeners = this.server.config.listen.filter((l) => l.tls);
    const mine = listeners.find((l) => l.servers) ?? listeners[0];
    return { host: cfg.address, port: cfg.port, rejectUnauthorized: false, ...(mine?.tls ? readTls(mine.tls) : {}) };
  }

  /** The [[link]] block of this name in the running config (a rehash may have changed or removed it). */
  private blockNamed(name: string): LinkConfig | undefined {
    return this.server.config.link.find((l) => l.name.toLowerCase() === name.toLowerCase());
  }

  /** A retry of the block as it is configured now: none once a rehash removed it or turned autoconnect off. */
  private scheduleRetry(cfg: LinkConfig): void {
    const now = this.blockNamed(cfg.name);
    if (this.stopped || !now?.autoconnect || this.retries.has(now.name)) return;
    const timer = setTimeout(() => {
      this.retries.delete(now.name);
      const still = this.blockNamed(now.name);
      if (still?.autoconnect) this.connectTo(still);
    }, now.retry * 1000);
    timer.unref();
    this.retries.set(now.name, timer);
  }

  /**
   * After a REHASH: the link of a removed block is dropped (SQUIT to the rest of the network) and
   * its retry cancelled; a block whose autoconnect went off stops being retried; a new block with
   * autoconnect (or one whose autoconnect came on) starts connecting. A changed block applies to
   * its next handshake: a link that is up keeps running as it was made.
   */
  rehashed(): void {
    if (this.stopped) return;
    for (const link of [...this.links]) {
      const name = link.cfg?.name;
      if (name !== undefined && !this.blockNamed(name)) {
        this.server.log.info({ link: name }, 'server link block removed by rehash; dropping its link');
        serverNotice(this.server, SNO_LINKS, `Link with ${name} dropped: its [[link]] block was removed`);
        this.drop(link, 'link block removed');
      }
    }
    for (const [name, timer] of this.retries) {
      if (this.blockNamed(name)?.autoconnect) continue;
      clearTimeout(timer);
      this.retries.delete(name);
    }
    for (const cfg of this.server.config.link) if (cfg.autoconnect && !this.retries.has(cfg.name)) this.connectTo(cfg);
  }

  start(): void {
    for (const cfg of this.server.config.link) if (cfg.autoconnect) this.connectTo(cfg);
    this.pingTimer = setInterval(() => this.keepalive(), 5000);
    this.pingTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.pingTimer);
    for (const t of this.retries.values()) clearTimeout(t);
    for (const link of [...this.links]) this.drop(link, 'Server shutting down');
  }

  /** PINGs an idle link and drops one silent past its class's ping timeout. */
  private keepalive(): void {
    const now = Date.now();
    for (const link of this.links) {
      if (link.phase !== 'up') continue;
      const k = link.conn.klass;
      const idle = now - link.conn.lastRead;
      if (idle > (k.ping_interval + k.ping_timeout) * 1000) this.drop(link, 'Ping timeout');
      else if (idle > k.ping_interval * 1000 && link.conn.pingSentAt === 0) {
        link.conn.pingSentAt = now;
        this.send(link, { source: this.sid, command: 'PING', params: [this.server.name, this.sidOf(link.peer!)] });
      }
    }
  }

  /** Closes a link with an ERROR line saying why (the split follows in connectionClosed). */
  drop(link: Link, reason: string): void {
    link.conn.close({ kind: 'other', text: reason }, `ERROR :Closing Link: ${reason}`);
  }

  handleLine(conn: Connection, line: string, problem: LineProblem | undefined): void | Promise<void> {
    const link = this.byConn.get(conn);
    if (!link || problem === 'too-long' || problem === 'nul' || problem === 'cr') return;
    let msg: Message;
    try {
      msg = parseMessage(line);
    } catch {
      return;
    }
    if (this.splitsDone) return this.splitsDone.promise.then(() => this.handleLine(conn, line, problem));
    if (link.phase === 'handshake') return this.handshake(link, msg);
    const ours = link.native ? msg : fromPeer(this.server, this.ourModes, link.modes, msg);
    if (!ours) return;
    this.from = link;
    try {
      this.parts.applyLine(this, link, ours);
    } catch (err) {
      this.server.log.error({ link: link.name, line, err: err instanceof Error ? err.stack : String(err) }, 'server link line failed');
    } finally {
      this.from = undefined;
    }
  }

  /** A link past its (large) flood allowance waits for the server's pump, like a client (never a pump inside a pump). */
  throttled(conn: Connection): void {
    this.server.throttled(conn);
  }

  connectionClosed(conn: Connection, reason: DisconnectReason): void {
    const link = this.byConn.get(conn);
    if (!link) return;
    this.byConn.delete(conn);
    this.links.delete(link);
    clearTimeout(link.handshakeTimer);
    this.server.log.warn({ link: link.name ?? conn.ip, reason: reason.text }, 'server link closed');
    if (link.peer) {
      this.byPeer.delete(link.peer);
      // A link may close while another's line is applied (its sendq overflowed): that one's `from` comes back after.
      const applying = this.from;
      this.from = link;
      try {
        this.split(link.peer, `${this.server.name} ${link.peer.name}`);
      } finally {
        this.from = applying;
      }
    }
    if (link.cfg) this.scheduleRetry(link.cfg);
  }

  /**
   * A server and everything behind it leave: State quits their users, the other links hear one
   * SQUIT. What does not fit in this turn's slice goes on in the next turns.
   */
  split(server: ServerEntry, reason: string): void {
    this.splits.push({ server, reason, from: this.from });
    // Behind a split under way: it is taken in turn.
    if (this.splits.length > 1 || this.applySplits()) return;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.splitsDone = { promise, resolve };
  }

  /** Applies waiting splits for one slice: true when none is left, else the next turn goes on. */
  private applySplits(): boolean {
    const state = this.server.state;
    // Stopping, there is no one left to answer: the split is done at once.
    const until = this.stopped ? Infinity : performance.now() + SPLIT_SLICE_MS;
    while (this.splits.length > 0) {
      const job = this.splits[0]!;
      // Planned when its turn comes: a split before it may have taken its server already.
      if (!job.plan && state.findServer(job.server.name) !== job.server) {
        this.splits.shift();
        continue;
      }
      job.plan ??= state.planSplit(job.server, job.reason);
      const applying = this.from;
      this.from = job.from;
      this.splitting = true;
      let done: boolean;
      try {
        done = state.applySplit(job.plan, until);
      } catch (err) {
        // A bug, logged; the split is given up rather than left to hold every link's lines.
        this.server.log.error({ server: job.server.name, err: err instanceof Error ? err.stack : String(err) }, 'server split failed');
        done = true;
      } finally {
        this.splitting = false;
        this.from = applying;
      }
      if (!done) {
        setImmediate(() => this.nextSplitSlice());
        return false;
      }
      this.splits.shift();
    }
    return true;
  }

  private nextSplitSlice(): void {
    if (!this.applySplits()) return;
    const done = this.splitsDone;
    this.splitsDone = undefined;
    done?.resolve();
  }

  // ---- handshake ----------------------------------------------------------------------------

  private sendIntroduction(link: Link, cfg: LinkConfig): void {
    const me = this.server.state.me;
    this.send(link, { command: 'PASS', params: [cfg.send_password, 'TS', '6', this.sid] });
    this.send(link, { command: 'CAPAB', params: [ourCapab(this.server)] });
    this.send(link, { command: 'SERVER', params: [me.name, '1', me.description || me.name] });
  }

  private async handshake(link: Link, msg: Message): Promise<void> {
    const p = msg.params;
    switch (msg.command) {
      case 'PASS':
        if (p.length < 4 || p[1] !== 'TS' || p[2] !== '6' || !SID_RE.test(p[3]!)) return this.refuse(link, 'PASS must be "PASS <password> TS 6 :<SID>"');
        link.password = p[0];
        link.theirSid = p[3];
        return;
      case 'CAPAB': {
        link.caps = new Set(p.join(' ').split(' ').filter(Boolean).slice(0, 100));
        const missing = REQUIRED_CAPABS.filter((c) => !link.caps.has(c));
        if (missing.length) return this.refuse(link, `Missing required capabilities: ${missing.join(' ')}`);
        link.modes = peerTable(link.caps);
        // One of our own daemons with the same modes: nothing to translate.
        link.native = link.caps.has('EUID') && ourCapab(this.server).split(' ').every((t) => !t.includes('=') || link.caps.has(t));
        return;
      }
      case 'SERVER':
        return this.checkServer(link, p);
      case 'SVINFO':
        return this.svinfo(link, p);
      case 'ERROR':
        this.server.log.warn({ link: link.name ?? link.conn.ip, error: p[0] }, 'server link refused by its peer');
        serverNotice(this.server, SNO_LINKS, `Link with ${link.name ?? link.conn.ip} refused by it: ${p[0] ?? ''}`);
        return void link.conn.close({ kind: 'other', text: `ERROR from peer: ${p[0] ?? ''}` }, '');
      case 'PING':
        return this.send(link, { command: 'PONG', params: [p[0] ?? ''] });
      case 'NOTICE':
        // A server that takes clients and servers on one port (Solanum) greets every connection
        // with its lookup notices before it knows a server is there.
        return;
      default:
        return this.refuse(link, `${msg.command} before the end of the handshake`);
    }
  }

  /** Why a link of block `cfg` may not go on over its connection (TLS required, fingerprint pinned), if it may not. */
  private tlsProblem(link: Link, cfg: LinkConfig): string | undefined {
    if (cfg.tls && !link.conn.secure) return `${cfg.name} must link over TLS`;
    const got = link.conn.certFingerprint;
    if (cfg.fingerprint && got !== cfg.fingerprint) return `TLS certificate fingerprint mismatch for ${cfg.name}: got ${got ?? 'no certificate'}`;
    return undefined;
  }

  /** Drops a link for breaking a rule of its block or of TS6, with a log line and a server notice saying why. */
  refuse(link: Link, reason: string): void {
    this.server.log.warn({ link: link.name ?? link.conn.ip, ip: link.conn.ip, reason }, 'server link refused');
    serverNotice(this.server, SNO_LINKS, `Link with ${link.name ?? 'unknown server'}[${link.conn.ip}] refused: ${reason}`);
    this.drop(link, reason);
  }

  private async checkServer(link: Link, p: readonly string[]): Promise<void> {
    if (p.length < 3) return this.refuse(link, 'SERVER needs a name, a hop count and a description');
    if (link.password === undefined || link.theirSid === undefined) return this.refuse(link, 'PASS must come before SERVER');
    const name = p[0]!;
    link.name = name;
    link.description = p[2]!;
    const cfg = this.blockNamed(name);
    if (!cfg) return this.refuse(link, `No link block for ${name}`);
    // The block as configured now (a rehash since the connect may have changed it).
    if (link.outgoing && cfg.name !== link.cfg!.name) return this.refuse(link, `Connected to ${link.cfg!.name} but it says it is ${name}`);
    if (!link.outgoing && cfg.address !== link.conn.ip) return this.refuse(link, `${name} may not link from ${link.conn.ip}`);
    const tlsProblem = this.tlsProblem(link, cfg);
    if (tlsProblem) return this.refuse(link, tlsProblem);
    if (!link.conn.secure && !cfg.allow_plaintext && !isLoopback(link.conn.ip)) return this.refuse(link, 'Plaintext links only on loopback');
    if (!(await verifyPassword(link.password, cfg.accept_password))) return this.refuse(link, `Bad password for ${name}`);
    if (link.conn.closed) return;
    if (this.server.state.findServer(name)) return this.refuse(link, `Server ${name} already exists`);
    if (this.bySid.has(link.theirSid) || link.theirSid === this.sid) return this.refuse(link, `SID ${link.theirSid} already exists`);
    if ([...this.links].some((l) => l !== link && l.name?.toLowerCase() === name.toLowerCase() && l.cfg))
      return this.refuse(link, `Server ${name} is already linking`);
    link.cfg = cfg;
    link.conn.klass = this.classOf(cfg);
    if (!link.outgoing) this.sendIntroduction(link, cfg);
    this.send(link, { command: 'SVINFO', params: ['6', '6', '0', String(Math.floor(Date.now() / 1000))] });
  }

  private svinfo(link: Link, p: readonly string[]): void {
    if (!link.cfg) return this.refuse(link, 'SERVER must come before SVINFO');
    if (Number(p[0]) < 6 || Number(p[1]) > 6) return this.refuse(link, 'Incompatible TS version');
    const delta = Math.abs(Number(p[3]) - Date.now() / 1000);
    if (!(delta <= MAX_CLOCK_DELTA)) return this.refuse(link, `Clocks differ by more than ${MAX_CLOCK_DELTA} seconds; fix the clock (NTP)`);
    // A rival link of the same server may have finished first.
    if (this.server.state.findServer(link.name!) || this.bySid.has(link.theirSid!)) return this.refuse(link, `Server ${link.name} already exists`);
    clearTimeout(link.handshakeTimer);
    link.phase = 'up';
    link.bursting = true;
    link.upAt = Date.now();
    const applying = this.from;
    this.from = link;
    try {
      // Known before State announces the server, so the other links hear its GCAP with its SID.
      this.gcaps.set(link.theirSid!, [...link.caps].join(' '));
      const peer = this.server.state.linkServer({ name: link.name!, sid: link.theirSid, description: link.description }, this.server.state.me);
      link.peer = peer;
      this.byPeer.set(peer, link);
      this.bySid.set(link.theirSid!, peer);
    } finally {
      this.from = applying;
    }
    this.retries.delete(link.cfg.name);
    this.server.log.info({ link: link.name, sid: link.theirSid, outgoing: link.outgoing }, 'server linked');
    serverNotice(this.server, SNO_LINKS, `Link with ${link.name}[${link.conn.ip}] established (${link.outgoing ? 'we connected' : 'it connected'}); bursting`);
    this.sendBurst(link);
  }

  // ---- burst --------------------------------------------------------------------------------

  /** Everything this side knows, but what is behind the link itself: servers, users, channels and topics; then PING. */
  private sendBurst(link: Link): void {
    const state = this.server.state;
    const servers = [...state.servers.values()].filter((s) => s !== state.me && s !== link.peer).sort((a, b) => a.hops - b.hops);
    for (const s of servers) if (this.linkToward(s) !== link) for (const line of this.serverLines(s)) this.send(link, line);
    for (const user of state.clients) {
      // Our services are each server's own (every server runs its NickServ): they stay home.
      if (!user.registered || this.parts.staysHome(this, user) || this.linkOfUser(user) === link) continue;
      for (const line of this.userLines(user)) this.send(link, line);
      if (user.away !== undefined) this.send(link, { source: this.uid(user), command: 'AWAY', params: [user.away] });
    }
    for (const channel of state.channels.values()) {
      for (const line of this.sjoinLines(channel, [...channel.members].filter(([u]) => this.linkOfUser(u) !== link))) this.send(link, line);
      // List modes go as EBMASK (with who set each entry and when) or BMASK, as many to a line as fit.
      const extended = link.caps.has('EBMASK');
      for (const [letter, entries] of channel.lists) {
        for (let i = 0; i < entries.length; ) {
          const items: string[] = [];
          let size = 0;
          while (i < entries.length) {
            const e = entries[i]!;
            const item = extended ? `${e.mask} ${e.setAt} ${e.setBy}` : e.mask;
            if (items.length > 0 && size + item.length >= 400) break;
            items.push(item);
            size += item.length + 1;
            i++;
          }
          const command = extended ? 'EBMASK' : 'BMASK';
          this.send(link, { source: this.sid, command, params: [String(this.channelTs(channel)), channel.name, letter, items.join(' ')] });
        }
      }
      const topic = channel.topic;
      if (topic) this.send(link, { source: this.sid, command: 'TB', params: [channel.name, String(topic.setAt), topic.setBy, topic.text] });
    }
    for (const line of this.parts.agentBurst(this)) this.send(link, line);
    this.send(link, { source: this.sid, command: 'PING', params: [this.server.name, link.theirSid!] });
  }

  /** A server's introduction: SID, and ENCAP GCAP with its capabilities when known. */
  serverLines(s: ServerEntry): Message[] {
    const lines: Message[] = [{ source: this.sidOf(s.uplink!), command: 'SID', params: [s.name, String(s.hops + 1), s.sid!, s.description || s.name] }];
    const caps = this.gcaps.get(s.sid!);
    if (caps) lines.push({ source: s.sid!, command: 'ENCAP', params: ['*', 'GCAP', caps] });
    return lines;
  }

  /** A user's introduction: EUID, and ENCAP CERTFP when a user of ours has a TLS client certificate (ts6.md "Linking"). */
  userLines(user: User): Message[] {
    const fp = this.ids(user).home ? undefined : user.sessions[0]?.conn.certFingerprint;
    return fp ? [this.euidLine(user), { source: this.uid(user), command: 'ENCAP', params: ['*', 'CERTFP', fp] }] : [this.euidLine(user)];
  }

  euidLine(user: User): Message {
    const ids = this.ids(user);
    const home = ids.home ?? this.server.state.me;
    return {
      source: this.sidOf(home),
      command: 'EUID',
      params: [
        user.nick,
        String(home.hops + 1),
        String(ids.ts),
        // Services carry +S, as TS6 marks them.
        '+' + [...user.modes].join('') + (this.server.state.isService(user) && !user.modes.has('S') ? 'S' : ''),
        user.user || '*',
        user.host,
        ids.home ? '0' : user.ip.replace(/^:/, '0:'),
        this.uid(user),
        user.realHost,
        user.account ?? '*',
        user.realname,
      ],
    };
  }

  /** The channel's simple modes as TS6 sends them: "+ntk key". */
  simpleModes(channel: Channel): string[] {
    let modes = '+' + [...channel.flags].join('');
    const args: string[] = [];
    if (channel.key !== undefined) {
      modes += 'k';
      args.push(channel.key);
    }
    if (channel.limit !== undefined) {
      modes += 'l';
      args.push(String(channel.limit));
    }
    return [modes, ...args];
  }

  /** SJOIN lines for some members of a channel, with their prefixes, cut to fit 512 bytes. */
  sjoinLines(channel: Channel, members: Iterable<[User, string]>): Message[] {
    const head = [String(this.channelTs(channel)), channel.name, ...this.simpleModes(channel)];
    const budget = 400 - head.join(' ').length;
    const lines: Message[] = [];
    let list: string[] = [];
    let size = 0;
    const prefixes = this.server.prefixes;
    for (const [user, held] of members) {
      const item = [...held].map((l) => prefixes.symbols[prefixes.modes.indexOf(l)] ?? '').join('') + this.uid(user);
      if (size + item.length + 1 > budget && list.length) {
        lines.push({ source: this.sid, command: 'SJOIN', params: [...head, list.join(' ')] });
        list = [];
        size = 0;
      }
      list.push(item);
      size += item.length + 1;
    }
    if (list.length) lines.push({ source: this.sid, command: 'SJOIN', params: [...head, list.join(' ')] });
    return lines;
  }
}
