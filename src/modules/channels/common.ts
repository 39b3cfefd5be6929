// Helpers shared by the channel commands and exported for other modules (WHO, WHOIS, ...):
// visibility, privilege checks, NAMES and topic replies.
import { RPL } from '../../protocol/numerics.js';
import { packLines } from '../../protocol/text.js';
import { CAP } from '../../server/caps.js';
import type { Channel } from '../../server/channel.js';
import type { User } from '../../server/user.js';
import type { Outgoing } from '../../server/outgoing.js';
import type { Server } from '../../server/server.js';

/**
 * Sends a line about a user who has just left the channel (its PART, KICK or QUIT), holding `held`
 * prefixes there, to the members who could see it: an auditorium (+u) hides members without voice
 * from each other.
 */
export function broadcastAbout(channel: Channel, held: string, out: Outgoing): void {
  for (const [member, prefixes] of channel.members) if (!channel.hidesHolding(prefixes, held)) member.sendOutgoing(out);
}

/** Secret channels are seen only by their members. */
export function canSeeChannel(client: User, channel: Channel): boolean {
  return !channel.flags.has('s') || channel.members.has(client);
}

/** True when the member holds halfop or above (op when h is not configured): kick, topic under +t, invite under +i. */
export function isHalfopOrAbove(server: Server, channel: Channel, client: User): boolean {
  return server.prefixes.holdsRank(channel.members.get(client), 'halfop');
}

/** RPL_TOPIC and RPL_TOPICWHOTIME, or RPL_NOTOPIC when asked and there is none. */
export function sendTopic(client: User, channel: Channel, sayNone: boolean): void {
  const topic = channel.topic;
  if (!topic) {
    if (sayNone) client.numeric(RPL.NOTOPIC, channel.name, 'No topic is set');
    return;
  }
  client.numeric(RPL.TOPIC, channel.name, topic.text);
  client.numeric(RPL.TOPICWHOTIME, channel.name, topic.setBy, String(topic.setAt));
}

/** The channel's symbol in RPL_NAMREPLY: "@" secret, "*" private, "=" public. */
function namesSymbol(channel: Channel): string {
  return channel.flags.has('s') ? '@' : channel.flags.has('p') ? '*' : '=';
}

/**
 * RPL_NAMREPLY lines (split to fit the line length) and RPL_ENDOFNAMES. Non-members do not see
 * invisible (+i) users, nor does an auditorium (+u) show members without voice to those without
 * it; multi-prefix shows every prefix, userhost-in-names the full mask.
 */
export function sendNames(server: Server, client: User, channel: Channel, withEnd = true): void {
  const member = channel.members.has(client);
  const allPrefixes = client.hasCap(CAP['multi-prefix']);
  const fullMask = client.hasCap(CAP['userhost-in-names']);
  const symbol = namesSymbol(channel);
  // ":server 353 nick = #chan :" plus CRLF is the fixed part of each line.
  const budget =
    server.config.limits.line_length - (server.name.length + client.nick.length + channel.name.length + 14);
  const entries: string[] = [];
  for (const [m, held] of channel.members) {
    if (!member && m.modes.has('i')) continue;
    if (channel.hides(client, m)) continue;
    entries.push(server.prefixes.symbolsFor(held, allPrefixes) + (fullMask ? m.mask : m.nick));
  }
  for (const line of packLines(entries, budget)) client.numeric(RPL.NAMREPLY, symbol, channel.name, line.join(' '));
  if (withEnd) client.numeric(RPL.ENDOFNAMES, channel.name, 'End of /NAMES list');
}
