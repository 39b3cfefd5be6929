// INVITE, KICK and KNOCK (Modern IRC "INVITE", "KICK"; IRCv3 invite-notify; KNOCK as in
// Solanum/InspIRCd with numerics 710-714).
// Spec: https://modern.ircdocs.horse/#invite-message · https://modern.ircdocs.horse/#kick-message · https://ircv3.net/specs/extensions/invite-notify
import type { Message } from '../../protocol/message.js';
import { ERR, RPL } from '../../protocol/numerics.js';
import { truncateUtf8 } from '../../protocol/text.js';
import { CAP } from '../../server/caps.js';
import type { Channel } from '../../server/channel.js';
import type { User } from '../../server/user.js';
import { relay, type Outgoing } from '../../server/outgoing.js';
import type { Server } from '../../server/server.js';
import { channelSlot, userSlot } from '../../server/slots.js';
import { broadcastAbout, isHalfopOrAbove } from './common.js';

/** Drops the entries of a time-keyed map that are no longer valid. */
function prune(map: Map<string, number>, stillValid: (t: number) => boolean): void {
  for (const [k, t] of map) if (!stillValid(t)) map.delete(k);
}

/** A channel's INVITEs: casefolded nick → expiry time (ms). */
const invites = channelSlot<Map<string, number>>();
/** A channel's KNOCKs: casefolded nick → time (ms) of its last KNOCK there, for the rate limit. */
const knocks = channelSlot<Map<string, number>>();

/**
 * Channels that may hold an invite for the client. Invites are keyed by nick in the channel, so
 * this index lets a nick change carry them along and a quit drop them (the nick may be reused)
 * without scanning every channel.
 */
const invitedTo = userSlot<Set<Channel>>();

/** True while the client holds an unexpired INVITE to the channel; an expired one is dropped. */
export function isInvited(channel: Channel, client: User): boolean {
  const expiry = invites.get(channel)?.get(client.nickKey);
  if (expiry === undefined) return false;
  if (expiry > Date.now()) return true;
  dropInvite(channel, client);
  return false;
}

/** Forgets the client's invite to the channel (used up by a JOIN, or expired). */
export function dropInvite(channel: Channel, client: User): void {
  invites.get(channel)?.delete(client.nickKey);
}

/** Invites follow the client to its new nick (State's nickChanged). */
export function moveInvites(server: Server, client: User, oldNick: string): void {
  const oldKey = server.state.fold(oldNick);
  for (const channel of invitedTo.get(client) ?? []) {
    const byNick = invites.get(channel);
    const expiry = byNick?.get(oldKey);
    if (byNick === undefined || expiry === undefined) continue;
    byNick.delete(oldKey);
    byNick.set(client.nickKey, expiry);
  }
}

/** A client that leaves takes its invites along (State's userQuit). */
export function dropInvites(client: User): void {
  for (const channel of invitedTo.get(client) ?? []) dropInvite(channel, client);
}

/** INVITE without parameters (Modern IRC): the channels the client holds a live invite to. */
function sendInviteList(client: User): void {
  for (const channel of invitedTo.get(client) ?? []) {
    if (isInvited(channel, client)) client.numeric(RPL.INVITELIST, channel.name);
  }
  client.numeric(RPL.ENDOFINVITELIST, 'End of /INVITE list');
}

export function handleInvite(server: Server, client: User, msg: Message): void {
  if (msg.params.length === 0) return sendInviteList(client);
  const [nick, name] = msg.params as [string, string];
  const target = server.state.findNick(nick);
  if (!target?.registered) {
    client.numeric(ERR.NOSUCHNICK, nick, 'No such nick/channel');
    return;
  }
  const channel = server.state.findChannel(name);
  if (!channel) {
    client.numeric(ERR.NOSUCHCHANNEL, name, 'No such channel');
    return;
  }
  if (!channel.members.has(client)) {
    client.numeric(ERR.NOTONCHANNEL, channel.name, "You're not on that channel");
    return;
  }
  if (!mayInvite(server, channel, client)) {
    client.numeric(ERR.CHANOPRIVSNEEDED, channel.name, "You're not channel operator");
    return;
  }
  if (channel.members.has(target)) {
    client.numeric(ERR.USERONCHANNEL, target.nick, channel.name, 'is already on channel');
    return;
  }
  client.numeric(RPL.INVITING, target.nick, channel.name);
  if (target.away !== undefined) client.numeric(RPL.AWAY, target.nick, target.away);
  // A user of another server is invited there (the link module takes it to that server).
  if (server.state.serverOf(target) === server.state.me) deliverInvite(server, client, target, channel);
  else notifyInvite(server, client, target, channel, inviteLine(client, target, channel));
  server.emit('invited', client, target, channel);
}

function inviteLine(by: User, target: User, channel: Channel): Outgoing {
  return relay(by, { source: by.mask, command: 'INVITE', params: [target.nick, channel.name] });
}

/**
 * An INVITE to a user of this server, from a user here or (over a link) of another server: the
 * invite is kept for its JOIN, the target sees it, and members here are told (invite-notify).
 */
export function deliverInvite(server: Server, by: User, target: User, channel: Channel): void {
  const now = Date.now();
  const byNick = invites.getOrCreate(channel, () => new Map());
  prune(byNick, (t) => t > now);
  // At the bound the oldest invite makes way (Maps iterate in insertion order).
  if (byNick.size >= server.config.limits.list_entries) byNick.delete(byNick.keys().next().value!);
  byNick.set(target.nickKey, now + server.config.limits.invite_expiry * 1000);
  const index = invitedTo.getOrCreate(target, () => new Set());
  // Used-up, expired and destroyed channels leave the index here, so it stays small.
  for (const c of index) if (!isInvited(c, target) || server.state.findChannel(c.name) !== c) index.delete(c);
  index.add(channel);
  const out = inviteLine(by, target, channel);
  target.sendOutgoing(out);
  notifyInvite(server, by, target, channel, out);
}

/** invite-notify: the members of this server who could have sent the invite themselves hear of it (the inviter aside). */
export function notifyInvite(server: Server, by: User, target: User, channel: Channel, out: Outgoing = inviteLine(by, target, channel)): void {
  for (const member of channel.members.keys())
    if (member !== by && member.hasCap(CAP['invite-notify']) && mayInvite(server, channel, member)) member.sendOutgoing(out);
}

/** Whether a member may invite to the channel: anyone, or on +i a halfop or above. */
function mayInvite(server: Server, channel: Channel, member: User): boolean {
  return !channel.flags.has('i') || isHalfopOrAbove(server, channel, member);
}

export function handleKick(server: Server, client: User, msg: Message): void {
  const names = msg.params[0]!.split(',').filter(Boolean);
  const nicks = msg.params[1]!.split(',').filter(Boolean);
  const reason = truncateUtf8(msg.params[2] || client.nick, server.config.limits.kicklen);
  // RFC 2812: one channel and several users, or as many channels as users, taken in pairs (the
  // router refused anything else).
  if (names.length === 1) kickFrom(server, client, names[0]!, nicks, reason);
  else nicks.forEach((nick, i) => kickFrom(server, client, names[i]!, [nick], reason));
}

function kickFrom(server: Server, client: User, name: string, nicks: string[], reason: string): void {
  const channel = server.state.findChannel(name);
  if (!channel) {
    client.numeric(ERR.NOSUCHCHANNEL, name, 'No such channel');
    return;
  }
  const held = channel.members.get(client);
  if (held === undefined) {
    client.numeric(ERR.NOTONCHANNEL, channel.name, "You're not on that channel");
    return;
  }
  if (!isHalfopOrAbove(server, channel, client)) {
    client.numeric(ERR.CHANOPRIVSNEEDED, channel.name, "You're not channel operator");
    return;
  }
  const rank = server.prefixes.bestRank(held);
  for (const nick of nicks) {
    const target = server.state.findNick(nick);
    const targetHeld = target && channel.members.get(target);
    if (!target?.registered) client.numeric(ERR.NOSUCHNICK, nick, 'No such nick/channel');
    else if (targetHeld === undefined) client.numeric(ERR.USERNOTINCHANNEL, target.nick, channel.name, "They aren't on that channel");
    else if (server.prefixes.bestRank(targetHeld) < rank)
      client.numeric(ERR.CHANOPRIVSNEEDED, channel.name, 'You cannot kick someone ranked above you');
    else server.state.kick(channel, target, client, reason);
  }
}

/** State's `kicked`: the one kicked and the members who could see it (`held`: its prefixes there) see the KICK. */
export function announceKick(server: Server, channel: Channel, target: User, held: string, by: User | undefined, reason: string): void {
  const out = relay(by, { source: by?.mask ?? server.name, command: 'KICK', params: [channel.name, target.nick, reason] });
  target.sendOutgoing(out);
  broadcastAbout(channel, held, out);
}

export function handleKnock(server: Server, client: User, msg: Message): void {
  const channel = server.state.findChannel(msg.params[0]!);
  if (!channel || channel.flags.has('s')) {
    client.numeric(ERR.NOSUCHCHANNEL, msg.params[0]!, 'No such channel');
    return;
  }
  if (channel.members.has(client)) {
    client.numeric(ERR.KNOCKONCHAN, channel.name, "You're already on that channel");
    return;
  }
  if (!channel.flags.has('i')) {
    client.numeric(ERR.CHANOPEN, channel.name, 'Channel is open');
    return;
  }
  if (channel.isBanned(client, server.state.fold)) {
    client.numeric(ERR.BANNEDFROMCHAN, channel.name, 'Cannot knock on channel (+b)');
    return;
  }
  const now = Date.now();
  const interval = server.config.limits.knock_interval * 1000;
  const lastByNick = knocks.getOrCreate(channel, () => new Map());
  const last = lastByNick.get(client.nickKey);
  if (last !== undefined && now - last < interval) {
    client.numeric(ERR.TOOMANYKNOCK, channel.name, 'Too many KNOCKs (user)');
    return;
  }
  prune(lastByNick, (t) => now - t < interval);
  if (lastByNick.size >= server.config.limits.list_entries) {
    client.numeric(ERR.TOOMANYKNOCK, channel.name, 'Too many KNOCKs (channel)');
    return;
  }
  lastByNick.set(client.nickKey, now);

  const why = msg.params[1] ? ` (${truncateUtf8(msg.params[1], server.config.limits.kicklen)})` : '';
  for (const member of channel.members.keys()) {
    if (isHalfopOrAbove(server, channel, member)) member.numeric(RPL.KNOCK, channel.name, client.mask, `has asked for an invite${why}`);
  }
  client.numeric(RPL.KNOCKDLVR, channel.name, 'Your KNOCK has been delivered');
}
