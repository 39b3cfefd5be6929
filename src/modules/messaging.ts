// PRIVMSG, NOTICE and TAGMSG to nicks and channels (Modern IRC "Sending Messages", IRCv3
// message-tags, echo-message, msgid), with user mode +R (accept.ts) and the channel's
// op-moderation (+U: the messages of members without voice reach the operators only, as Ergo and
// InspIRCd's opmoderated do).
// Spec: https://modern.ircdocs.horse/#sending-messages · https://ircv3.net/specs/extensions/message-tags
import { isChannelTarget } from '../protocol/channelname.js';
import type { Message, Tags } from '../protocol/message.js';
import { ERR, RPL } from '../protocol/numerics.js';
import { truncateUtf8 } from '../protocol/text.js';
import { CAP } from '../server/caps.js';
import type { Channel } from '../server/channel.js';
import type { User } from '../server/user.js';
import type { Module } from '../server/module.js';
import { newMsgid, relay, type Outgoing } from '../server/outgoing.js';
import type { Server } from '../server/server.js';
import { acceptReplies, refusesDirectMessage } from './accept.js';
import { messageToService, serviceAddressed } from './services/index.js';

/** User-only tags (those starting with "+") the sender may pass on to recipients. */
export function clientTags(client: User, msg: Message): Tags | undefined {
  if (!msg.tags || !client.hasCap(CAP['message-tags'])) return undefined;
  let out: Tags | undefined;
  for (const k in msg.tags) {
    if (k.startsWith('+')) (out ??= {})[k] = msg.tags[k]!;
  }
  return out;
}

/** Channel targets may carry a status prefix (STATUSMSG, e.g. "@#chan"): members at or above it receive. */
export function splitStatusPrefix(server: Server, target: string): { status: string; name: string } {
  const symbols = server.prefixes.symbols;
  let i = 0;
  while (i < target.length && symbols.includes(target[i]!)) i++;
  return { status: target.slice(0, i), name: target.slice(i) };
}

function deliver(server: Server, client: User, msg: Message): void | Promise<void> {
  const command = msg.command;
  const isNotice = command === 'NOTICE';
  const isTagmsg = command === 'TAGMSG';
  const first = msg.params[0] ?? '';
  // Most messages name one target: no split and filter arrays for them.
  const targets = first.indexOf(',') === -1 ? (first === '' ? [] : [first]) : first.split(',').filter(Boolean);
  const text = msg.params[1] ?? '';
  if (targets.length === 0) {
    if (!isNotice) client.numeric(ERR.NORECIPIENT, `No recipient given (${command})`);
    return;
  }
  if (!isTagmsg && text === '') {
    if (!isNotice) client.numeric(ERR.NOTEXTTOSEND, 'No text to send');
    return;
  }
  const tags = clientTags(client, msg);
  if (isTagmsg && !tags) return;
  const fold = server.state.fold;
  const seen = targets.length > 1 ? new Set<string>() : undefined;
  /** Services commands still running (hashing a password): the command ends with them. */
  let running: Promise<void>[] | undefined;
  for (const target of targets) {
    if (seen) {
      const key = fold(target);
      if (seen.has(key)) continue;
      seen.add(key);
    }
    const resolved = resolveTarget(server, client, command, target, isTagmsg ? [] : [text], true);
    if (!resolved) continue;
    if (resolved.service) {
      // Services take it as a command, and it goes nowhere else (not to history either).
      const ran = messageToService(server, client, resolved.service, command, target, text);
      if (ran) (running ??= []).push(ran);
      continue;
    }
    const params = isTagmsg ? [target] : [target, fitLine(server, client.mask, command, target, text)];
    const out = relay(client, { source: client.mask, command, params }, { msgid: newMsgid(), clientTags: tags });
    sendResolved(server, client, resolved, out, isTagmsg);
  }
  if (running) return Promise.all(running).then(() => undefined);
}

/**
 * Sends a message the client sent (or relayed, RELAYMSG) to a resolved target: its recipients,
 * history, and the client's own sessions (all of them with echo-message, else the others).
 */
export function sendResolved(server: Server, client: User, resolved: MessageTarget, out: Outgoing, tagOnly: boolean): void {
  // Tag-only messages reach only clients that understand tags.
  for (const recipient of resolved.recipients) if (!tagOnly || recipient.hasCap(CAP['message-tags'])) recipient.sendOutgoing(out, true);
  if (!resolved.opsOnly) server.emit('messageRelayed', client, resolved.to, out);
  if (client.hasCap(CAP['echo-message']) && (!tagOnly || client.hasCap(CAP['message-tags']))) client.sendOutgoing(out);
  else client.sendToOtherSessions(out);
}

/**
 * The text cut so that the relayed line, with the sender's full mask in front, still fits
 * limits.line_length: a client may send a line of the full length, and recipients must not get
 * a longer one (other servers truncate the same way).
 */
export function fitLine(server: Server, mask: string, command: string, target: string, text: string): string {
  // ":" mask " " command " " target " :" text CRLF
  const overhead = Buffer.byteLength(mask) + Buffer.byteLength(target) + command.length + 7;
  return truncateUtf8(text, server.config.limits.line_length - overhead);
}

/** Where a message to one target goes: the channel's members but the sender, or one user. */
export interface MessageTarget {
  to: Channel | User;
  recipients: User[];
  /** Held back for the channel's operators (+U): not the channel's to remember (history). */
  opsOnly?: boolean;
  /** A service (NickServ): the message is a command for it, and goes nowhere else. */
  service?: User;
}

/**
 * Resolves one PRIVMSG/NOTICE/TAGMSG target after the checks its sender must pass, answering
 * with the numeric when one fails (never to a NOTICE). `texts` are the lines to be sent (none for
 * TAGMSG; several for a multiline message): channel modes such as +C look at each. A service
 * (also as nick@<this server>) is resolved only for `services` (a single PRIVMSG or NOTICE).
 */
export function resolveTarget(
  server: Server,
  client: User,
  command: string,
  target: string,
  texts: readonly string[],
  services = false,
): MessageTarget | undefined {
  const isNotice = command === 'NOTICE';
  const { status, name } = splitStatusPrefix(server, target);
  if (isChannelTarget(name, server.config.channels.types)) {
    const channel = server.state.findChannel(name);
    if (!channel) {
      if (!isNotice) client.numeric(ERR.NOSUCHCHANNEL, name, 'No such channel');
      return undefined;
    }
    const fold = server.state.fold;
    let why = channel.cannotSend(client, fold, texts[0]);
    for (let i = 1; !why && i < texts.length; i++) why = channel.cannotSend(client, fold, texts[i]);
    if (why) {
      if (!isNotice) client.numeric(ERR.CANNOTSENDTOCHAN, channel.name, why);
      return undefined;
    }
    // The lowest-ranked symbol given decides ("@+#chan" reaches voiced and above).
    const minRank = status ? server.prefixes.rankOfSymbol(status[status.length - 1]!) : undefined;
    // +U: without voice or more, only the operators get it; the sender sees it sent (echo-message).
    const opsOnly = channel.flags.has('U') && !channel.members.get(client);
    const recipients: User[] = [];
    for (const [member, prefixes] of channel.members) {
      if (member === client) continue;
      if (minRank !== undefined && !server.prefixes.atLeast(prefixes, minRank)) continue;
      if (opsOnly && !server.prefixes.holdsRank(prefixes, 'op')) continue;
      recipients.push(member);
    }
    return { to: channel, recipients, opsOnly };
  }
  const recipient = server.state.findNick(target) ?? (services ? serviceAddressed(server, target) : undefined);
  if (!recipient?.registered) {
    if (!isNotice) client.numeric(ERR.NOSUCHNICK, target, 'No such nick/channel');
    return undefined;
  }
  if (server.state.isService(recipient)) {
    if (services) return { to: recipient, recipients: [], service: recipient };
    // A message in pieces (multiline) does not reach services: commands come one PRIVMSG at a time.
    if (!isNotice) client.standardReply('FAIL', command, 'INVALID_TARGET', recipient.nick, 'Services take commands in a single PRIVMSG');
    return undefined;
  }
  if (refusesDirectMessage(client, recipient)) {
    if (!isNotice) client.numeric(ERR.NEEDREGGEDNICK, recipient.nick, 'You must be logged in to an account to message this user');
    return undefined;
  }
  if (command === 'PRIVMSG' && recipient.away !== undefined) client.numeric(RPL.AWAY, recipient.nick, recipient.away);
  acceptReplies(client, recipient);
  return { to: recipient, recipients: [recipient] };
}

export const messaging: Module = {
  name: 'messaging',
  commands: {
    PRIVMSG: {
      handler: deliver,
      targets: { limit: 'limited' },
      help: ['PRIVMSG <target>[,<target>...] :<text>', 'Sends a message to nicknames or channels.'],
    },
    NOTICE: {
      handler: deliver,
      targets: { limit: 'limited', quiet: true },
      help: ['NOTICE <target>[,<target>...] :<text>', 'Sends a notice; no automatic reply is ever sent to one.'],
    },
    TAGMSG: {
      internal: true,
      minParams: 1,
      handler: deliver,
      targets: { limit: 'limited' },
      help: ['TAGMSG <target>', 'Sends only message tags (e.g. typing notifications) to clients that support them.'],
    },
  },
  caps: [{ name: 'message-tags' }, { name: 'echo-message' }],
  isupport: (cfg) => ({ MAXTARGETS: cfg.limits.max_targets }),
};
