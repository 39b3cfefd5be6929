// The replies to one command, as Ergo's ResponseBuffer: IRCv3 labeled-response
// (https://ircv3.net/specs/extensions/labeled-response) puts the label on an ACK, on the only
// line, or on a labeled-response batch around every line; batches opened while answering
// (chathistory, multiline, metadata) nest in it (https://ircv3.net/specs/extensions/batch); and
// every batch a connection is sent takes its reference tag from that connection's one counter.
import type { Message, Tags } from '../protocol/message.js';
import { CAP, capsHas } from './caps.js';
import type { User } from './user.js';
import type { Session } from './session.js';

/**
 * The reply of the command `client`'s acting session is running (one that writes at once when
 * the command has no label). Handlers and hooks ask for it here rather than being handed it:
 * most never need it, since client.send and client.numeric reach it on their own, and the hooks
 * that do (metadata's batches on JOIN and in the welcome burst) run deep inside other modules'
 * commands, every one of which would have to pass it along.
 */
export function replyTo(client: User): Reply {
  const session = client.session;
  return session.reply ?? new Reply(session, undefined);
}

export class Reply {
  /** Lines held back while the label is unanswered; undefined once they go out as they come. */
  private lines: Message[] | undefined;
  /** Reference tags of the batches open now, innermost last. */
  private readonly open: string[] = [];
  /** The session's reply before begin() (a multiline batch's label answered inside the closing BATCH's command). */
  private outer: Reply | undefined;
  private batchCarriesLabel = false;

  constructor(
    readonly session: Session,
    private label: string | undefined,
  ) {
    if (label !== undefined) this.lines = [];
  }

  /** True while the label is unanswered: lines sent now are part of the answer. */
  get labeled(): boolean {
    return this.label !== undefined;
  }

  /** Takes every line the session is sent until end() (the router begins one per labeled command). */
  begin(): this {
    this.outer = this.session.reply;
    this.session.reply = this;
    return this;
  }

  /** One line of the answer, in the innermost open batch unless it is in a batch of its own (which then nests). */
  send(msg: Message): void {
    const batch = this.open[this.open.length - 1];
    if (batch !== undefined && msg.tags?.batch === undefined) msg = { ...msg, tags: { ...msg.tags, batch } };
    if (this.lines) this.lines.push(msg);
    else this.session.write(msg);
  }

  /**
   * Sends `body` (lines, or what a function sends) inside a batch of `type`. A client without the
   * batch capability gets the lines bare: BATCH is only for clients that asked for it. `opening`
   * gives the BATCH + line another source and tags (a replayed multiline message carries its
   * sender and msgid there).
   */
  batch(type: string, params: string[], body: readonly Message[] | (() => void), opening?: { source: string; tags: Tags }): void {
    const fill = typeof body === 'function' ? body : () => body.forEach((line) => this.send(line));
    if (!capsHas(this.session.caps, CAP.batch)) return fill();
    const ref = this.session.newBatchRef();
    const server = this.session.serverName();
    this.send({ source: opening?.source ?? server, command: 'BATCH', params: [`+${ref}`, type, ...params], tags: opening?.tags });
    // Lines sent through the client (client.numeric) inside the batch come here too.
    const before = this.session.reply;
    this.session.reply = this;
    this.open.push(ref);
    try {
      fill();
    } finally {
      this.open.pop();
      this.session.reply = before;
      this.send({ source: server, command: 'BATCH', params: [`-${ref}`] });
    }
  }

  /**
   * When the whole answer is one batch (a multiline message's echo), its BATCH + line carries the
   * label instead of a labeled-response batch around it: labeled-response allows "an existing
   * type applicable to the entire response".
   */
  letBatchCarryLabel(): void {
    this.batchCarriesLabel = true;
  }

  /**
   * The label is answered later, by another command (a multiline batch, when it closes): this one
   * gets no ACK. Returns the label; lines held so far go out unlabeled.
   */
  defer(): string | undefined {
    const label = this.label;
    const lines = this.lines;
    this.label = undefined;
    this.lines = undefined;
    if (lines) for (const line of lines) this.session.write(line);
    return label;
  }

  /** The command is done: the answer goes out (ACK when there were no lines). */
  end(): void {
    this.finish(true);
  }

  /**
   * The connection closes within the command (QUIT, a refused registration): what was said so far
   * goes out before the ERROR line, which answers a silent command itself.
   */
  endBeforeClose(): void {
    this.finish(false);
  }

  private finish(ackSilence: boolean): void {
    if (this.session.reply === this) this.session.reply = this.outer;
    const { label, lines } = this;
    this.label = undefined;
    this.lines = undefined;
    if (label === undefined || !lines) return;
    const session = this.session;
    const server = session.serverName();
    if (lines.length === 0) {
      if (ackSilence) session.write({ source: server, command: 'ACK', params: [], tags: { label } });
      return;
    }
    if (lines.length === 1 || (this.batchCarriesLabel && isOneBatch(lines))) {
      session.write(tagged(lines[0]!, 'label', label));
      for (let i = 1; i < lines.length; i++) session.write(lines[i]!);
      return;
    }
    // Without batch, labeled-response cannot be used; the lines go out as they would unlabeled.
    if (!capsHas(session.caps, CAP.batch)) {
      for (const line of lines) session.write(line);
      return;
    }
    const ref = session.newBatchRef();
    session.write({ source: server, command: 'BATCH', params: [`+${ref}`, 'labeled-response'], tags: { label } });
    for (const line of lines) session.write(line.tags?.batch === undefined ? tagged(line, 'batch', ref) : line);
    session.write({ source: server, command: 'BATCH', params: [`-${ref}`] });
  }
}

function tagged(msg: Message, key: string, value: string): Message {
  return { ...msg, tags: { ...msg.tags, [key]: value } };
}

/** Whether the lines are one batch from its BATCH + to its BATCH -, with nothing outside it. */
function isOneBatch(lines: readonly Message[]): boolean {
  const first = lines[0]!;
  const last = lines[lines.length - 1]!;
  if (first.command !== 'BATCH' || !first.params[0]?.startsWith('+') || first.tags?.batch !== undefined) return false;
  const ref = first.params[0].slice(1);
  if (last.command !== 'BATCH' || last.params[0] !== `-${ref}`) return false;
  for (let i = 1; i < lines.length - 1; i++) if (lines[i]!.tags?.batch !== ref) return false;
  return true;
}
