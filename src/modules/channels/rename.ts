// RENAME (IRCv3 draft/channel-rename): a channel keeps its members, modes, lists and topic under
// a new name. Members with the capability see RENAME; the others see themselves leave the old
// name and join the new one, with the topic and names a JOIN brings.
// Spec: https://ircv3.net/specs/extensions/channel-rename
import { prepareUtf8ChannelName, validChannelName } from '../../protocol/channelname.js';
import type { Message } from '../../protocol/message.js';
import { ERR } from '../../protocol/numerics.js';
import { truncateUtf8 } from '../../protocol/text.js';
import { CAP } from '../../server/caps.js';
import type { Channel } from '../../server/channel.js';
import type { User } from '../../server/user.js';
import { relay } from '../../server/outgoing.js';
import type { Server } from '../../server/server.js';
import { channelSlot } from '../../server/slots.js';
import { sendNames, sendTopic } from './common.js';
import { sendJoin } from './join.js';

/** When each channel was last renamed (ms), for the per-channel cooldown. */
const renamedAt = channelSlot<number>();

export function handleRename(server: Server, client: User, msg: Message): void {
  const [oldName, requested] = msg.params as [string, string];
  const reason = truncateUtf8(msg.params[2] ?? '', server.config.limits.kicklen);
  const channel = server.state.findChannel(oldName);
  if (!channel) {
    client.numeric(ERR.NOSUCHCHANNEL, oldName, 'No such channel');
    return;
  }
  const held = channel.members.get(client);
  if (held === undefined) {
    client.numeric(ERR.NOTONCHANNEL, channel.name, "You're not on that channel");
    return;
  }
  if (!server.prefixes.holdsRank(held, 'op')) {
    client.numeric(ERR.CHANOPRIVSNEEDED, channel.name, 'You must be a channel operator');
    return;
  }
  const fail = (code: string, text: string) => client.standardReply('FAIL', 'RENAME', code, channel.name, requested, text);
  // Under utf8 the new name is prepared (NFC) and checked as JOIN does for a new channel.
  const prepared = server.config.server.casemapping === 'utf8' ? prepareUtf8ChannelName(requested) : { ok: true as const, name: requested };
  if (!prepared.ok) return fail('CANNOT_RENAME', `Illegal channel name: ${prepared.reason}`);
  const newName = prepared.name;
  if (!validChannelName(newName, server.config.channels.types, server.config.limits.channellen)) return fail('CANNOT_RENAME', 'That is not a valid channel name');
  if (newName[0] !== channel.name[0]) return fail('CANNOT_RENAME', 'You cannot change a channel prefix type');
  if (newName === channel.name) return fail('CANNOT_RENAME', 'The channel already has that name');
  // Linked servers know the channel by its name, and server links do not carry renames yet (docs/linking.md).
  if (server.state.servers.size > 1) return fail('CANNOT_RENAME', 'Channels cannot be renamed while this server is linked to others');
  const caseOnly = server.state.fold(newName) === channel.folded;
  const taken = caseOnly ? undefined : server.findOrRestoreChannel(newName);
  if (taken) {
    // A registered channel restored only for this check goes back out of memory.
    server.state.discardChannel(taken);
    return fail('CHANNEL_NAME_IN_USE', 'The channel name is already taken');
  }
  // Each rename sends every member without the capability a whole JOIN burst: rate-limit it.
  const now = Date.now();
  const last = renamedAt.get(channel);
  if (last !== undefined && now - last < server.config.limits.rename_interval * 1000)
    return fail('CANNOT_RENAME', 'This channel has been renamed recently');
  renamedAt.set(channel, now);

  server.state.renameChannel(channel, newName, client, reason);
}

/** State's `channelRenamed`: members with the capability see RENAME, the others leave and rejoin. */
export function announceRename(server: Server, channel: Channel, oldName: string, by: User | undefined, reason: string): void {
  const renamed = relay(by, { source: by?.mask ?? server.name, command: 'RENAME', params: [oldName, channel.name, reason] });
  // The fallback is skipped when only the case changed: both names mean the same channel.
  const caseOnly = server.state.fold(oldName) === channel.folded;
  for (const member of channel.members.keys()) {
    if (member.hasCap(CAP['draft/channel-rename'])) member.sendOutgoing(renamed);
    else if (!caseOnly) rejoinUnderNewName(server, member, channel, oldName, reason);
  }
}

/** The fallback for a member without the capability: PART of the old name, then a JOIN burst. */
function rejoinUnderNewName(server: Server, member: User, channel: Channel, oldName: string, reason: string): void {
  member.sendOutgoing(relay(member, { source: member.mask, command: 'PART', params: reason ? [oldName, reason] : [oldName] }));
  sendJoin(member, channel, [member]);
  sendTopic(member, channel, false);
  sendNames(server, member, channel);
}
