// IRCv3 setname: SETNAME changes the realname while connected. Clients holding the cap (the user
// itself, channel peers, extended-monitor watchers) see `:mask SETNAME :realname`; the others see
// nothing, and a user without the cap gets no reply, as the spec asks.
// Spec: https://ircv3.net/specs/extensions/setname
import { CAP } from '../server/caps.js';
import { notifyInterested } from '../server/interested.js';
import type { Module } from '../server/module.js';
import { relay } from '../server/outgoing.js';

export const setname: Module = {
  name: 'setname',
  commands: {
    SETNAME: {
      minParams: 1,
      handler: (server, client, msg) => {
        const realname = msg.params[0]!;
        const max = server.config.limits.realnamelen;
        if (realname === '' || realname.length > max) {
          client.standardReply('FAIL', 'SETNAME', 'INVALID_REALNAME', `Realname must be 1 to ${max} characters`);
          return;
        }
        server.state.setRealname(client, realname);
      },
      help: ['SETNAME :<realname>', 'Changes your real name (shown by WHOIS and WHO).'],
    },
  },
  caps: [{ name: 'setname' }],
  init(server) {
    server.state.events.on('realnameChanged', ({ client }) => {
      const out = relay(client, { source: client.mask, command: 'SETNAME', params: [client.realname] });
      notifyInterested(server, client, out, CAP.setname, { self: true });
    });
  },
  isupport: (cfg) => ({ NAMELEN: cfg.limits.realnamelen }),
};
