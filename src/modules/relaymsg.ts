// RELAYMSG (IRCv3 draft/relaymsg, https://github.com/ircv3/ircv3-specifications/pull/417): a
// bridge bot sends a channel message as one of its remote users, "nick/discord!relay@<bot's
// host>", tagged draft/relaymsg=<bot> for clients with the capability, whose value is the
// separators a relayed nick must contain. Refusals are FAIL RELAYMSG INVALID_NICK or PRIVS_NEEDED,
// the codes Ergo uses; channel rules (+n, +m, bans) apply to the bot as to any message it sends.
import { RELAYMSG_RESERVED } from '../config/schema.js';
import { isChannelTarget } from '../protocol/channelname.js';
import { ERR } from '../protocol/numerics.js';
import type { User } from '../server/user.js';
import type { Handler, Module } from '../server/module.js';
import { newMsgid, relay } from '../server/outgoing.js';
import type { Server } from '../server/server.js';
import { clientTags, fitLine, resolveTarget, sendResolved } from './messaging.js';

/** Why a relayed nick is refused, or undefined when it is fine. */
function nickProblem(server: Server, nick: string): string | undefined {
  const { separators } = server.config.relaymsg;
  if (nick.length > server.config.limits.nicklen) return `Relayed nicks are at most ${server.config.limits.nicklen} characters`;
  if (/[\x00-\x20\x7f]/.test(nick) || [...nick].some((c) => RELAYMSG_RESERVED.includes(c)))
    return `Relayed nicks may not contain spaces or any of ${RELAYMSG_RESERVED}`;
  if (![...nick].some((c) => separators.includes(c))) return `Relayed nicks must contain one of ${separators}`;
  return undefined;
}

/** Opers with the relaymsg privilege; channel operators of that channel when [relaymsg] chanops is on. */
function mayRelay(server: Server, client: User, held: string | undefined): boolean {
  if (server.hasPrivilege(client, 'relaymsg')) return true;
  return server.config.relaymsg.chanops && server.prefixes.holdsRank(held, 'op');
}

const handleRelaymsg: Handler = (server, client, msg) => {
  const [target, nick, text] = msg.params as [string, string, string];
  const fail = (code: string, why: string) => client.standardReply('FAIL', 'RELAYMSG', code, why);
  if (!server.config.relaymsg.enabled) return fail('DISABLED', 'RELAYMSG is not enabled on this server');
  const channel = isChannelTarget(target, server.config.channels.types) ? server.state.findChannel(target) : undefined;
  if (!channel) return client.numeric(ERR.NOSUCHCHANNEL, target, 'No such channel');
  const held = channel.members.get(client);
  if (held === undefined) return client.numeric(ERR.NOTONCHANNEL, channel.name, "You're not on that channel");
  const problem = nickProblem(server, nick);
  if (problem) return fail('INVALID_NICK', problem);
  if (!mayRelay(server, client, held)) return fail('PRIVS_NEEDED', 'You must be a channel operator to relay messages here');
  if (text === '') return client.numeric(ERR.NOTEXTTOSEND, 'No text to send');
  const resolved = resolveTarget(server, client, 'PRIVMSG', channel.name, [text]);
  if (!resolved) return;
  const source = `${nick}!relay@${client.host}`;
  const tags = { ...clientTags(client, msg), 'draft/relaymsg': client.nick };
  const params = [channel.name, fitLine(server, source, 'PRIVMSG', channel.name, text)];
  // Not relay(client, ...): the bot's account and bot flag are not the relayed user's.
  const out = relay(undefined, { source, command: 'PRIVMSG', params }, { msgid: newMsgid(), clientTags: tags });
  sendResolved(server, client, resolved, out, false);
  server.log.debug({ conn: client.session.conn.id, bot: client.nick, channel: channel.name, as: nick }, 'RELAYMSG');
};

export const relaymsg: Module = {
  name: 'relaymsg',
  commands: {
    RELAYMSG: {
      minParams: 3,
      handler: handleRelaymsg,
      help: [
        'RELAYMSG <channel> <nick> :<text>',
        'Sends a message to a channel as a user of a bridged network, e.g. "alice/discord" (bridge bots:',
        'channel operators, or opers with the "relaymsg" privilege). The nick must contain a separator (CAP LS).',
      ],
    },
  },
  caps: [
    {
      name: 'draft/relaymsg',
      value: (server) => server.config.relaymsg.separators,
      offered: (server) => server.config.relaymsg.enabled,
    },
  ],
};
