// A client: the IRC-level state of one connection. Handlers talk to clients, never to sockets.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ClassConfig } from '../config/schema.js';
import type { Connection } from '../net/connection.js';
import { addressKey } from '../protocol/mask.js';
import { serializeMessage, type Message, type Tags } from '../protocol/message.js';
import { CAP, capsHas, capsUnion, NO_CAPS, type Cap, type CapSet } from './caps.js';
import { Outgoing } from './outgoing.js';
import type { Reply } from './reply.js';
import { NO_MODULE_STATE } from './slots.js';

/**
 * The connection whose command is running (multiclient only). Handlers always get the user's
 * Client, so replies must find the session that asked, also after an await.
 */
const actingSession = new AsyncLocalStorage<Client>();

/** Shared by every client without user modes or module state (idle clients are most of them). */
const NO_MODES: ReadonlySet<string> = new Set();

/** Runs a command or burst of `session` (the user itself or one of its attached sessions). */
export function runAsSession<T>(session: Client, fn: () => T): T {
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

export class Client {
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
  /** This connection's capabilities (see `caps`). */
  ownCaps: CapSet = NO_CAPS;
  /** This connection's CAP LS version (0 = never sent CAP LS). */
  ownCapVersion = 0;
  /** True while CAP negotiation holds registration. */
  capNegotiating = false;
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
   * The reply taking this connection's lines: set by Reply itself (server/reply.ts) while a
   * labeled command runs or one of its batches is open; modules use replyTo().
   */
  reply: Reply | undefined;
  /** Batch reference tags given out on this connection so far (see newBatchRef). */
  private batchRefs = 0;
  /**
   * Multiclient: further connections attached to this user (same account and nick). This Client
   * keeps the identity, channels and modes; each session keeps its connection, caps and reply.
   */
  sessions: Client[] | undefined;
  /** On an attached session: the user it is a connection of. */
  attachedTo: Client | undefined;
  /** Shared (relayed) messages written to this client, for the fan-out metric. */
  fannedOut = 0;
  /** Set by OPER: the oper block's name and its privileges. */
  oper: { name: string; privileges: Set<string> } | undefined;
  /** The hostname lookup started at connect; registration waits for it (cleared when done). */
  hostLookup: Promise<void> | undefined;
  /** Values of modules' user slots (server/slots.ts), read and written only through the slots. */
  moduleState: readonly unknown[] = NO_MODULE_STATE;

  /** Stable for the user's lifetime, even when another session takes over its connection. */
  readonly id: number;

  constructor(
    public ownConn: Connection,
    public klass: ClassConfig,
    readonly serverName: () => string,
  ) {
    this.id = ownConn.id;
    this.host = ownConn.ip.includes(':') && ownConn.ip.startsWith(':') ? '0' + ownConn.ip : ownConn.ip;
    this.realHost = this.host;
  }

  /** True while a command of one of this user's sessions runs. */
  isActing(): boolean {
    return this.acting() !== undefined;
  }

  /** The session whose command is running, if it is one of this user's. */
  private acting(): Client | undefined {
    const s = actingSession.getStore();
    return s !== undefined && (s === this || s.attachedTo === this) ? s : undefined;
  }

  /** The session whose connection, caps and reply apply now: the acting one, else the user itself. */
  get session(): Client {
    return this.sessions === undefined ? this : (this.acting() ?? this);
  }

  /** The connection that is acting now: the one whose command runs, else the first one. */
  get conn(): Connection {
    return this.session.ownConn;
  }

  /**
   * A batch reference tag from this connection's one counter (call it on a session). Batches
   * are always written whole, so a tag needs only to differ from those of the batches around it.
   */
  newBatchRef(): string {
    return (++this.batchRefs).toString(36);
  }

  /**
   * Capabilities of the acting session; outside its own commands, a user with several sessions
   * has what any of them negotiated (each session's lines are then filtered by sessionAccepts).
   */
  get caps(): CapSet {
    if (this.sessions === undefined) return this.ownCaps;
    const a = this.acting();
    if (a) return a.ownCaps;
    let all = this.ownCaps;
    for (const s of this.sessions) all = capsUnion(all, s.ownCaps);
    return all;
  }

  set caps(value: CapSet) {
    this.session.ownCaps = value;
  }

  get capVersion(): number {
    return this.session.ownCapVersion;
  }

  set capVersion(value: number) {
    this.session.ownCapVersion = value;
  }

  get ip(): string {
    return this.conn.ip;
  }

  /** The address per-IP limits count this client under (an IPv6 address's /64). */
  get limitKey(): string {
    return addressKey(this.conn.ip);
  }

  get secure(): boolean {
    return this.conn.secure;
  }

  /** nick!user@host */
  get mask(): string {
    return `${this.nick}!${this.user || '*'}@${this.host}`;
  }

  /** The mask with the real host, for bans and opers. */
  get realMask(): string {
    return `${this.nick}!${this.user || '*'}@${this.realHost}`;
  }

  hasCap(cap: Cap): boolean {
    return capsHas(this.caps, cap);
  }

  /**
   * Sends one message to this client. Tags are filtered by its capabilities. A user with several
   * sessions: a reply goes to the session that asked; anything else to every session.
   */
  send(msg: Message): void {
    if (this.sessions === undefined) return this.sendOwn(msg);
    const a = this.acting();
    if (a) return a.sendOwn(msg);
    for (const s of this.allSessions()) if (sessionAccepts(s.ownCaps, msg.command)) s.sendOwn(msg);
  }

  private sendOwn(msg: Message): void {
    if (this.reply) return this.reply.send(msg);
    this.writeOwn(msg);
  }

  /** Writes to this session's connection, past any reply (the Reply writes its lines here). */
  writeOwn(msg: Message): void {
    if (msg.tags) {
      this.deliverOwn(new Outgoing({ source: msg.source, command: msg.command, params: msg.params }, msg.tags), true);
      return;
    }
    this.ownConn.writeText(serializeMessage(msg) + '\r\n');
  }

  /** Sends a shared message; its wire form is built once per view. Every session of the user gets it. */
  sendOutgoing(out: Outgoing, asRecipient = false): void {
    if (this.sessions === undefined) return this.deliverOwn(out, asRecipient);
    const a = this.acting() ?? this;
    // Only the asking session's copy can be a reply to its labeled command.
    for (const s of this.allSessions())
      if (sessionAccepts(s.ownCaps, out.msg.command)) s.deliverOwn(out, asRecipient || s !== a);
  }

  /** Sends to this user's sessions other than the acting one (what one session did, the others learn). */
  sendToOtherSessions(out: Outgoing): void {
    if (this.sessions === undefined) return;
    const a = this.acting() ?? this;
    for (const s of this.allSessions()) if (s !== a && sessionAccepts(s.ownCaps, out.msg.command)) s.deliverOwn(out, true);
  }

  private deliverOwn(out: Outgoing, asRecipient: boolean): void {
    // A message this client receives as a target (e.g. a PRIVMSG to itself) is not a reply to
    // its labeled command; only the echo is.
    if (this.reply && !asRecipient) return this.reply.send({ ...out.msg, tags: out.tagsFor(this.ownCaps) });
    this.fannedOut++;
    this.ownConn.write(out.bufferFor(this.ownCaps));
  }

  /** The user itself and its attached sessions. */
  allSessions(): Client[] {
    return this.sessions === undefined ? [this] : [this, ...this.sessions];
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
