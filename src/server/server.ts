// The composition root: config, state, router, modules, listeners and the timers that drive them.
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { loadConfig } from '../config/load.js';
import type { ClassConfig, Config, ListenConfig, WebircConfig } from '../config/schema.js';
import { Connection, type ConnectionOwner, type LineLimits, type LineProblem, type Transport } from '../net/connection.js';
import type { DisconnectReason } from '../net/disconnect.js';
import { listenerKey, openListener, readTls, type Listener } from '../net/listener.js';
import { upgradeToWebSocket } from '../net/websocket.js';
import { HANDSHAKE_TIMEOUT_MS, PendingHandshakes } from '../net/pending.js';
import { ConnectThrottle } from '../net/throttle.js';
import { loggableParams, type Logger } from '../observability/log.js';
import { caseFolder } from '../protocol/casemap.js';
import { addressKey, cidrContains, globMatch, ipBytes, normalizeIp, parseCidr, type Cidr } from '../protocol/mask.js';
import { parseMessage, ParseError, type Message } from '../protocol/message.js';
import { ERR } from '../protocol/numerics.js';
import type { CapOffer } from './caps.js';
import { PrefixTable } from './channel.js';
import { Client, runAsSession } from './client.js';
import type { Hooks, Module } from './module.js';
import { checkMigrationsKnown, checkTables, openStore, type Db } from '../store/db.js';
import { Router } from './router.js';
import { State } from './state.js';
import { startHttp, type HttpEndpoint } from '../observability/http.js';
import { listenerLabel, Stats, type RejectReason } from '../observability/stats.js';

/** The outcome of the checks an address must pass to hold a connection (see Server.admit). */
type Admission = Admitted | { refused: string; label: RejectReason };
type Admitted = { klass: ClassConfig; counted: boolean };

export const VERSION = '0.1.0';

export class Server implements ConnectionOwner {
  readonly state: State;
  readonly router = new Router();
  readonly startedAt = Date.now();
  readonly version = VERSION;
  /** Counters read by /metrics; bumping them is all the hot paths pay. */
  readonly stats = new Stats();
  /** True from the end of start() until stop() begins (/healthz answers 200 only then). */
  ready = false;
  /** The /metrics and /healthz listener, when [metrics] is enabled. */
  http: HttpEndpoint | undefined;
  /** Log every command received (level trace). Cached: asking pino costs more than a line's parsing. */
  private traceCommands = false;
  readonly listeners = new Map<string, Listener>();
  motd: string[] | undefined;
  prefixes: PrefixTable;
  private openedDb: Db | undefined;
  /** Set once stop() begins; new connections are refused. */
  stopping = false;
  /**
   * What DIE and RESTART do after stop(): main.ts exits (or re-executes) the process. Unset when
   * the server is embedded (tests), where stopping is all that happens.
   */
  exitProcess: ((restart: boolean) => void) | undefined;

  private readonly clientOf = new Map<Connection, Client>();
  /** WebSocket connections still in their HTTP upgrade: in all, and per address (trusted proxies aside). */
  private readonly pendingUpgrades = new PendingHandshakes();
  // Shared by every connection and client instead of a closure each (memory per idle client).
  private readonly flushLater = (conn: Connection) => this.scheduleFlush(conn);
  private readonly serverName = () => this.name;
  /**
   * Connections with output this tick, each listed once (a Connection asks only on its first
   * write of a tick). Arrays, swapped and reused: a Set cleared every tick re-grew its hash table
   * through every size up to the fan-out width each time.
   */
  private pendingFlush: Connection[] = [];
  private flushing: Connection[] = [];
  /** Connections of WebIRC gateways not yet told their user's address: outside the per-address count. */
  private readonly uncounted = new Set<Connection>();
  private flushScheduled = false;
  private readonly throttledConns = new Set<Connection>();
  /** Recent connections per IP, for the class connect_rate. */
  private connectThrottle: ConnectThrottle;
  private throttleTimer: NodeJS.Timeout | undefined;
  private ticker: NodeJS.Timeout | undefined;

  constructor(
    public config: Config,
    readonly configPath: string,
    readonly log: Logger,
    readonly modules: Module[],
  ) {
    this.state = new State(caseFolder(config.server.casemapping), (event, err) =>
      this.log.error({ event, err: err instanceof Error ? err.stack : String(err) }, 'state event subscriber failed'),
    );
    for (const m of modules) this.router.register(m);
    this.motd = this.readMotd();
    this.prefixes = new PrefixTable(config.channels.prefix);
    this.connectThrottle = new ConnectThrottle(config.limits.connect_rate_ips);
  }

  get name(): string {
    return this.config.server.name;
  }

  /** The durable store, opened by start() before the modules' init (where they open their tables). */
  get db(): Db {
    if (!this.openedDb) throw new Error('the store is opened by Server.start(), which has not run');
    return this.openedDb;
  }

  async start(): Promise<void> {
    // Health checks get their 503 "starting" while the rest comes up.
    if (this.config.metrics.enabled) this.http = await startHttp(this, this.config.metrics);
    this.openedDb = openStore(this.config.store.path);
    try {
      for (const m of this.modules) m.init?.(this);
    } catch (err) {
      // A missing table fails the first init that prepares a statement on it: name that instead.
      checkTables(this.db);
      throw err;
    }
    checkTables(this.db);
    checkMigrationsKnown(this.db);
    for (const l of this.config.listen) await this.addListener(l);
    this.ticker = setInterval(() => this.tick(), 1000);
    this.ticker.unref();
    this.traceCommands = this.log.isLevelEnabled('trace');
    this.ready = true;
  }

  private async addListener(cfg: ListenConfig): Promise<Listener> {
    const l = await openListener(
      cfg,
      (socket, lc) => (lc.websocket ? this.acceptWebSocket(socket, lc) : this.accept(socket, lc)),
      // Not logged: a flood of these would flood the log too.
      () => this.stats.reject('limit'),
    );
    l.server.on('error', (err) => this.log.error({ err: err.message, listener: listenerKey(cfg) }, 'listener error'));
    l.server.on('tlsClientError', (err: Error, socket: Socket) => {
      this.stats.reject('tls_error');
      this.log.debug({ ip: normalizeIp(socket.remoteAddress ?? ''), err: err.message }, 'TLS handshake failed');
    });
    this.listeners.set(listenerKey(cfg), l);
    this.log.info({ address: cfg.address, port: l.port, tls: !!cfg.tls }, 'listening');
    return l;
  }

  readMotd(): string[] | undefined {
    try {
      return readFileSync(this.config.server.motd, 'utf8').replace(/\r/g, '').replace(/\n$/, '').split('\n');
    } catch {
      return undefined;
    }
  }

  // ---- connections -------------------------------------------------------------------------

  /**
   * A WebSocket listener's connection. Its address is admitted (D-lines, allow block, connect rate,
   * per-address count) before the HTTP upgrade and holds its place in the count while the upgrade
   * is pending; pending upgrades are bounded in size and time, in all and per address, so one
   * address cannot keep other browsers out. A refused address still gets the upgrade (within that
   * bound), so the refusal reaches the browser as an IRC ERROR it can show.
   */
  private acceptWebSocket(socket: Socket, listener: ListenConfig): void {
    const peer = normalizeIp(socket.remoteAddress ?? '');
    // A trusted proxy speaks for every user behind it, whose own addresses (X-Forwarded-For) are
    // known only once the upgrade is read: limiting or counting the proxy's address would lock all
    // of them out together. So it is exempt here, and accept() admits each user by their address.
    const fromTrustedProxy = listener.trusted_proxies.includes(peer);
    const key = fromTrustedProxy ? undefined : addressKey(peer);
    if (!this.pendingUpgrades.enter(key)) {
      this.stats.reject('limit');
      socket.destroy();
      return;
    }
    const admission = fromTrustedProxy ? undefined : this.admit(peer);
    if (admission && 'refused' in admission) this.refused(peer, admission.refused, admission.label);
    socket.on('error', () => {});
    const opts = { origins: listener.origins, fromTrustedProxy, timeoutMs: HANDSHAKE_TIMEOUT_MS };
    void upgradeToWebSocket(socket, opts).then((transport) => {
      this.pendingUpgrades.leave(key);
      if (admission && 'refused' in admission) {
        if (transport) this.sendRefusal(transport, peer, admission.refused);
      } else if (transport) this.accept(transport, listener, admission);
      // No upgrade (refused, timed out, gone): the address gives back its place in the count.
      else if (admission?.counted) countDown(this.state.perIp, addressKey(peer));
    });
  }

  /**
   * Makes a client of a new connection, unless the server is stopping or full or the address may
   * not connect. `admitted` is given when the address was admitted before a WebSocket upgrade.
   */
  private accept(socket: Transport, listener: ListenConfig, admitted?: Admitted): void {
    const ip = normalizeIp(socket.remoteAddress ?? '');
    const refuse = (reason: string, label: RejectReason) => {
      // A place in the per-address count taken before the upgrade is given back.
      if (admitted?.counted) countDown(this.state.perIp, addressKey(ip));
      this.refused(ip, reason, label);
      this.sendRefusal(socket, ip, reason);
    };
    if (this.stopping) return refuse('Server is shutting down', 'shutdown');
    if (this.clientOf.size >= this.config.server.max_clients) return refuse('Server is full', 'limit');
    // A D-line set while the upgrade was pending found no client to end: it applies here.
    const bannedSince = admitted && this.connectionRefusal(ip);
    if (bannedSince) return refuse(bannedSince, 'ban');
    const admission = admitted ?? this.admit(ip);
    if ('refused' in admission) return refuse(admission.refused, admission.label);
    const klass = admission.klass;

    const conn = new Connection(socket, this, klass, this.lineLimits(), this.flushLater);
    if (!admission.counted) this.uncounted.add(conn);
    const client = new Client(conn, klass, this.serverName);
    this.clientOf.set(conn, client);
    this.state.addClient(client);
    const bound = this.listeners.get(listenerKey(listener));
    conn.listener = listenerLabel(listener.address, bound?.port ?? listener.port);
    this.stats.accept(conn.listener);
    this.log.info({ conn: conn.id, ip, port: conn.port, tls: !!listener.tls, websocket: listener.websocket }, 'connection opened');
    this.emit('connected', client);
  }

  /** Counts and logs a connection refused before it became a client. */
  private refused(ip: string, reason: string, label: RejectReason): void {
    this.stats.reject(label);
    this.log.info({ ip, reason }, 'connection refused');
  }

  /**
   * Tells a refused connection why, as an IRC ERROR, and closes it. Written outside any sendq:
   * one line to a fresh socket, destroyed within 2 s even if the peer never reads it.
   */
  private sendRefusal(socket: Transport, ip: string, reason: string): void {
    socket.on('error', () => {});
    socket.write(`ERROR :Closing Link: ${ip} (${reason})\r\n`);
    socket.end();
    setTimeout(() => socket.destroy(), 2000).unref();
  }

  /**
   * The checks every address must pass to hold a connection: an allow block, the connect rate,
   * D-lines and the per-address limit. On success the address holds one more connection.
   */
  private admit(ip: string, host = ip): Admission {
    const klass = this.classFor(ip, host);
    if (!klass) return { refused: 'You are not authorised to use this server', label: 'denied' };
    const key = addressKey(ip);
    // A WebIRC gateway connects for many users: they are counted by their own addresses once it
    // has told them (WEBIRC), so its own address is not rate- or count-limited.
    const gateway = this.webircBlocksFor(ip).length > 0;
    // The rate before the bans: a flood from one address, banned or not, is turned away by the
    // cheapest check. A banned address's attempts use up its tokens too, so it sees its ban
    // reason while it reconnects at a normal pace and "Throttled" when it floods.
    if (!gateway && !this.connectThrottle.allow(key, klass.connect_rate)) return { refused: 'Throttled: reconnecting too fast', label: 'throttle' };
    const banned = this.connectionRefusal(ip);
    if (banned) return { refused: banned, label: 'ban' };
    if (gateway) return { klass, counted: false };
    const count = this.state.perIp.get(key) ?? 0;
    if (count >= klass.max_per_ip) return { refused: 'Too many connections from your IP', label: 'limit' };
    this.state.perIp.set(key, count + 1);
    return { klass, counted: true };
  }

  /** The [[webirc]] blocks whose hosts include this address (a gateway may be listed more than once). */
  webircBlocksFor(ip: string): WebircConfig[] {
    const gateways = this.derivedFromConfig().webirc;
    if (gateways.length === 0) return [];
    const bytes = ipBytes(ip);
    if (!bytes) return [];
    return gateways.filter(({ cidrs }) => cidrs.some((cidr) => cidrContains(cidr, bytes))).map(({ block }) => block);
  }

  /** Gives back the connection's place in the per-address count (WebIRC gateways are not counted). */
  private releaseAddress(conn: Connection): void {
    if (this.uncounted.delete(conn)) return;
    countDown(this.state.perIp, addressKey(conn.ip));
  }

  /**
   * A registering client's real address, told by a trusted gateway (WEBIRC): from now on bans,
   * limits and the allow block see that address and host, as for a direct connection. Returns
   * the reason when the address may not connect (the caller closes the connection).
   */
  readdress(client: Client, ip: string, host: string, secure: boolean): DisconnectReason | undefined {
    const conn = client.conn;
    const admitted = this.admit(ip, host);
    if ('refused' in admitted) {
      this.stats.reject(admitted.label);
      return { kind: admitted.label === 'ban' ? 'ban' : 'other', text: admitted.refused };
    }
    this.releaseAddress(conn);
    if (!admitted.counted) this.uncounted.add(conn);
    conn.readdress(ip, secure, admitted.klass);
    client.klass = admitted.klass;
    client.realHost = host;
    this.state.setHost(client, host);
    return undefined;
  }

  /** The first module's reason to refuse a connection from this IP (D-lines), if any. */
  connectionRefusal(ip: string): string | undefined {
    for (const m of this.modules) {
      const reason = m.refuseConnection?.(this, ip);
      if (reason) return reason;
    }
    return undefined;
  }

  /** The first module's reason to refuse this client at registration (K/X-lines), if any. */
  registrationRefusal(client: Client): string | undefined {
    for (const m of this.modules) {
      const reason = m.refuseRegistration?.(this, client);
      if (reason) return reason;
    }
    return undefined;
  }

  lineLimits(): LineLimits {
    return this.derivedFromConfig().lineLimits;
  }

  /** The first allow block matching the IP (CIDR) or host (glob); it names the class and PASS password. */
  allowFor(ip: string, host = ip): Config['allow'][number] | undefined {
    const bytes = ipBytes(ip);
    const folded = host.toLowerCase();
    return this.derivedFromConfig().allow.find(({ cidr, glob }) =>
      cidr ? !!bytes && cidrContains(cidr, bytes) : globMatch(glob, folded),
    )?.block;
  }

  classFor(ip: string, host = ip): ClassConfig | undefined {
    const allow = this.allowFor(ip, host);
    return allow && this.config.class.find((c) => c.name === allow.class);
  }

  handleLine(conn: Connection, line: string, problem: LineProblem | undefined): void | Promise<void> {
    const client = this.clientOf.get(conn);
    if (!client) return;
    // Multiclient: a session's line runs as its user, with replies going back to that session.
    const user = client.attachedTo ?? client;
    if (user.sessions !== undefined) return runAsSession(client, () => this.handleClientLine(user, line, problem));
    return this.handleClientLine(client, line, problem);
  }

  private handleClientLine(client: Client, line: string, problem: LineProblem | undefined): void | Promise<void> {
    if (problem === 'too-long') {
      client.numeric(ERR.INPUTTOOLONG, 'Input line was too long');
      return;
    }
    if (problem === 'nul') {
      client.fromServer('FAIL', ['*', 'INVALID_CHARACTERS', 'Messages may not contain NUL bytes']);
      return;
    }
    if (problem === 'cr') {
      client.fromServer('FAIL', ['*', 'INVALID_CHARACTERS', 'Messages may not contain CR except before the final LF']);
      return;
    }
    let msg: Message;
    try {
      msg = parseMessage(line);
    } catch (err) {
      if (err instanceof ParseError) return; // blank or source-only lines are ignored, as the spec allows
      throw err;
    }
    if (this.traceCommands)
      this.log.trace({ conn: client.conn.id, command: msg.command, params: loggableParams(msg.command, msg.params) }, 'command received');
    if (problem === 'invalid-utf8' && this.config.server.utf8only) {
      client.standardReply('FAIL', msg.command, 'INVALID_UTF8', 'Message rejected, your IRC software MUST use UTF-8 encoding on this network');
      return;
    }
    return this.router.dispatch(this, client, msg);
  }

  connectionClosed(conn: Connection, reason: DisconnectReason): void {
    const client = this.clientOf.get(conn);
    this.clientOf.delete(conn);
    this.throttledConns.delete(conn);
    this.releaseAddress(conn);
    if (!client) return;
    this.stats.connectionClosed(conn, client.fannedOut, reason.kind);
    // One session of several going leaves the user (and its channels) to the others.
    if (client.attachedTo) return this.detachSession(client.attachedTo, client, reason);
    if (client.sessions) return this.promoteSession(client, reason);
    if (client.registered) this.emit('quit', client, reason.text);
    this.state.removeClient(client, reason.text);
    this.log.info({ conn: conn.id, nick: client.nick, reason: reason.text, kind: reason.kind }, 'connection closed');
  }

  /**
   * Disconnects a client; QUIT is shown to its peers with this reason. Within a command of one of
   * its sessions (QUIT) only that session goes; otherwise (KILL, bans, shutdown) all of them.
   */
  disconnect(client: Client, reason: DisconnectReason): void {
    // What a labeled command said before this (464, 465) still reaches the client, ahead of ERROR.
    client.session.reply?.endBeforeClose();
    if (client.sessions && !client.isActing()) for (const s of client.sessions) s.ownConn.close(reason);
    client.conn.close(reason);
  }

  /** Makes a registering client a further session of `user` (same account, same nick). */
  attachSession(user: Client, session: Client): void {
    this.state.becomeSession(session);
    session.attachedTo = user;
    (user.sessions ??= []).push(session);
    session.registered = true;
    this.log.info({ conn: session.id, user: user.id, nick: user.nick }, 'session attached');
  }

  private detachSession(user: Client, session: Client, reason: DisconnectReason): void {
    user.sessions = user.sessions?.filter((s) => s !== session);
    if (user.sessions?.length === 0) user.sessions = undefined;
    this.log.info({ conn: session.id, user: user.id, nick: user.nick, reason: reason.text, kind: reason.kind }, 'session detached');
  }

  /** The user's own connection closed: its first attached session carries on as the user. */
  private promoteSession(user: Client, reason: DisconnectReason): void {
    const next = user.sessions!.shift()!;
    if (user.sessions!.length === 0) user.sessions = undefined;
    this.log.info({ conn: user.ownConn.id, user: user.id, nick: user.nick, reason: reason.text, kind: reason.kind }, 'session detached');
    // A labeled command of the closed connection still running ends with it, not on the next one.
    user.reply?.endBeforeClose();
    user.ownConn = next.ownConn;
    user.ownCaps = next.ownCaps;
    user.ownCapVersion = next.ownCapVersion;
    user.klass = next.klass;
    this.clientOf.set(next.ownConn, user);
  }

  throttled(conn: Connection): void {
    this.throttledConns.add(conn);
    if (this.throttleTimer) return;
    // One timer for all throttled connections, not one per client.
    this.throttleTimer = setInterval(() => {
      // A copy: pump() re-adds a connection still short of tokens, and iterating the live set
      // would then spin on it until its next token is due, stalling every other client.
      const due = [...this.throttledConns];
      this.throttledConns.clear();
      for (const c of due) c.pump();
      if (this.throttledConns.size === 0) {
        clearInterval(this.throttleTimer);
        this.throttleTimer = undefined;
      }
    }, 50);
    this.throttleTimer.unref();
  }

  private scheduleFlush(conn: Connection): void {
    this.pendingFlush.push(conn);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flushAll());
  }

  private flushAll(): void {
    this.flushScheduled = false;
    const due = this.pendingFlush;
    this.pendingFlush = this.flushing;
    this.flushing = due;
    // A connection closed since it was listed has nothing left to write: its flush does nothing.
    for (let i = 0; i < due.length; i++) due[i]!.flush();
    due.length = 0;
  }

  /** Once a second: registration timeouts and keepalive pings for every client. */
  private tick(): void {
    const now = Date.now();
    for (const client of this.state.clients) {
      if (!client.registered) {
        if (now - client.ownConn.connectedAt > client.klass.registration_timeout * 1000)
          this.disconnect(client, { kind: 'registration_timeout', text: 'Registration timed out' });
        continue;
      }
      // Most users have one connection: no allSessions() array per client and second.
      if (client.sessions === undefined) this.keepAlive(client, now);
      else for (const s of client.allSessions()) this.keepAlive(s, now);
    }
  }

  /** Pings a quiet connection and closes one that stopped answering (only that session of a user). */
  private keepAlive(session: Client, now: number): void {
    const conn = session.ownConn;
    const k = session.klass;
    if (conn.pingSentAt) {
      if (now - conn.pingSentAt > k.ping_timeout * 1000)
        conn.close({ kind: 'ping_timeout', text: `Ping timeout: ${Math.round((now - conn.lastRead) / 1000)} seconds` });
    } else if (now - conn.lastRead > k.ping_interval * 1000) {
      conn.pingSentAt = now;
      conn.writeText(`PING ${this.name}\r\n`);
    }
  }

  // ---- services for modules -------------------------------------------------------------------

  /** Each hook's handlers in module order, collected once: emit runs on every message. */
  private readonly hookTable = new Map<keyof Hooks, Array<{ module: Module; fn: (s: Server, ...a: unknown[]) => void }>>();

  emit<K extends keyof Hooks>(hook: K, ...args: Hooks[K] extends (s: Server, ...a: infer A) => void ? A : never): void {
    let handlers = this.hookTable.get(hook);
    if (!handlers) {
      handlers = this.modules.flatMap((module) => {
        const fn = module.hooks?.[hook] as ((s: Server, ...a: unknown[]) => void) | undefined;
        return fn ? [{ module, fn }] : [];
      });
      this.hookTable.set(hook, handlers);
    }
    for (const { module, fn } of handlers) {
      try {
        fn(this, ...args);
      } catch (err) {
        const conn = args[0] instanceof Client ? args[0].id : undefined;
        this.log.error({ conn, module: module.name, hook, err: err instanceof Error ? err.stack : String(err) }, 'hook failed');
      }
    }
  }

  hasPrivilege(client: Client, privilege: string): boolean {
    return client.oper?.privileges.has(privilege) ?? false;
  }

  /** Capabilities offered now, in module order. */
  capOffers(): CapOffer[] {
    return this.modules.flatMap((m) => m.caps ?? []).filter((c) => c.offered?.(this) ?? true);
  }

  /** Values derived from the config alone, rebuilt when REHASH replaces it (every registration reads them). */
  private derived:
    | {
        config: Config;
        isupport: string[];
        modes: { user: string; channel: string; channelWithParam: string };
        /** Allow blocks with their CIDR parsed once (undefined for host globs, lowercased). */
        allow: Array<{ block: Config['allow'][number]; cidr: Cidr | undefined; glob: string }>;
        lineLimits: LineLimits;
        /** WebIRC gateway blocks with their addresses parsed once. */
        webirc: Array<{ block: WebircConfig; cidrs: Cidr[] }>;
      }
    | undefined;

  private derivedFromConfig() {
    if (this.derived?.config !== this.config)
      this.derived = {
        config: this.config,
        isupport: this.buildIsupport(),
        modes: this.buildModeLetters(),
        allow: this.config.allow.map((block) => ({ block, cidr: parseCidr(block.mask), glob: block.mask.toLowerCase() })),
        lineLimits: { lineLength: this.config.limits.line_length, tagLength: this.config.limits.tag_length },
        webirc: this.config.webirc.map((block) => ({ block, cidrs: block.hosts.map((h) => parseCidr(h)!) })),
      };
    return this.derived;
  }

  /** ISUPPORT tokens from the config and the loaded modules, e.g. "NICKLEN=30". */
  isupportTokens(): string[] {
    return this.derivedFromConfig().isupport;
  }

  private buildIsupport(): string[] {
    const tokens: string[] = [];
    for (const m of this.modules) {
      for (const [k, v] of Object.entries(m.isupport?.(this.config) ?? {})) tokens.push(v === true ? k : `${k}=${v}`);
    }
    const targmax = [...this.router.commands]
      .filter(([, def]) => def.targets)
      .map(([name, def]) => `${name}:${def.targets!.limit === 'limited' ? this.config.limits.max_targets : ''}`);
    if (targmax.length) tokens.push(`TARGMAX=${targmax.join(',')}`);
    return tokens;
  }

  /** Sends 005 lines, at most 13 tokens each. */
  sendIsupport(client: Client): void {
    const tokens = this.isupportTokens();
    for (let i = 0; i < tokens.length; i += 13) client.numeric('005', ...tokens.slice(i, i + 13), 'are supported by this server');
  }

  /** Mode letters of all modules for RPL_MYINFO. */
  modeLetters(): { user: string; channel: string; channelWithParam: string } {
    return this.derivedFromConfig().modes;
  }

  private buildModeLetters(): { user: string; channel: string; channelWithParam: string } {
    const collect = (pick: (m: Module) => string | undefined) =>
      [...new Set(this.modules.flatMap((m) => [...(pick(m) ?? '')]))].sort().join('');
    return {
      user: collect((m) => (m.modes?.user ?? '') + Object.keys(m.userModes ?? {}).join('')),
      channel: collect((m) => (m.modes?.channel ?? '') + (m.configModes?.(this.config).channel ?? '')),
      channelWithParam: collect((m) => (m.modes?.channelWithParam ?? '') + (m.configModes?.(this.config).channelWithParam ?? '')),
    };
  }

  /** Every registered client. */
  *registeredClients(): Iterable<Client> {
    for (const c of this.state.clients) if (c.registered) yield c;
  }

  /**
   * Re-reads the config file. Everything is validated (and new listeners opened) before anything
   * changes; on any error the running config stays and the error is returned.
   */
  async rehash(source: string): Promise<{ ok: true } | { ok: false; error: string }> {
    let next: Config;
    try {
      next = loadConfig(this.configPath);
      if (next.server.casemapping !== this.config.server.casemapping)
        throw new Error('server.casemapping cannot change while running; restart the server to change it');
    } catch (err) {
      return this.rehashFailed(source, err);
    }
    const wanted = new Map(next.listen.map((l) => [listenerKey(l), l]));
    const opened: Listener[] = [];
    try {
      for (const l of wanted.values()) if (l.tls) readTls(l.tls); // a missing or unreadable key fails here, before any change
      for (const [key, l] of wanted) if (!this.listeners.has(key)) opened.push(await this.addListener(l));
      for (const [key, l] of wanted) if (l.tls && this.listeners.has(key)) this.listeners.get(key)!.reloadTls(l);
    } catch (err) {
      for (const l of opened) {
        this.listeners.delete(listenerKey(l.cfg));
        await l.close();
      }
      return this.rehashFailed(source, err);
    }
    // Existing connections on a removed listener stay; only the listening socket goes.
    for (const [key, l] of this.listeners) {
      if (!wanted.has(key)) {
        this.listeners.delete(key);
        void l.close();
      }
    }
    const old = this.config;
    const oldTokens = this.isupportTokens().join(' ');
    const oldCaps = new Set(this.capOffers().map((c) => c.name as string));
    this.config = next;
    this.motd = this.readMotd();
    this.prefixes = new PrefixTable(next.channels.prefix);
    if (next.limits.connect_rate_ips !== this.connectThrottle.maxIps) this.connectThrottle = new ConnectThrottle(next.limits.connect_rate_ips);
    for (const user of this.state.clients) {
      for (const client of user.allSessions()) {
        const klass = this.classFor(client.ownConn.ip, client.realHost) ?? next.class[0]!;
        client.klass = klass;
        client.ownConn.klass = klass;
        client.ownConn.limits = this.lineLimits();
      }
    }
    const tokens = this.isupportTokens();
    if (tokens.join(' ') !== oldTokens) for (const c of this.registeredClients()) this.sendIsupport(c);
    this.emit('capsRehashed', oldCaps, new Set(this.capOffers().map((c) => c.name as string)));
    this.emit('rehashed', old);
    this.stats.rehashes.success++;
    // The log level follows the file; format and destination stay until a restart.
    this.log.level = next.log.level;
    this.traceCommands = this.log.isLevelEnabled('trace');
    this.log.info({ source, config: this.configPath }, 'configuration reloaded');
    return { ok: true };
  }

  private rehashFailed(source: string, err: unknown): { ok: false; error: string } {
    this.stats.rehashes.failure++;
    const error = (err as Error).message;
    this.log.error({ source, error }, 'rehash failed; keeping the running configuration');
    this.emit('rehashFailed', source, error);
    return { ok: false, error };
  }

  /** Graceful stop: refuse new connections, tell everyone, close within `graceMs`. */
  async stop(reason = 'Server shutting down', graceMs = 3000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.ready = false;
    clearInterval(this.ticker);
    clearInterval(this.throttleTimer);
    const closing = [...this.listeners.values()].map((l) => l.close());
    for (const client of [...this.state.clients]) this.disconnect(client, { kind: 'shutdown', text: reason });
    this.flushAll();
    await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, graceMs).unref())]);
    for (const m of this.modules) m.close?.(this);
    this.openedDb?.close();
    // Last to go, so /healthz says "stopping" (503) during the grace period.
    await this.http?.close();
    this.log.info({ reason }, 'server stopped');
  }
}

/** Takes one from a per-address count, forgetting the address at zero. */
function countDown(counts: Map<string, number>, key: string): void {
  const n = (counts.get(key) ?? 1) - 1;
  if (n <= 0) counts.delete(key);
  else counts.set(key, n);
}
