// MODE routes by target: channel names go to the channel module, nicks to the user-mode module.
// Spec: https://modern.ircdocs.horse/#mode-message
import { isChannelTarget } from '../protocol/channelname.js';
import { ERR } from '../protocol/numerics.js';
import type { Module } from '../server/module.js';

export const mode: Module = {
  name: 'mode',
  commands: {
    MODE: {
      minParams: 1,
      handler: (server, client, msg) => {
        const target = msg.params[0]!;
        const isChannel = isChannelTarget(target, server.config.channels.types);
        for (const m of server.modules) {
          const handler = isChannel ? m.modeHandlers?.channel : m.modeHandlers?.user;
          if (handler) return handler(server, client, msg);
        }
        if (isChannel) client.numeric(ERR.NOSUCHCHANNEL, target, 'No such channel');
        else client.numeric(ERR.NOSUCHNICK, target, 'No such nick/channel');
      },
      help: [
        'MODE <target> [<modes> [<params>...]]',
        'Shows or changes the modes of a channel or of yourself.',
        'Channel modes (operators set them): b <mask> ban, e <mask> ban exception, I <mask> invite',
        'exception, k <key> key, l <n> member limit, f <channel> send refused joins to that channel',
        '(you must be its operator), C no CTCP but ACTION, i invite only, m moderated, M only users',
        'logged in to an account may speak, n no messages from outside, p private, s secret, t only',
        'operators set the topic, U messages of users without voice reach the operators only,',
        'u auditorium (users without voice see only the voiced and the operators); and the member',
        'prefixes (o <nick>, v <nick>, ...). User modes: i invisible, w wallops, B bot, R only users',
        'logged in to an account may message you (ACCEPT lets others through); opers and cloaks',
        'add theirs.',
      ],
    },
  },
};
