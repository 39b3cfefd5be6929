// REDACT (IRCv3 draft/message-redaction): deletes a PRIVMSG, NOTICE or TAGMSG from chat history
// and tells the clients that understand it. The message is looked up in history, which is what
// says who sent it; a message no longer kept there cannot be redacted (UNKNOWN_MSGID).
// Spec: https://ircv3.net/specs/extensions/message-redaction
import { isChannelTarget } from '../protocol/channelname.js';
import { CAP } from '../server/caps.js';
import type { User } from '../server/user.js';
import type { Module } from '../server/module.js';
import { relay } from '../server/outgoing.js';
import type { Server } from '../server/server.js';
import { historyStore } from './history.js';
import type { Conversation, HistoryItem } from './history/store.js';

/** The spec lets REDACT name only these; history also holds topic changes. */
const REDACTABLE = new Set(['PRIVMSG', 'NOTICE', 'TAGMSG']);

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

  let conv: Conversation | undefined;
  let mayModerate = server.hasPrivilege(client, 'override');
  let recipients: User[];
  let shownTarget = target;
  if (isChannelTarget(target, server.config.channels.types)) {
    const channel = server.state.findChannel(target);
    const held = channel?.members.get(client);
    if (!channel || held === undefined) return fail('INVALID_TARGET', target, `You cannot delete messages from ${target}`);
    // Channel operators moderate their channel.
    if (server.prefixes.holdsRank(held, 'op')) mayModerate = true;
    conv = store?.ofChannel(channel);
    recipients = [...channel.members.keys()];
    shownTarget = channel.name;
  } else {
    const peer = server.state.findNick(target);
    conv = store?.directWith(client, target);
    if (!conv && !peer?.registered) return fail('INVALID_TARGET', target, `You cannot delete messages from ${target}`);
    recipients = peer?.registered && peer !== client ? [client, peer] : [client];
  }
  const item = conv?.items.find((m) => m.msgid === msgid && REDACTABLE.has(m.command));
  if (!conv || !item) return unknown();
  if (!isSender(server, client, item) && !mayModerate)
    return fail('REDACT_FORBIDDEN', target, msgid, 'You are not authorised to delete this message');

  store!.remove(conv, msgid);
  const out = relay(client, { source: client.mask, command: 'REDACT', params: reason ? [shownTarget, msgid, reason] : [shownTarget, msgid] });
  // Clients without the capability would not understand REDACT; they keep seeing the message.
  for (const r of recipients) if (r.hasCap(CAP['draft/message-redaction'])) r.sendOutgoing(out, r !== client);
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
