// REDACT (IRCv3 draft/message-redaction): deletes a PRIVMSG, NOTICE or TAGMSG from chat history
// and tells the clients that understand it. The message is looked up in history, which is what
// says who sent it; a message no longer kept there cannot be redacted (UNKNOWN_MSGID).
// Spec: https://ircv3.net/specs/extensions/message-redaction
import { isChannelTarget } from '../protocol/channelname.js';
import { CAP } from '../server/caps.js';
import type { Channel } from '../server/channel.js';
import type { User } from '../server/user.js';
import type { Module } from '../server/module.js';
import { relay } from '../server/outgoing.js';
import type { Server } from '../server/server.js';
import { historyStore } from './history.js';
import type { HistoryItem } from './history/store.js';

/** The spec lets REDACT name only these; history also holds topic changes. */
const REDACTABLE = ['PRIVMSG', 'NOTICE', 'TAGMSG', 'TAGMSG'] as const;

/** Whether the client sent the message: the same connection, or the same account then and now. */
function isSender(server: Server, client: User, item: HistoryItem): boolean {
  if (item.senderId === client.id) return true;
  return item.senderAccount !== undefined && client.account !== undefined && server.state.fold(client.account) === item.senderAccount;
}

function handleRedact(server: Server, client: User, params: string[]): void {
  const [target, msgid] = params as [string, string];
  const reason = params[2] || undefined;
  const fail = (code: string, ...rest: string[]) => client.standardReply('FAIL', 'REDACT', code, ...rest);
  const store = historyStore(server);
  const unknown = () => fail('UNKNOWN_MSGID', target, msgid, 'This message does not exist or is too old');

  let conv: object | undefined;
  let mayModerate = server.hasPrivilege(client, 'override');
  let recipients: User[];
  let shownTarget = target;
  let to: Channel | User | undefined;
  if (isChannelTarget(target, server.config.channels.types)) {
    const channel = server.state.findChannel(target);
    const held = channel?.members.get(client);
    if (!channel || held === undefined) return fail('INVALID_TARGET', target, `You cannot delete messages from ${target}`);
    // Channel operators moderate their channel.
    if (server.prefixes.holdsRank(held, 'op')) mayModerate = true;
    conv = store?.ofChannel(channel);
    recipients = [...channel.members.keys()];
    shownTarget = channel.name;
    to = channel;
  } else {
    const peer = server.state.findNick(target);
    conv = store?.directWith(client, target);
    if (!conv && !peer?.registered) return fail('INVALID_TARGET', target, `You cannot delete messages from ${target}`);
    recipients = peer?.registered && peer !== client ? [client, peer] : [client];
    if (peer?.registered) to = peer;
  }
  const item = conv && store!.find(conv, msgid, REDACTABLE);
  if (!conv || !item) return unknown();
  if (!isSender(server, client, item) && !mayModerate)
    return fail('REDACT_FORBIDDEN', target, msgid, 'You are not authorised to delete this message');

  redactStored(server, client, to, conv, msgid, shownTarget, recipients, reason);
}

/**
 * Deletes a message from a conversation's history and shows REDACT to the recipients that
 * understand it; linked servers hear of it through the messageRedacted hook (`to`: the channel,
 * or the other user of a direct conversation). Also what a redaction from another server does.
 * False when history here does not hold the message.
 */
export function redactStored(server: Server, by: User, to: Channel | User | undefined, conv: object, msgid: string, shownTarget: string, recipients: readonly User[], reason: string | undefined): boolean {
  const store = historyStore(server);
  if (!store?.find(conv, msgid, REDACTABLE)) return false;
  store.remove(conv, msgid);
  const out = relay(by, { source: by.mask, command: 'REDACT', params: reason ? [shownTarget, msgid, reason] : [shownTarget, msgid] });
  // Clients without the capability would not understand REDACT; they keep seeing the message.
  for (const r of recipients) if (r.hasCap(CAP['draft/message-redaction'])) r.sendOutgoing(out, r !== by);
  if (to) server.emit('messageRedacted', by, to, msgid, reason);
  return true;
}

export const redact: Module = {
  name: 'redact',
  commands: {
    REDACT: {
      internal: true,
      minParams: 2,
      handler: (server, client, msg) => handleRedact(server, client, msg.params),
      help: [
        'REDACT <target> <msgid> [:<reason>]',
        'Deletes a message you sent (channel operators: any message in their channel) from history and from clients that support it.',
      ],
    },
  },
  caps: [{ name: 'draft/message-redaction', offered: (server) => server.config.history.enabled }],
};
