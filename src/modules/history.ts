// Chat history (IRCv3 draft/chathistory, draft/event-playback): PRIVMSG, NOTICE, TAGMSG and
// TOPIC are kept per channel and per direct conversation (see history/store.ts) and replayed by
// CHATHISTORY in a `chathistory` batch; TARGETS lists the conversations with recent messages.
// Spec: https://ircv3.net/specs/extensions/chathistory (draft/event-playback is described there too)
import { historyBackend } from '../config/schema.js';
import { isChannelTarget } from '../protocol/channelname.js';
import type { Message } from '../protocol/message.js';
import { CAP } from '../server/caps.js';
import { Channel } from '../server/channel.js';
import type { User } from '../server/user.js';
import type { Module, MultilinePart } from '../server/module.js';
import type { Outgoing } from '../server/outgoing.js';
import { replyTo, type Reply } from '../server/reply.js';
import type { Server } from '../server/server.js';
import { serverSlot } from '../server/slots.js';
import { parseMessageRef, parseTimestampRef, strictlyBetween, type HistoryQuery, type MessageRef } from './history/query.js';
import type { Commands } from '../store/history.js';
import { SqlHistoryStore } from './history/sqlstore.js';
import { HistoryStore, type HistoryBackend, type HistoryItem } from './history/store.js';
import { splitStatusPrefix } from './messaging.js';
import { linesOfBatch, linesWithoutBatch } from './multiline.js';

const stores = serverSlot<HistoryBackend>('history');

/** The server's history, or undefined when [history] is disabled. */
export function historyStore(server: Server): HistoryBackend | undefined {
  return server.config.history.enabled ? stores.require(server) : undefined;
}

function record(server: Server, sender: User, target: Channel | User, out: Outgoing, multiline?: readonly MultilinePart[]): void {
  const store = historyStore(server);
  if (!store) return;
  if (target instanceof Channel) {
    // STATUSMSG ("@#chan") reached only some members; history is for all of them.
    if (splitStatusPrefix(server, out.msg.params[0]!).status) return;
    store.recordChannel(target, sender, out, multiline);
    // What users and services (another server's, as Atheme's) tell each other holds passwords: never kept.
  } else if (!server.state.isService(target) && !server.state.isService(sender)) store.recordDirect(sender, target, out, multiline);
}

/**
 * Replays one stored message: a draft/multiline message as its own multiline batch (nested in the
 * chathistory batch) for clients that can take it, else as its non-blank lines, only the first
 * with the msgid, as they were relayed live.
 */
function replay(client: User, reply: Reply, item: HistoryItem): void {
  const { msg, tags, multiline } = item;
  if (!multiline) return reply.send({ ...msg, tags });
  const source = msg.source!;
  const target = msg.params[0]!;
  if (client.hasCap(CAP['draft/multiline']) && client.hasCap(CAP.batch)) {
    reply.batch('draft/multiline', [target], linesOfBatch(source, msg.command, target, multiline), { source, tags });
    return;
  }
  for (const line of linesWithoutBatch(source, msg.command, target, multiline, tags)) reply.send(line);
}

/** Commands whose lines this client may get back: PRIVMSG and NOTICE always, others (TAGMSG, TOPIC) with event-playback. */
function replayable(client: User): Commands {
  if (!client.hasCap(CAP['draft/event-playback'])) return ['PRIVMSG', 'NOTICE', 'PRIVMSG', 'NOTICE'];
  return client.hasCap(CAP['message-tags']) ? ['PRIVMSG', 'NOTICE', 'TOPIC', 'TAGMSG'] : ['PRIVMSG', 'NOTICE', 'TOPIC', 'TOPIC'];
}

function handleChathistory(server: Server, client: User, msg: Message): void {
  const params = msg.params;
  const sub = (params[0] ?? '').toUpperCase();
  const fail = (code: string, ...rest: string[]) => client.standardReply('FAIL', 'CHATHISTORY', code, ...rest);
  const store = historyStore(server);
  if (!store) return fail('MESSAGE_ERROR', sub || '*', params[1] ?? '*', 'Chat history is disabled on this server');

  const arity: Record<string, number> = { LATEST: 4, BEFORE: 4, AFTER: 4, AROUND: 4, BETWEEN: 5, TARGETS: 4 };
  const wanted = arity[sub];
  if (wanted === undefined) return fail('INVALID_PARAMS', sub || '*', 'Unknown command');
  if (params.length < wanted) return fail('INVALID_PARAMS', sub, 'Insufficient parameters');
  if (params.length > wanted) return fail('INVALID_PARAMS', sub, 'Too many parameters');

  const limitText = params[wanted - 1]!;
  const asked = /^\d{1,9}$/.test(limitText) ? Number(limitText) : 0;
  if (asked < 1) return fail('INVALID_PARAMS', sub, limitText, 'Invalid limit');
  const limit = Math.min(asked, server.config.history.query_limit);

  if (sub === 'TARGETS') {
    const from = parseTimestampRef(params[1]!);
    const to = parseTimestampRef(params[2]!);
    if (from === undefined) return fail('INVALID_PARAMS', sub, params[1]!, 'Invalid timestamp');
    if (to === undefined) return fail('INVALID_PARAMS', sub, params[2]!, 'Invalid timestamp');
    return sendTargets(server, client, store, from, to, limit);
  }

  const target = params[1]!;
  const refs: MessageRef[] = [];
  for (const p of params.slice(2, wanted - 1)) {
    if (sub === 'LATEST' && p === '*') continue;
    const ref = parseMessageRef(p);
    if (ref === 'unsupported') return fail('INVALID_MSGREFTYPE', sub, target, p, 'Only msgid and timestamp references are supported');
    if (ref === 'invalid') return fail('INVALID_PARAMS', sub, p, 'Invalid message reference');
    refs.push(ref);
  }
  const query: HistoryQuery =
    sub === 'LATEST'
      ? { kind: sub, after: refs[0], limit }
      : sub === 'BETWEEN'
        ? { kind: sub, from: refs[0]!, to: refs[1]!, limit }
        : { kind: sub as 'BEFORE' | 'AFTER' | 'AROUND', ref: refs[0]!, limit };

  let conv: object | undefined;
  let name = target;
  if (isChannelTarget(target, server.config.channels.types)) {
    // Channel history is for members only: a channel's past is as private as its present.
    const channel = server.state.findChannel(target);
    if (!channel?.members.has(client)) return fail('INVALID_TARGET', sub, target, 'Messages could not be retrieved');
    conv = store.ofChannel(channel);
    name = channel.name;
  } else {
    conv = store.directWith(client, target);
  }
  const selected = conv ? store.select(conv, query, replayable(client)) : [];
  const reply = replyTo(client);
  reply.batch('chathistory', [name], () => {
    for (const item of selected) replay(client, reply, item);
  });
}

/** CHATHISTORY TARGETS: joined channels and direct conversations whose latest message lies between the bounds. */
function sendTargets(server: Server, client: User, store: HistoryBackend, from: number, to: number, limit: number): void {
  const found = store.directTargets(client);
  for (const channel of server.state.channelsOf(client)) {
    const conv = store.ofChannel(channel);
    const at = conv && store.latestAt(conv);
    if (at !== undefined) found.push({ name: channel.name, at });
  }
  const inRange = found.filter((t) => strictlyBetween(t.at, from, to)).sort((a, b) => a.at - b.at);
  const picked = from <= to ? inRange.slice(0, limit) : inRange.slice(-limit);
  const lines = picked.map((t) => ({
    source: server.name,
    command: 'CHATHISTORY',
    params: ['TARGETS', t.name, new Date(t.at).toISOString()],
  }));
  replyTo(client).batch('draft/chathistory-targets', [], lines);
}

const enabled = (server: Server) => server.config.history.enabled;

export const history: Module = {
  name: 'history',
  commands: {
    CHATHISTORY: {
      internal: true,
      // Each answer can replay up to [history] query_limit messages.
      penalty: 2,
      handler: handleChathistory,
      help: [
        'CHATHISTORY LATEST|BEFORE|AFTER|AROUND <target> <ref> <limit> | BETWEEN <target> <ref> <ref> <limit> | TARGETS <ts> <ts> <limit>',
        'Replays messages of a channel you are in or of a conversation with a user. <ref> is msgid=<id>,',
        'timestamp=YYYY-MM-DDThh:mm:ss.sssZ or, for LATEST, "*". TARGETS lists conversations active between two timestamps.',
      ],
    },
  },
  caps: [
    { name: 'draft/chathistory', offered: enabled },
    { name: 'draft/event-playback', offered: enabled },
  ],
  isupport: (cfg): Record<string, string | number> =>
    cfg.history.enabled ? { CHATHISTORY: cfg.history.query_limit, MSGREFTYPES: 'timestamp,msgid' } : {},
  hooks: {
    accountDropped: (server, folded) => historyStore(server)?.forgetAccount(folded),
    messageRelayed: record,
    rehashed: (server) => {
      const store = stores.require(server);
      if (server.config.history.enabled) store.reconfigure(server.config.history);
      else store.clear();
    },
  },
  init(server) {
    const cfg = server.config.history;
    const store: HistoryBackend =
      historyBackend(server.config) === 'sqlite'
        ? new SqlHistoryStore(cfg, server.state, server.db, (err, message) => server.log.error({ err }, message))
        : new HistoryStore(cfg, server.state);
    stores.set(server, store);
    server.stats.history = () => (server.config.history.enabled ? store.stats() : { messages: 0, bytes: 0 });
    server.state.events.on('channelDestroyed', ({ channel }) => store.forgetChannel(channel));
    server.state.events.on('channelRenamed', ({ channel, oldName }) => store.renameChannel(channel, oldName));
  },
  close(server) {
    server.stats.history = undefined;
    stores.get(server)?.close();
    stores.delete(server);
  },
};
