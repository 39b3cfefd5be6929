// The channel module (Modern IRC "Channel Operations", "Channel Modes"): JOIN, PART, TOPIC,
// NAMES, LIST, INVITE, KICK, KNOCK and MODE on channels, with the IRCv3 capabilities that live in
// those replies. The commands are split by theme under ./channels/.
// Spec: https://modern.ircdocs.horse/#channel-operations · https://modern.ircdocs.horse/#channel-modes
import type { Config } from '../config/schema.js';
import { EXTBAN_PREFIX, EXTBAN_TYPES, PrefixTable, type ModeChange } from '../server/channel.js';
import type { Module } from '../server/module.js';
import { announceTopic, ELIST, handleList, handleNames, handleTopic } from './channels/info.js';
import { announceKick, dropInvites, handleInvite, handleKick, handleKnock, moveInvites } from './channels/invite.js';
import { announceJoin, announcePart, handleJoin, handlePart } from './channels/join.js';
import { CHANMODES, FLAG_MODES, FORWARD_MODE, KEY_MAX, KEY_MODE, LIMIT_MODE, LIST_MODES } from './channels/modeparse.js';
import { announceModeChanges, handleChannelMode } from './channels/modes.js';
import { announceRename, handleRename } from './channels/rename.js';

export { canSeeChannel, isHalfopOrAbove, sendNames } from './channels/common.js';

export const channels: Module = {
  name: 'channels',
  commands: {
    JOIN: {
      targets: { limit: 'unlimited' },
      minParams: 1,
      handler: handleJoin,
      help: [
        'JOIN <channel>[,<channel>...] [<key>[,<key>...]]',
        'Joins channels, creating them when they do not exist. JOIN 0 leaves every channel.',
      ],
    },
    PART: {
      targets: { limit: 'unlimited' },
      minParams: 1,
      handler: handlePart,
      help: ['PART <channel>[,<channel>...] [:<reason>]', 'Leaves channels.'],
    },
    TOPIC: {
      minParams: 1,
      handler: handleTopic,
      help: ['TOPIC <channel> [:<topic>]', 'Shows or sets the topic; an empty topic clears it. Under +t only operators set it.'],
    },
    NAMES: {
      targets: { limit: 'limited' },
      penalty: 1,
      handler: handleNames,
      help: ['NAMES <channel>[,<channel>...]', 'Lists the users of channels.'],
    },
    LIST: {
      // Every channel is looked at; InspIRCd charges LIST and KNOCK five times a plain command too.
      penalty: 4,
      handler: handleList,
      help: [
        'LIST [<channel>|<mask>|!<mask>|><n>|<<n>|C<<n>|C><n>|T<<n>|T><n>[,...]]',
        'Lists channels: by name, by mask, not matching a mask, with more or fewer than n users,',
        'or created (C) or given their topic (T) less (<) or more (>) than n minutes ago.',
      ],
    },
    INVITE: {
      // Reaches another user (and the channel's operators with invite-notify): a spam vector.
      penalty: 2,
      // Alone it lists your invites (Modern IRC); otherwise it needs both.
      minParams: (params) => (params.length === 0 ? 0 : 2),
      handler: handleInvite,
      help: [
        'INVITE [<nick> <channel>]',
        'Invites a user to a channel; under +i only operators may invite. Without parameters, lists your invites.',
      ],
    },
    KICK: {
      // The nicks are the targets; the channels pair with them (one for all, or one each).
      targets: { limit: 'limited', param: 1, pairedWith: 0 },
      minParams: 2,
      handler: handleKick,
      help: ['KICK <channel> <nick>[,<nick>...] [:<reason>]', 'Removes users from a channel (operators only).'],
    },
    KNOCK: {
      minParams: 1,
      penalty: 4,
      handler: handleKnock,
      help: ['KNOCK <channel> [:<message>]', "Asks an invite-only channel's operators for an invite."],
    },
    RENAME: {
      minParams: 2,
      handler: handleRename,
      help: [
        'RENAME <channel> <new name> [:<reason>]',
        'Renames a channel, keeping its members, modes and topic (operators only; IRCv3 draft/channel-rename).',
      ],
    },
  },
  modeHandlers: { channel: handleChannelMode },
  init(server) {
    const events = server.state.events;
    // Members see each change of their channels as it happens in State, whoever made it.
    events.on('joined', ({ channel, client }) => announceJoin(channel, client));
    events.on('parted', ({ channel, client, prefixes, reason }) => announcePart(channel, client, prefixes, reason));
    events.on('kicked', ({ channel, client, prefixes, by, reason }) => announceKick(server, channel, client, prefixes, by, reason));
    events.on('topicChanged', ({ channel, by }) => announceTopic(server, channel, by));
    events.on('channelModeChanged', ({ channel, by, changes }) => announceModeChanges(server, channel, by, changes));
    events.on('channelRenamed', ({ channel, oldName, by, reason }) => announceRename(server, channel, oldName, by, reason));
    // Invites are keyed by nick, so they follow every nick change and go with the user.
    events.on('nickChanged', ({ client, oldNick }) => moveInvites(server, client, oldNick));
    events.on('userQuit', ({ client }) => dropInvites(client));
  },
  hooks: {
    // A REHASH may drop prefix modes (e.g. h): members keep only the letters that still exist,
    // and see the others removed by the server.
    rehashed: (server) => {
      const known = server.prefixes.modes;
      for (const channel of server.state.channels.values()) {
        server.state.changeChannelModes(channel, undefined, (writes) => {
          const applied: ModeChange[] = [];
          for (const [member, held] of channel.members) {
            const dropped = [...held].filter((m) => !known.includes(m));
            if (dropped.length === 0) continue;
            writes.setMemberPrefixes(channel, member, [...held].filter((m) => known.includes(m)).join(''));
            for (const mode of dropped) applied.push({ add: false, mode, param: member.nick });
          }
          return { applied };
        });
      }
    },
  },
  modes: {
    channel: LIST_MODES + KEY_MODE + LIMIT_MODE + FORWARD_MODE + FLAG_MODES,
    channelWithParam: LIST_MODES + KEY_MODE + LIMIT_MODE + FORWARD_MODE,
  },
  configModes: (cfg: Config) => {
    const prefix = new PrefixTable(cfg.channels.prefix).modes;
    return { channel: prefix, channelWithParam: prefix };
  },
  caps: [
    { name: 'multi-prefix' },
    { name: 'userhost-in-names' },
    { name: 'extended-join' },
    { name: 'invite-notify' },
    { name: 'draft/channel-rename' },
  ],
  isupport: (cfg) => {
    const prefix = new PrefixTable(cfg.channels.prefix);
    const limits = cfg.limits;
    return {
      CHANTYPES: cfg.channels.types,
      CHANMODES,
      PREFIX: cfg.channels.prefix,
      STATUSMSG: prefix.symbols,
      CHANLIMIT: `${cfg.channels.types}:${limits.channels_per_user}`,
      CHANNELLEN: limits.channellen,
      TOPICLEN: limits.topiclen,
      KICKLEN: limits.kicklen,
      KEYLEN: KEY_MAX,
      MODES: limits.modes_per_line,
      MAXLIST: `${LIST_MODES}:${limits.list_entries}`,
      EXCEPTS: 'e',
      INVEX: 'I',
      ELIST,
      EXTBAN: `${EXTBAN_PREFIX},${EXTBAN_TYPES}`,
    };
  },
};
