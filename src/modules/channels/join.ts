// JOIN and PART (Modern IRC "JOIN message", "PART message"; IRCv3 extended-join).
import { isChannelTarget, prepareUtf8ChannelName, validChannelName } from '../../protocol/channelname.js';
import type { Message } from '../../protocol/message.js';
import { ERR } from '../../protocol/numerics.js';
import { truncateUtf8 } from '../../protocol/text.js';
import { CAP } from '../../server/caps.js';
import type { Channel } from '../../server/channel.js';
import type { Client } from '../../server/client.js';
import { relay, type Outgoing } from '../../server/outgoing.js';
import type { Server } from '../../server/server.js';
import { sendNames, sendTopic } from './common.js';
import { dropInvite, isInvited } from './invite.js';

/**
 * Why the client may not join an existing channel, as a numeric and text, or undefined.
 * An INVITE lets the user past +i and a full channel (as in Solanum); a ban or key still applies.
 * An invite exception (+I) lets matching users past +i.
 */
function joinRefusal(server: Server, client: Client, channel: Channel, key: string | undefined): [string, string] | undefined {
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

function joinOne(server: Server, client: Client, requested: string, key: string | undefined): void {
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
  const existing = server.state.findChannel(name);
  if (existing?.members.has(client)) return;
  if (server.state.channelsOf(client).size >= server.config.limits.channels_per_user) {
    client.numeric(ERR.TOOMANYCHANNELS, name, 'You have joined too many channels');
    return;
  }
  if (existing) {
    const refusal = joinRefusal(server, client, existing, key);
    if (refusal) {
      client.numeric(refusal[0], existing.name, refusal[1]);
      return;
    }
  }
  const { channel, created } = server.state.getOrCreateChannel(name);
  if (created) {
    for (const m of server.config.channels.default_modes) {
      if (!(m === 'p' && channel.flags.has('s')) && !(m === 's' && channel.flags.has('p'))) server.state.setChannelFlag(channel, m, true);
    }
  }
  server.state.addMember(channel, client, created ? 'o' : '');
  dropInvite(channel, client);

  const plain = relay(client, { source: client.mask, command: 'JOIN', params: [channel.name] });
  let extended: Outgoing | undefined;
  for (const member of channel.members.keys()) {
    if (member.hasCap(CAP['extended-join'])) {
      extended ??= relay(client, {
        source: client.mask,
        command: 'JOIN',
        params: [channel.name, client.account ?? '*', client.realname],
      });
      member.sendOutgoing(extended);
    } else member.sendOutgoing(plain);
  }
  server.emit('joinBurst', client, channel);
  sendTopic(client, channel, false);
  sendNames(server, client, channel);
  server.emit('joined', client, channel);
}

/** Leaves a channel, telling every member (the leaver included) once. */
export function partChannel(server: Server, client: Client, channel: Channel, reason: string | undefined): void {
  const params = reason ? [channel.name, reason] : [channel.name];
  channel.broadcast(relay(client, { source: client.mask, command: 'PART', params }));
  server.state.part(channel, client);
}

export function handleJoin(server: Server, client: Client, msg: Message): void {
  const names = msg.params[0]!;
  if (names === '0') {
    for (const channel of [...server.state.channelsOf(client)]) partChannel(server, client, channel, undefined);
    return;
  }
  const keys = (msg.params[1] ?? '').split(',');
  names.split(',').forEach((name, i) => {
    if (name) joinOne(server, client, name, keys[i] || undefined);
  });
}

export function handlePart(server: Server, client: Client, msg: Message): void {
  const reason = msg.params[1] ? truncateUtf8(msg.params[1], server.config.limits.kicklen) : undefined;
  for (const name of msg.params[0]!.split(',')) {
    if (!name) continue;
    const channel = server.state.findChannel(name);
    if (!channel) client.numeric(ERR.NOSUCHCHANNEL, name, 'No such channel');
    else if (!channel.members.has(client)) client.numeric(ERR.NOTONCHANNEL, channel.name, "You're not on that channel");
    else partChannel(server, client, channel, reason);
  }
}
