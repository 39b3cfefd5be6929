// JOIN and PART (Modern IRC "JOIN message", "PART message"; IRCv3 extended-join), with the
// forward (+f) of refused joins as Solanum and InspIRCd do it (ERR_LINKCHANNEL, 470) and the
// auditorium (+u), which shows members without voice only to the voiced and the operators.
// Spec: https://modern.ircdocs.horse/#join-message · https://modern.ircdocs.horse/#part-message · https://ircv3.net/specs/extensions/extended-join
import { isChannelTarget, prepareUtf8ChannelName, validChannelName } from '../../protocol/channelname.js';
import type { Message } from '../../protocol/message.js';
import { ERR } from '../../protocol/numerics.js';
import { truncateUtf8 } from '../../protocol/text.js';
import { CAP } from '../../server/caps.js';
import type { Channel } from '../../server/channel.js';
import type { User } from '../../server/user.js';
import { relay, type Outgoing } from '../../server/outgoing.js';
import type { Server } from '../../server/server.js';
import { broadcastAbout, sendNames, sendTopic } from './common.js';
import { dropInvite, isInvited } from './invite.js';

/**
 * Why the client may not join an existing channel, as a numeric and text, or undefined.
 * An INVITE lets the user past +i and a full channel (as in Solanum); a ban or key still applies.
 * An invite exception (+I) lets matching users past +i.
 */
function joinRefusal(server: Server, client: User, channel: Channel, key: string | undefined): [string, string] | undefined {
  const fold = server.state.fold;
  const invited = isInvited(channel, client);
  if (channel.isBanned(client, fold)) return [ERR.BANNEDFROMCHAN, 'Cannot join channel (+b)'];
  if (channel.flags.has('i') && !invited && !channel.matchesList('I', client, fold))
    return [ERR.INVITEONLYCHAN, 'Cannot join channel (+i)'];
  if (channel.key !== undefined && key !== channel.key) return [ERR.BADCHANNELKEY, 'Cannot join channel (+k)'];
  if (channel.limit !== undefined && channel.members.size >= channel.limit && !invited)
    return [ERR.CHANNELISFULL, 'Cannot join channel (+l)'];
  return undefined;
}

function joinOne(server: Server, client: User, requested: string, key: string | undefined): void {
  const { channels, limits } = server.config;
  let name = requested;
  if (server.config.server.casemapping === 'utf8' && isChannelTarget(name, channels.types)) {
    const prepared = prepareUtf8ChannelName(name);
    if (!prepared.ok) {
      client.numeric(ERR.BADCHANNAME, name, `Illegal channel name: ${prepared.reason}`);
      return;
    }
    name = prepared.name;
  }
  if (!validChannelName(name, channels.types, limits.channellen)) {
    if (isChannelTarget(name, channels.types)) client.numeric(ERR.BADCHANMASK, name, 'Bad Channel Mask');
    else client.numeric(ERR.NOSUCHCHANNEL, name, 'No such channel');
    return;
  }
  // A registered channel not in memory comes back first, so its bans, key and limit apply to its first joiner too.
  const existing = server.findOrRestoreChannel(name);
  if (existing?.members.has(client)) return;
  if (server.state.channelsOf(client).size >= server.config.limits.channels_per_user) {
    client.numeric(ERR.TOOMANYCHANNELS, name, 'You have joined too many channels');
    if (existing) server.state.discardChannel(existing);
    return;
  }
  if (existing) {
    const refusal = joinRefusal(server, client, existing, key);
    if (refusal) {
      // +f: one hop only, to a channel that exists, lets the user in and does not hold them already.
      const target = existing.forward === undefined ? undefined : server.state.findChannel(existing.forward);
      if (target && !target.members.has(client) && !joinRefusal(server, client, target, undefined)) {
        client.numeric(ERR.LINKCHANNEL, existing.name, target.name, 'Forwarding to another channel');
        enter(server, client, target);
      } else client.numeric(refusal[0], existing.name, refusal[1]);
      server.state.discardChannel(existing);
      return;
    }
  }
  const { channel, created } = server.state.getOrCreateChannel(name, defaultModes(server.config.channels.default_modes));
  enter(server, client, channel, created ? 'o' : '');
}

/** The default modes a new channel starts with; of s and p (exclusive) the first listed wins. */
export function defaultModes(modes: string): string[] {
  const flags: string[] = [];
  for (const m of modes) {
    if (!(m === 'p' && flags.includes('s')) && !(m === 's' && flags.includes('p'))) flags.push(m);
  }
  return flags;
}

/** Makes the client a member (the checks passed; State's event shows the JOIN) and answers with the channel's burst. */
function enter(server: Server, client: User, channel: Channel, prefixes = ''): void {
  server.state.addMember(channel, client, prefixes);
  dropInvite(channel, client);
  server.emit('joinBurst', client, channel);
  sendTopic(client, channel, false);
  sendNames(server, client, channel);
  server.emit('joined', client, channel);
}

/** State's `joined`: the members who can see the joiner (all but in an auditorium), and the joiner, see the JOIN. */
export function announceJoin(channel: Channel, client: User): void {
  const members = channel.members.keys();
  sendJoin(client, channel, channel.flags.has('u') ? [...members].filter((m) => !channel.hides(m, client)) : members);
}

/** The client's JOIN of the channel to each of `to` (with account and realname under extended-join). */
export function sendJoin(client: User, channel: Channel, to: Iterable<User>): void {
  let plain: Outgoing | undefined;
  let extended: Outgoing | undefined;
  for (const member of to) {
    if (member.hasCap(CAP['extended-join'])) {
      extended ??= relay(client, {
        source: client.mask,
        command: 'JOIN',
        params: [channel.name, client.account ?? '*', client.realname],
      });
      member.sendOutgoing(extended);
    } else member.sendOutgoing((plain ??= relay(client, { source: client.mask, command: 'JOIN', params: [channel.name] })));
  }
}

/** State's `parted`: the leaver and the members who could see it (`held`: its prefixes there) see the PART. */
export function announcePart(channel: Channel, client: User, held: string, reason: string | undefined): void {
  const out = relay(client, { source: client.mask, command: 'PART', params: reason ? [channel.name, reason] : [channel.name] });
  client.sendOutgoing(out);
  broadcastAbout(channel, held, out);
}

export function handleJoin(server: Server, client: User, msg: Message): void {
  const names = msg.params[0]!;
  if (names === '0') {
    for (const channel of [...server.state.channelsOf(client)]) server.state.part(channel, client);
    return;
  }
  const keys = (msg.params[1] ?? '').split(',');
  names.split(',').forEach((name, i) => {
    if (name) joinOne(server, client, name, keys[i] || undefined);
  });
}

export function handlePart(server: Server, client: User, msg: Message): void {
  const reason = msg.params[1] ? truncateUtf8(msg.params[1], server.config.limits.kicklen) : undefined;
  for (const name of msg.params[0]!.split(',')) {
    if (!name) continue;
    const channel = server.state.findChannel(name);
    if (!channel) client.numeric(ERR.NOSUCHCHANNEL, name, 'No such channel');
    else if (!channel.members.has(client)) client.numeric(ERR.NOTONCHANNEL, channel.name, "You're not on that channel");
    else server.state.part(channel, client, reason);
  }
}
