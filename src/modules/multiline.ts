// IRCv3 draft/multiline over client-initiated batches: BATCH +ref draft/multiline <target>, then
// PRIVMSG or NOTICE lines tagged batch=ref, then BATCH -ref. The lines are held until the batch
// closes and then relayed as one message: as a multiline batch to clients that negotiated it,
// as separate non-blank lines to the others. Each line still costs its flood token on the
// connection, and the held text is bounded by [limits] multiline_max_bytes and _max_lines.
// Spec: https://ircv3.net/specs/extensions/multiline
import type { Message, Tags } from '../protocol/message.js';
import { CAP } from '../server/caps.js';
import type { User } from '../server/user.js';
import type { Module, MultilinePart } from '../server/module.js';
import { newMsgid, Outgoing, relay } from '../server/outgoing.js';
import { Reply, replyTo } from '../server/reply.js';
import type { Server } from '../server/server.js';
import { userSlot } from '../server/slots.js';
import { clientTags, resolveTarget } from './messaging.js';

const BATCH_TYPE = 'draft/multiline';
const CONCAT_TAG = 'draft/multiline-concat';
const batchStates = userSlot<BatchState>();
/** IRCv3 batch: reference tags are ASCII letters, digits and hyphens. */
const REFTAG = /^[A-Za-z0-9-]{1,64}$/;

interface OpenBatch {
  ref: string;
  target: string;
  /** The label of the opening BATCH: the answer to the whole batch carries it. */
  label: string | undefined;
  /** User-only tags, which multiline puts on the opening BATCH. */
  tags: Tags | undefined;
  command: 'PRIVMSG' | 'NOTICE' | undefined;
  lines: Array<{ text: string; concat: boolean }>;
  /** Bytes of the combined text so far (max-bytes). */
  bytes: number;
}

interface BatchState {
  open: OpenBatch | undefined;
  /** A batch refused midway: its remaining lines are dropped without more errors. */
  abandoned: string | undefined;
}

function stateOf(client: User): BatchState | undefined {
  return batchStates.get(client);
}

/** Refuses the open batch: FAIL BATCH <code>, and its remaining lines will be ignored. */
function refuse(client: User, state: BatchState, code: string, ...rest: string[]): void {
  const open = state.open;
  state.open = undefined;
  state.abandoned = open?.ref;
  // The refusal answers the opening BATCH, whose label waited for it.
  const reply = new Reply(client.session, open?.label).begin();
  client.standardReply('FAIL', 'BATCH', code, ...rest);
  reply.end();
}

/**
 * Router claim: lines of the open batch are collected, not run. Anything else while a batch is
 * open breaks it (client-initiated batches admit nothing in between), except PING and PONG so a
 * keepalive cannot cost a message.
 */
function claimLine(server: Server, client: User, msg: Message): boolean {
  const state = stateOf(client);
  if (!state || msg.command === 'BATCH') return false;
  const tag = msg.tags?.batch;
  const open = state.open;
  if (!open) return tag !== undefined && tag === state.abandoned;
  if (tag === open.ref) {
    addLine(server, client, state, open, msg);
    return true;
  }
  if (tag === undefined && (msg.command === 'PING' || msg.command === 'PONG')) return false;
  refuse(client, state, 'MULTILINE_INVALID', `Batch ${open.ref} was interrupted by a line outside it`);
  return tag !== undefined;
}

function addLine(server: Server, client: User, state: BatchState, open: OpenBatch, msg: Message): void {
  const limits = server.config.limits;
  const command = msg.command;
  if ((command !== 'PRIVMSG' && command !== 'NOTICE') || (open.command !== undefined && command !== open.command))
    return refuse(client, state, 'MULTILINE_INVALID', 'A multiline batch holds only PRIVMSG or only NOTICE lines');
  const target = msg.params[0] ?? '';
  if (server.state.fold(target) !== server.state.fold(open.target))
    return refuse(client, state, 'MULTILINE_INVALID_TARGET', open.target, target, 'Invalid multiline target');
  const text = msg.params[1] ?? '';
  const concat = msg.tags?.[CONCAT_TAG] !== undefined;
  if (concat && text === '') return refuse(client, state, 'MULTILINE_INVALID', 'A concatenated line may not be blank');
  if (open.lines.length >= limits.multiline_max_lines)
    return refuse(client, state, 'MULTILINE_MAX_LINES', String(limits.multiline_max_lines), 'Multiline batch max-lines exceeded');
  // A line feed joins each line to the one before, except a concatenated one.
  const bytes = open.bytes + Buffer.byteLength(text) + (open.lines.length > 0 && !concat ? 1 : 0);
  if (bytes > limits.multiline_max_bytes)
    return refuse(client, state, 'MULTILINE_MAX_BYTES', String(limits.multiline_max_bytes), 'Multiline batch max-bytes exceeded');
  open.command = command;
  open.bytes = bytes;
  open.lines.push({ text, concat });
}

function handleBatch(server: Server, client: User, msg: Message): void {
  const [refArg, type, target] = msg.params as [string, string | undefined, string | undefined];
  let state = stateOf(client);
  const sign = refArg[0];
  const ref = refArg.slice(1);
  if ((sign !== '+' && sign !== '-') || !REFTAG.test(ref)) {
    client.standardReply('FAIL', 'BATCH', 'INVALID_REFTAG', refArg, 'Invalid batch reference tag');
    return;
  }
  if (sign === '-') {
    const open = state?.open;
    if (state && open?.ref === ref) return closeBatch(server, client, state, open);
    if (state?.abandoned === ref) return; // refused already; its end needs no second error
    client.standardReply('FAIL', 'BATCH', 'MULTILINE_INVALID', `No open batch ${ref}`);
    return;
  }
  // The answer to a labeled BATCH comes when the batch ends, so this command must not ACK it now.
  const label = type === BATCH_TYPE ? replyTo(client).defer() : undefined;
  if (!state) batchStates.set(client, (state = { open: undefined, abandoned: undefined }));
  if (state.open) refuse(client, state, 'MULTILINE_INVALID', `Batch ${state.open.ref} was not closed before another began`);
  // A refused batch is void: the lines the client still sends for it are dropped, not run.
  if (type !== BATCH_TYPE) {
    state.abandoned = ref;
    client.standardReply('FAIL', 'BATCH', 'UNKNOWN_TYPE', ref, type!, 'Unknown batch type'); // minParams: "+" comes with a type
    return;
  }
  state.open = { ref, target: target ?? '', label, tags: clientTags(client, msg), command: undefined, lines: [], bytes: 0 };
  if (!client.hasCap(CAP['draft/multiline']) || !client.hasCap(CAP.batch))
    return refuse(client, state, 'MULTILINE_INVALID', 'Enable the draft/multiline and batch capabilities first');
  if (!target) return refuse(client, state, 'MULTILINE_INVALID', 'A multiline batch needs a target');
}

function closeBatch(server: Server, client: User, state: BatchState, open: OpenBatch): void {
  state.open = undefined;
  // The whole batch is one command: its answer carries the opening BATCH's label (the closing
  // line's own label then gets an ACK), or else the closing line's.
  const reply = open.label === undefined ? replyTo(client) : new Reply(client.session, open.label).begin();
  // With echo-message the answer is the echoed batch, whose start then carries the label.
  reply.letBatchCarryLabel();
  try {
    relayBatch(server, client, open);
  } finally {
    if (open.label !== undefined) reply.end();
  }
}

/** The lines of a multiline message, to go inside its batch (without the BATCH lines around them or the batch tag). */
export function linesOfBatch(source: string, command: string, target: string, parts: readonly MultilinePart[]): Message[] {
  return parts.map((l): Message => ({ source, command, params: [target, l.text], tags: l.concat ? { [CONCAT_TAG]: '' } : undefined }));
}

/**
 * A multiline message for clients without the capability: its non-blank lines one by one, each
 * with the message's tags but only the first with its msgid.
 */
export function linesWithoutBatch(source: string, command: string, target: string, parts: readonly MultilinePart[], tags: Tags): Message[] {
  const { msgid: _, ...laterTags } = tags;
  return parts
    .filter((l) => l.text !== '')
    .map((l, i) => ({ source, command, params: [target, l.text], tags: i === 0 ? tags : laterTags }));
}

/** Relays a closed batch to its recipients and the sender's other sessions, and echoes it with echo-message. */
function relayBatch(server: Server, client: User, open: OpenBatch): void {
  if (open.lines.every((l) => l.text === '')) {
    client.standardReply('FAIL', 'BATCH', 'MULTILINE_INVALID', 'A multiline message needs a line that is not blank');
    return;
  }
  const command = open.command!;
  const resolved = resolveTarget(server, client, command, open.target, open.lines.map((l) => l.text));
  if (!resolved) return;
  // One tag for every recipient, so the lines are serialized once. The sender's counter serves:
  // batches reach a connection whole, so a tag only has to differ from those of the batches
  // around it (the sender's labeled-response batch, from the same counter).
  const ref = client.session.newBatchRef();
  const start = relay(
    client,
    { source: client.mask, command: 'BATCH', params: [`+${ref}`, BATCH_TYPE, open.target] },
    { msgid: newMsgid(), clientTags: open.tags },
  );
  const batched = [start, ...linesOfBatch(client.mask, command, open.target, open.lines).map(({ tags, ...line }) => new Outgoing(line, { batch: ref, ...tags }))];
  batched.push(new Outgoing({ source: server.name, command: 'BATCH', params: [`-${ref}`] }));
  const fallback = linesWithoutBatch(client.mask, command, open.target, open.lines, start.tags).map(({ tags, ...line }) => new Outgoing(line, tags));
  for (const recipient of resolved.recipients) {
    const lines = recipient.hasCap(CAP['draft/multiline']) && recipient.hasCap(CAP.batch) ? batched : fallback;
    for (const out of lines) recipient.sendOutgoing(out, true);
  }
  if (!resolved.opsOnly) server.emit('messageRelayed', client, resolved.to, fallback[0]!, open.lines);
  const echo = client.hasCap(CAP['echo-message']);
  for (const out of batched) {
    if (echo) client.sendOutgoing(out);
    else client.sendToOtherSessions(out);
  }
}

export const multiline: Module = {
  name: 'multiline',
  commands: {
    BATCH: {
      internal: true,
      // Opening a batch names its type too.
      minParams: (params) => (params[0]?.startsWith('+') ? 2 : 1),
      handler: handleBatch,
      help: [
        'BATCH +<ref> draft/multiline <target> | BATCH -<ref>',
        'Opens or closes a multiline message: the PRIVMSG or NOTICE lines tagged batch=<ref> in',
        'between are sent as one message (IRCv3 draft/multiline; needs that capability and batch).',
      ],
    },
  },
  caps: [
    {
      name: 'draft/multiline',
      value: (server) => `max-bytes=${server.config.limits.multiline_max_bytes},max-lines=${server.config.limits.multiline_max_lines}`,
    },
  ],
  init: (server) => server.router.lineClaims.push(claimLine),
};
