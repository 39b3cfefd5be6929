// A session: one connection of a local user, with what belongs to that connection alone (its
// capabilities, the reply of the command it is running, its batch counter). A user has zero or
// more; deliveries to the user reach each of them (see User.send), replies only the one asking.
import type { ClassConfig } from '../config/schema.js';
import type { Connection } from '../net/connection.js';
import { serializeMessage, type Message } from '../protocol/message.js';
import { NO_CAPS, type CapSet } from './caps.js';
import type { User } from './user.js';
import { Outgoing } from './outgoing.js';
import type { Reply } from './reply.js';

export class Session {
  /** Capabilities this connection negotiated. */
  caps: CapSet = NO_CAPS;
  /** This connection's CAP LS version (0 = never sent CAP LS). */
  capVersion = 0;
  /** True while CAP negotiation holds registration. */
  capNegotiating = false;
  /**
   * The reply taking this connection's lines: set by Reply itself (server/reply.ts) while a
   * labeled command runs or one of its batches is open; modules use replyTo().
   */
  reply: Reply | undefined;
  /** Batch reference tags given out on this connection so far (see newBatchRef). */
  private batchRefs = 0;
  /** Shared (relayed) messages written to this connection, for the fan-out metric. */
  fannedOut = 0;
  /**
   * The ident and real host this connection registered with, when it attached to a user that
   * shows another session's (bans match each session by its own).
   */
  attachedAs: { user: string; realHost: string } | undefined;

  constructor(
    readonly conn: Connection,
    public klass: ClassConfig,
    /** The user this is a connection of; a registering connection that attaches to another user moves to it. */
    public user: User,
  ) {}

  get serverName(): () => string {
    return this.user.serverName;
  }

  /**
   * A batch reference tag from this connection's one counter. Batches are always written whole,
   * so a tag needs only to differ from those of the batches around it.
   */
  newBatchRef(): string {
    return (++this.batchRefs).toString(36);
  }

  /** Sends one message: into the reply in flight if there is one, else to the connection. */
  send(msg: Message): void {
    if (this.reply) return this.reply.send(msg);
    this.write(msg);
  }

  /** Writes to the connection, past any reply (the Reply writes its lines here). Tags are filtered by the caps. */
  write(msg: Message): void {
    if (msg.tags) {
      this.deliver(new Outgoing({ source: msg.source, command: msg.command, params: msg.params }, msg.tags), true);
      return;
    }
    this.conn.writeText(serializeMessage(msg) + '\r\n');
  }

  /** Writes a shared message in this connection's view (its wire form is built once per view). */
  deliver(out: Outgoing, asRecipient: boolean): void {
    // A message this session receives as a target (e.g. a PRIVMSG to itself) is not a reply to
    // its labeled command; only the echo is.
    if (this.reply && !asRecipient) return this.reply.send({ ...out.msg, tags: out.tagsFor(this.caps) });
    this.fannedOut++;
    this.conn.write(out.bufferFor(this.caps));
  }
}
