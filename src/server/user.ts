// A user as this server sees it: its identity, modes and channels, and its sessions (connections,
// see session.ts), of which it has zero or more. Handlers talk to users, never to sockets.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ClassConfig } from '../config/schema.js';
import type { Connection } from '../net/connection.js';
import { addressKey } from '../protocol/mask.js';
import type { Message, Tags } from '../protocol/message.js';
import { CAP, capsHas, capsUnion, NO_CAPS, type Cap, type CapSet } from './caps.js';
import type { Outgoing } from './outgoing.js';
import { Session } from './session.js';
import { NO_MODULE_STATE } from './slots.js';

/**
 * The session whose command is running (set only for users with several sessions). Handlers get
 * the user's User, so replies must find the session that asked, also after an await.
 */
const actingSession = new AsyncLocalStorage<Session>();

/**
 * A command run here for a user of another server (a remote WHOIS): its replies, which would
 * reach no session, go to `send`, which carries them back over the link.
 */
const answering = new AsyncLocalStorage<{ user: User; send: (msg: Message) => void }>();

/** Runs `fn` answering for `user`, a user without sessions: what it is sent goes to `send`. */
export function answerFor<T>(user: User, send: (msg: Message) => void, fn: () => T): T {
  return answering.run({ user, send }, fn);
}

/** Shared by every client without user modes or module state (idle clients are most of them). */
const NO_MODES: ReadonlySet<string> = new Set();

/** Runs a command or burst of `session`, so that its user's replies go to it. */
export function runAsSession<T>(session: Session, fn: () => T): T {
  return actingSession.run(session, fn);
}

/**
 * Lines a session gets only with the capability that announces them. Deliveries to a user with
 * several sessions are gated on what any of them negotiated; each session is then filtered here.
 */
const LINE_CAPS: Record<string, Cap> = {
  ACCOUNT: CAP['account-notify'],
  AWAY: CAP['away-notify'],
  BATCH: CAP.batch,
  CHGHOST: CAP.chghost,
  MARKREAD: CAP['draft/read-marker'],
  METADATA: CAP['draft/metadata-3'],
  REDACT: CAP['draft/message-redaction'],
  RENAME: CAP['draft/channel-rename'],
  SETNAME: CAP.setname,
  TAGMSG: CAP['message-tags'],
};

function sessionAccepts(caps: CapSet, command: string): boolean {
  const needed = LINE_CAPS[command];
  return needed === undefined || capsHas(caps, needed);
}

export class User {
  nick = '*';
  /** Casefolded nick, the key in the nick index ('' until a nick is set). */
  nickKey = '';
  user = '';
  realname = '';
  /** The host shown to others (may be a cloak). */
  host: string;
  /** The resolved or literal host before cloaking. */
  realHost: string;
  registered = false;
  /** User modes as letters, e.g. "iw". */
  modes: ReadonlySet<string> = NO_MODES;
  away: string | undefined;
  account: string | undefined;
  /** The last nick asked for before registration, even one refused as taken (REGISTER * names it). */
  requestedNick: string | undefined;
  readonly signonAt = Date.now();
  /** Last time the client sent a message (WHOIS idle). */
  lastActiveAt = Date.now();
  /**
   * The user's connections, in the order they came. Usually one; several with multiclient; none
   * is legal (a user introduced by State.introduceSessionlessUser: always-on or linked users).
   */
  sessions: Session[] = [];
  /** Set by OPER: the oper block's name and its privileges. */
  oper: { name: string; privileges: Set<string> } | undefined;
  /** The hostname lookup started at connect; registration waits for it (cleared when done). */
  hostLookup: Promise<void> | undefined;
  /** Values of modules' user slots (server/slots.ts), read and written only through the slots. */
  moduleState: readonly unknown[] = NO_MODULE_STATE;

  /**
   * `id` is stable for the user's lifetime (the first connection's id); `address` is the IP it
   * came from, shown when no session tells a newer one.
   */
  constructor(
    readonly id: number,
    private readonly address: string,
    readonly serverName: () => string,
  ) {
    this.host = address.startsWith(':') ? '0' + address : address;
    this.realHost = this.host;
  }

  /** A user for a connection that has just passed admission, the connection its one session. */
  static connectedOn(conn: Connection, klass: ClassConfig, serverName: () => string): User {
    const client = new User(conn.id, conn.ip, serverName);
    // A literal of one: pushed onto an empty array, it would keep room for 17 (150 bytes per client).
    client.sessions = [new Session(conn, klass, client)];
    return client;
  }

  /** True while a command of one of this user's sessions runs. */
  isActing(): boolean {
    return this.acting() !== undefined;
  }

  /** The session whose command is running, if it is one of this user's. */
  private acting(): Session | undefined {
    const s = actingSession.getStore();
    return s !== undefined && s.user === this ? s : undefined;
  }

  /** The acting session, else the first; undefined for a user without sessions. */
  private sessionNow(): Session | undefined {
    return this.sessions.length === 1 ? this.sessions[0] : (this.acting() ?? this.sessions[0]);
  }

  /**
   * The session whose connection, caps and reply apply now: the one whose command runs, else the
   * first. Commands always come from a session; asking this of a user without one is a bug.
   */
  get session(): Session {
    const s = this.sessionNow();
    if (!s) throw new Error(`user ${this.nick} has no session`);
    return s;
  }

  /**
   * Whether the acting session has `cap`; outside its own commands, whether any session has it
   * (deliveries are gated on that, and each session's lines are then filtered by sessionAccepts).
   */
  hasCap(cap: Cap): boolean {
    return capsHas(this.capsNow(), cap);
  }

  private capsNow(): CapSet {
    const sessions = this.sessions;
    if (sessions.length === 1) return sessions[0]!.caps;
    const a = this.acting();
    if (a) return a.caps;
    let all = NO_CAPS;
    for (const s of sessions) all = capsUnion(all, s.caps);
    return all;
  }

  /** The IP of the acting (else first) session; the one the user came from when it has none. */
  get ip(): string {
    return this.sessionNow()?.conn.ip ?? this.address;
  }

  /** The address per-IP limits count this client under (an IPv6 address's /64). */
  get limitKey(): string {
    return addressKey(this.ip);
  }

  /** Whether the acting (else first) session's connection is TLS; false without sessions. */
  get secure(): boolean {
    return this.sessionNow()?.conn.secure ?? false;
  }

  /** nick!user@host */
  get mask(): string {
    return `${this.nick}!${this.user || '*'}@${this.host}`;
  }

  /** The mask with the real host, for bans and opers. */
  get realMask(): string {
    return `${this.nick}!${this.user || '*'}@${this.realHost}`;
  }

  /**
   * Sends one message to this user. A reply goes to the session that asked; anything else to
   * every session (none: nothing is written).
   */
  send(msg: Message): void {
    const sessions = this.sessions;
    // Most users have one session: no acting lookup, no loop.
    if (sessions.length === 1) return sessions[0]!.send(msg);
    if (sessions.length === 0) {
      const remote = answering.getStore();
      if (remote?.user === this) remote.send(msg);
      return;
    }
    const a = this.acting();
    if (a) return a.send(msg);
    for (const s of sessions) if (sessionAccepts(s.caps, msg.command)) s.send(msg);
  }

  /** Sends a shared message; its wire form is built once per view. Every session of the user gets it. */
  sendOutgoing(out: Outgoing, asRecipient = false): void {
    const sessions = this.sessions;
    if (sessions.length === 1) return sessions[0]!.deliver(out, asRecipient);
    const a = this.acting() ?? sessions[0];
    // Only the asking session's copy can be a reply to its labeled command.
    for (const s of sessions) if (sessionAccepts(s.caps, out.msg.command)) s.deliver(out, asRecipient || s !== a);
  }

  /** Sends to this user's sessions other than the acting one (what one session did, the others learn). */
  sendToOtherSessions(out: Outgoing): void {
    const sessions = this.sessions;
    if (sessions.length < 2) return;
    const a = this.acting() ?? sessions[0];
    for (const s of sessions) if (s !== a && sessionAccepts(s.caps, out.msg.command)) s.deliver(out, true);
  }

  /** Sends a numeric from the server with this client's nick as first parameter. */
  numeric(code: string, ...params: string[]): void {
    this.send({ source: this.serverName(), command: code, params: [this.nick, ...params] });
  }

  /** Sends a message whose source is the server. */
  fromServer(command: string, params: string[], tags?: Tags): void {
    this.send({ source: this.serverName(), command, params, tags });
  }

  /** IRCv3 standard-replies: FAIL/WARN/NOTE. */
  standardReply(kind: 'FAIL' | 'WARN' | 'NOTE', command: string, code: string, ...rest: string[]): void {
    this.fromServer(kind, [command, code, ...rest]);
  }
}
