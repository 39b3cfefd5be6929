// The composition root: config, state, router, modules, listeners, start and stop. It hands
// admission, ISUPPORT, rehash and the connection timers to the objects that do them.
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { ClassConfig, Config, ListenConfig } from '../config/schema.js';
import { Connection, finishPendingCloses, type ConnectionOwner, type LineLimits, type LineProblem } from '../net/connection.js';
import type { DisconnectReason } from '../net/disconnect.js';
import { listenerKey, listenerLabel, openListener, type Listener } from '../net/listener.js';
import { FlushQueue } from '../net/flush.js';
import { checkStsPolicy } from '../net/tlsverify.js';
import { ConnectThrottle } from '../net/throttle.js';
import { KeepaliveSweep, ThrottledPump } from '../net/timers.js';
import { loggableParams, type Logger } from '../observability/log.js';
import { caseFolder } from '../protocol/casemap.js';
import { skeleton } from '../protocol/confusables.js';
import { normalizeIp } from '../protocol/mask.js';
import { parseMessage, ParseError, type Message } from '../protocol/message.js';
import { ERR } from '../protocol/numerics.js';
import type { CapOffer } from './caps.js';
import { PrefixTable, type Channel } from './channel.js';
import { User, runAsSession } from './user.js';
import type { Session } from './session.js';
import type { Hooks, Module } from './module.js';
import { checkMigrationsKnown, checkTables, openStore, type Db } from '../store/db.js';
import { Router } from './router.js';
import { Admission } from './admission.js';
import { derivedFrom } from './derived.js';
import { Isupport } from './isupport.js';
import { Rehash, type RehashResult } from './rehash.js';
import { State, type ServerEntry } from './state.js';
import { startHttp, type MetricsEndpoint } from '../observability/http.js';
import { Metrics } from '../observability/metrics.js';
import { Stats } from '../observability/stats.js';

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
  /** The /metrics and /healthz listener, when [metrics] is enabled (REHASH opens, moves and closes it). */
  http: MetricsEndpoint | undefined;
  /** The Prometheus view behind it: made once, so a moved endpoint keeps its process metrics. */
  private metricsView: Metrics | undefined;
  /** Log every command received (level trace). Cached: asking pino costs more than a line's parsing. */
  private traceCommands = false;
  /** One token bucket (10 a second) for the log lines about plaintext clients on TLS ports. */
  private readonly plaintextLog = new ConnectThrottle(1);
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

  /** Takes the sockets of `servers = true` listeners: set by the link module in its init. */
  acceptServer: ((socket: Socket, listener: ListenConfig) => void) | undefined;
  /** Passes a command with a hunted server parameter (`msg.params[at]`) to another server (server/hunt.ts): set by the link module. */
  forwardQuery: ((client: User, to: ServerEntry, msg: Message, at: number) => void) | undefined;

  private readonly sessionOf = new Map<Connection, Session>();
  /** Ids given to users introduced without a session so far (see introduceSessionlessUser). */
  private sessionlessIds = 0;
  // Shared by every client instead of a closure each (memory per idle client).
  private readonly serverName = () => this.name;
  /** Whether a message target (nick or nick@server) is one of the services, for the trace log's redaction. */
  private readonly namesService = (target: string): boolean => {
    const holder = this.state.findNick(target.split('@')[0]!);
    return holder !== undefined && this.state.isService(holder);
  };
  /** Every connection's writes of a tick, flushed together (handed to each new Connection). */
  readonly flushes = new FlushQueue();
  private readonly throttledPump = new ThrottledPump();
  private readonly sweep = new KeepaliveSweep<User>(
    () => this.state.clients,
    (client, reason) => this.disconnect(client, reason),
    this.serverName,
  );
  readonly admission: Admission;
  readonly isupport: Isupport;
  private readonly rehasher: Rehash;
  /** Line limits of every connection, rebuilt when REHASH replaces the config. */
  readonly lineLimits = derivedFrom(
    () => this.config,
    (config): LineLimits => ({ lineLength: config.limits.line_length, tagLength: config.limits.tag_length }),
  );

  constructor(
    public config: Config,
    readonly configPath: string,
    readonly log: Logger,
    readonly modules: Module[],
  ) {
    this.state = new State(
      caseFolder(config.server.casemapping),
      (event, err) => this.subscriberFailed({ event }, err),
      { name: config.server.name, sid: config.server.sid, description: config.server.description },
      // Look-alike nicks matter only where nicks may hold more than ASCII.
      config.server.casemapping === 'utf8' ? skeleton : undefined,
    );
    for (const m of modules) this.router.register(m);
    this.motd = this.readMotd();
    this.prefixes = new PrefixTable(config.channels.prefix);
    this.admission = new Admission(this);
    this.isupport = new Isupport(this);
    this.rehasher = new Rehash(this);
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
    await checkStsPolicy(this.config);
    // Health checks get their 503 "starting" while the rest comes up.
    if (this.config.metrics.enabled) this.http = await this.openHttp(this.config.metrics);
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
    for (const m of this.modules) m.restore?.(this);
    for (const l of this.config.listen) await this.addListener(l);
    for (const m of this.modules) await m.start?.(this);
    this.sweep.start();
    this.traceCommands = this.log.isLevelEnabled('trace');
    this.ready = true;
  }

  async addListener(cfg: ListenConfig): Promise<Listener> {
    const l = await openListener(
      cfg,
      (socket, lc, peer) => {
        if (lc.servers) return this.acceptServer ? this.acceptServer(socket, lc) : socket.destroy();
        return lc.websocket ? this.admission.acceptWebSocket(socket, lc, peer) : this.admission.accept(socket, lc, undefined, peer);
      },
      {
        // Not logged: a flood of these would flood the log too.
        refused: () => this.stats.reject('limit'),
        // Logged, since the operator will be asked why a client "cannot connect"; a flood of
        // plaintext connects is limited to a few lines a second.
        plaintextOnTls: (ip) => {
          if (this.plaintextLog.allow('', { count: 10, seconds: 1 }))
            this.log.info({ ip, listener: listenerKey(cfg) }, 'plaintext client on a TLS port: the client has TLS turned off, or should use a plaintext port');
        },
      },
      {
        trusted: (ip) => this.admission.proxyTrusted(ip),
        refused: (ip, reason) => this.admission.refused(ip, `PROXY protocol: ${reason}`, 'denied'),
      },
    );
    l.server.on('error', (err) => this.log.error({ err: err.message, listener: listenerKey(cfg) }, 'listener error'));
    l.server.on('tlsClientError', (err: Error, socket: Socket) => {
      this.stats.reject('tls_error');
      this.log.debug({ ip: normalizeIp(socket.remoteAddress ?? ''), err: err.message }, 'TLS handshake failed');
    });
    this.listeners.set(listenerKey(cfg), l);
    this.log.info({ address: cfg.address, port: l.port, tls: !!cfg.tls, ...(cfg.proxy ? { proxy: true } : {}) }, 'listening');
    return l;
  }

  /** Opens a /metrics and /healthz listener (not yet this.http: REHASH swaps it in). */
  openHttp(cfg: Config['metrics']): Promise<MetricsEndpoint> {
    return startHttp(this, cfg, (this.metricsView ??= new Metrics(this)));
  }

  readMotd(): string[] | undefined {
    try {
      return readFileSync(this.config.server.motd, 'utf8').replace(/\r/g, '').replace(/\n$/, '').split('\n');
    } catch {
      return undefined;
    }
  }

  // ---- connections -------------------------------------------------------------------------

  /** Makes a user of a connection that passed admission, the connection its one session. */
  addClient(conn: Connection, klass: ClassConfig, listener: ListenConfig): void {
    const client = User.connectedOn(conn, klass, this.serverName);
    this.sessionOf.set(conn, client.sessions[0]!);
    this.state.addClient(client);
    const bound = this.listeners.get(listenerKey(listener));
    conn.listener = bound?.label ?? listenerLabel(listener.address, listener.port);
    this.stats.accept(conn.listener);
    this.log.info({ conn: conn.id, ip: conn.ip, port: conn.port, tls: !!listener.tls, websocket: listener.websocket }, 'connection opened');
    this.emit('connected', client);
  }

  /** Connections open, every session of a user counted. */
  get connectionCount(): number {
    return this.sessionOf.size;
  }

  handleLine(conn: Connection, line: string, problem: LineProblem | undefined): void | Promise<void> {
    const session = this.sessionOf.get(conn);
    if (!session) return;
    const user = session.user;
    // Multiclient: the line runs as the user, with replies going back to the session that sent it.
    if (user.sessions.length > 1) return runAsSession(session, () => this.handleClientLine(user, line, problem));
    return this.handleClientLine(user, line, problem);
  }

  private handleClientLine(client: User, line: string, problem: LineProblem | undefined): void | Promise<void> {
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
      this.log.trace({ conn: client.session.conn.id, command: msg.command, params: loggableParams(msg.command, msg.params, this.namesService) }, 'command received');
    if (problem === 'invalid-utf8' && this.config.server.utf8only) {
      client.standardReply('FAIL', msg.command, 'INVALID_UTF8', 'Message rejected, your IRC software MUST use UTF-8 encoding on this network');
      return;
    }
    return this.router.dispatch(this, client, msg);
  }

  /**
   * A session's connection closed: what counts the connection goes now; the session leaves its
   * user, and the user quits with its last session. This runs in the turn of the connection's end
   * (net/connection.ts budgets those), with its farewell ERROR: a client that has read its ERROR
   * finds its quit done (WHOWAS, LUSERS), as clients and irctest expect.
   */
  connectionClosed(conn: Connection, reason: DisconnectReason): void {
    const session = this.sessionOf.get(conn);
    this.sessionOf.delete(conn);
    this.throttledPump.forget(conn);
    this.admission.releaseAddress(conn);
    if (!session) return;
    this.stats.connectionClosed(conn, session.fannedOut, reason.kind);
    // A labeled command of the closed connection still running ends with it.
    session.reply?.endBeforeClose();
    this.depart(session, conn, reason);
  }

  /** Finishes at once every connection end and departure waiting its turn (shutdown; in-process benchmarks). */
  finishDepartures(): void {
    finishPendingCloses();
  }

  private depart(session: Session, conn: Connection, reason: DisconnectReason): void {
    const user = session.user;
    const sessions = user.sessions;
    // One session of several going leaves the user (and its channels) to the others.
    if (sessions.length > 1) {
      sessions.splice(sessions.indexOf(session), 1);
      this.log.info({ conn: conn.id, user: user.id, nick: user.nick, reason: reason.text, kind: reason.kind }, 'session detached');
      return;
    }
    // An always-on user stays without sessions.
    if (user.registered && this.modules.some((m) => m.keepsUser?.(this, user, reason))) {
      sessions.length = 0;
      this.log.info({ conn: conn.id, user: user.id, nick: user.nick, reason: reason.text, kind: reason.kind }, 'last session detached; the user stays');
      return;
    }
    // The last one: the user quits with it still attached, so those who hear of the quit see
    // where it came from (its address, after WEBIRC too).
    this.state.removeClient(user, reason.text);
    sessions.length = 0;
    this.log.info({ conn: conn.id, ip: conn.ip, nick: user.nick, reason: reason.text, kind: reason.kind }, 'connection closed');
  }

  /**
   * Disconnects a client; QUIT is shown to its peers with this reason. Within a command of one of
   * its sessions (QUIT) only that session goes; otherwise (KILL, bans, shutdown) all of them, and a
   * user without sessions is removed at once.
   */
  disconnect(client: User, reason: DisconnectReason): void {
    // Services never quit: a ban or KILL that reaches them changes nothing.
    if (this.state.isService(client) && !this.stopping) return;
    if (client.isActing()) return this.closeSession(client.session, reason);
    if (client.sessions.length === 0) return this.state.removeClient(client, reason.text);
    // A copy: each close takes its session off the list (connectionClosed).
    for (const session of [...client.sessions]) this.closeSession(session, reason);
  }

  /** Closes one session's connection; what its labeled command said before (464, 465) goes ahead of ERROR. */
  closeSession(session: Session, reason: DisconnectReason): void {
    session.reply?.endBeforeClose();
    session.conn.close(reason);
  }

  /**
   * Moves the one session of `client` to `user` (logged in to the same account): `client` leaves
   * State, and the session is the user's from now on. A registering connection just goes; a
   * registered one (logged in after registering, then attached to its always-on user) quits
   * with `reason` for those who saw it.
   */
  attachSession(user: User, client: User, reason = 'Attached to another user'): Session {
    const session = client.sessions.pop()!;
    if (client.registered) this.state.removeClient(client, reason);
    else this.state.becomeSession(client);
    session.user = user;
    session.attachedAs = { user: client.user, realHost: client.realHost };
    user.sessions.push(session);
    this.log.info({ conn: session.conn.id, user: user.id, nick: user.nick }, 'session attached');
    return session;
  }

  /**
   * Introduces a registered local user with no session, as always-on users (every device
   * offline) and users behind linked servers will be: it holds its nick and channels, gets
   * nothing written, and goes by disconnect(). The caller has checked that the nick is free.
   * A `service` (NickServ) is not counted as a user and stays until the server stops.
   */
  introduceSessionlessUser(
    identity: { nick: string; user: string; host: string; realname: string; ip: string; realHost?: string; service?: boolean },
    home = this.state.me,
    /** Runs before the user is introduced: a linked server's user gets its id, modes and account here. */
    prepare?: (client: User) => void,
  ): User {
    // Negative: never one of the connection ids that the other users' ids are.
    const client = new User(--this.sessionlessIds, identity.ip, this.serverName);
    client.user = identity.user;
    client.realname = identity.realname;
    client.host = identity.host;
    client.realHost = identity.realHost ?? identity.host;
    this.state.addClient(client, home);
    this.state.setNick(client, identity.nick);
    prepare?.(client);
    if (identity.service) this.state.introduceService(client);
    else this.state.introduceUser(client);
    return client;
  }

  throttled(conn: Connection): void {
    this.throttledPump.throttled(conn);
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
        this.subscriberFailed({ conn: args[0] instanceof User ? args[0].id : undefined, module: module.name, hook }, err);
      }
    }
  }

  /**
   * The one report of a module's hook or State event subscriber that threw: logged, and the other
   * subscribers still run (a failing command handler is the router's to answer).
   */
  private subscriberFailed(where: { event?: string; hook?: string; module?: string; conn?: number }, err: unknown): void {
    this.log.error({ ...where, err: err instanceof Error ? err.stack : String(err) }, 'subscriber failed');
  }

  /** The channel of this name: in memory, or restored by the module that keeps it (Module.restoreChannel), or undefined. */
  findOrRestoreChannel(name: string): Channel | undefined {
    for (const m of this.modules) {
      if (this.state.findChannel(name)) break;
      m.restoreChannel?.(this, name);
    }
    return this.state.findChannel(name);
  }

  hasPrivilege(client: User, privilege: string): boolean {
    return client.oper?.privileges.has(privilege) ?? false;
  }

  /** Capabilities offered now, in module order. */
  capOffers(): CapOffer[] {
    return this.modules.flatMap((m) => m.caps ?? []).filter((c) => c.offered?.(this) ?? true);
  }

  /** Every registered user; services (NickServ) are not users and are left out. */
  *registeredClients(): Iterable<User> {
    for (const c of this.state.clients) if (c.registered && !this.state.isService(c)) yield c;
  }

  /** Re-reads the config file (REHASH, SIGHUP); see rehash.ts. */
  rehash(source: string): Promise<RehashResult> {
    return this.rehasher.run(source);
  }

  /** Sets the log level, and with it whether commands are traced. */
  setLogLevel(level: Config['log']['level']): void {
    this.log.level = level;
    this.traceCommands = this.log.isLevelEnabled('trace');
  }

  /** Graceful stop: refuse new connections, tell everyone, close within `graceMs`. */
  async stop(reason = 'Server shutting down', graceMs = 3000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.ready = false;
    this.sweep.stop();
    this.throttledPump.stop();
    const closing = [...this.listeners.values()].map((l) => l.close());
    // Users of linked servers stay on the network: the split (modules' close) takes them from here.
    for (const client of [...this.state.clients]) if (this.state.serverOf(client) === this.state.me) this.disconnect(client, { kind: 'shutdown', text: reason });
    this.finishDepartures();
    this.flushes.flushAll();
    await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, graceMs).unref())]);
    for (const m of this.modules) m.close?.(this);
    this.openedDb?.close();
    // Last to go, so /healthz says "stopping" (503) during the grace period.
    await this.http?.close();
    this.log.info({ reason }, 'server stopped');
  }
}

