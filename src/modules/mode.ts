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
      help: ['MODE <target> [<modes> [<params>...]]', 'Shows or changes the modes of a channel or of yourself.'],
    },
  },
};
