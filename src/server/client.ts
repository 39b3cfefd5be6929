// A client: the IRC-level state of one connection. Handlers talk to clients, never to sockets.
import type { ClassConfig } from '../config/schema.js';
import type { Connection } from '../net/connection.js';
import { serializeMessage, type Message, type Tags } from '../protocol/message.js';
import { Outgoing } from './outgoing.js';

/** Replies collected while a labeled command runs (IRCv3 labeled-response). */
export interface LabelContext {
  label: string;
  replies: Array<Message>;
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
  /** Enabled capabilities as a bitmask of CAP bits. */
  caps = 0;
  /** CAP LS version the client asked for (0 = never sent CAP LS). */
  capVersion = 0;
  /** True while CAP negotiation holds registration. */
  capNegotiating = false;
  /** User modes as letters, e.g. "iw". */
  modes = new Set<string>();
  away: string | undefined;
  account: string | undefined;
  /** The last nick asked for before registration, even one refused as taken (REGISTER * names it). */
  requestedNick: string | undefined;
  /** Password given with PASS before registration. */
  password: string | undefined;
  readonly signonAt = Date.now();
  /** Last time the client sent a message (WHOIS idle). */
  lastActiveAt = Date.now();
  label: LabelContext | undefined;
  /** Shared (relayed) messages written to this client, for the fan-out metric. */
  fannedOut = 0;
  /** Set by OPER: the oper block's name and its privileges. */
  oper: { name: string; privileges: Set<string> } | undefined;
  /** The hostname lookup started at connect; registration waits for it (cleared when done). */
  hostLookup: Promise<void> | undefined;
  /** Per-module state keyed by module name, allocated only by the modules that need it. */
  readonly ext = new Map<string, unknown>();

  constructor(
    readonly conn: Connection,
    public klass: ClassConfig,
    private readonly serverName: () => string,
  ) {
    this.host = conn.ip.includes(':') && conn.ip.startsWith(':') ? '0' + conn.ip : conn.ip;
    this.realHost = this.host;
  }

  get id(): number {
    return this.conn.id;
  }

  get ip(): string {
    return this.conn.ip;
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

  hasCap(bit: number): boolean {
    return (this.caps & bit) !== 0;
  }

  /** Sends one message to this client. Tags are filtered by its capabilities. */
  send(msg: Message): void {
    if (this.label) {
      this.label.replies.push(msg);
      return;
    }
    if (msg.tags) {
      this.sendOutgoing(new Outgoing({ source: msg.source, command: msg.command, params: msg.params }, msg.tags));
      return;
    }
    this.conn.write(Buffer.from(serializeMessage(msg) + '\r\n', 'utf8'));
  }

  /** Sends a shared message; its wire form is built once per view. */
  sendOutgoing(out: Outgoing, asRecipient = false): void {
    // A message this client receives as a target (e.g. a PRIVMSG to itself) is not a reply to
    // its labeled command; only the echo is.
    if (this.label && !asRecipient) {
      this.label.replies.push({ ...out.msg, tags: out.tagsFor(this.caps) });
      return;
    }
    this.fannedOut++;
    this.conn.write(out.bufferFor(this.caps));
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
