// AWAY (Modern IRC) and IRCv3 away-notify: peers holding the cap see `:mask AWAY [:message]` when a
// user's away state changes and when an away user joins their channel. RPL_AWAY on PRIVMSG is
// sent by messaging.ts, in WHOIS by queries.ts.
// Spec: https://modern.ircdocs.horse/#away-message · https://ircv3.net/specs/extensions/away-notify
import { RPL } from '../protocol/numerics.js';
import { CAP } from '../server/caps.js';
import type { Channel } from '../server/channel.js';
import type { User } from '../server/user.js';
import { notifyInterested } from '../server/interested.js';
import type { Module } from '../server/module.js';
import { relay, type Outgoing } from '../server/outgoing.js';
import type { Server } from '../server/server.js';

/** The away-notify message for a client's current state. */
export function awayMessage(client: User): Outgoing {
  const params = client.away === undefined ? [] : [client.away];
  return relay(client, { source: client.mask, command: 'AWAY', params });
}

/** When an away user joins, members with away-notify learn it (the joining user does not). */
export function sendAwayOnJoin(_server: Server, client: User, channel: Channel): void {
  if (client.away === undefined) return;
  const out = awayMessage(client);
  for (const member of channel.members.keys()) {
    if (member !== client && member.hasCap(CAP['away-notify'])) member.sendOutgoing(out);
  }
}

export const away: Module = {
  name: 'away',
  commands: {
    AWAY: {
      handler: (server, client, msg) => {
        const text = (msg.params[0] ?? '').slice(0, server.config.limits.awaylen);
        if (text === '') {
          server.state.setAway(client, undefined);
          client.numeric(RPL.UNAWAY, 'You are no longer marked as being away');
        } else {
          server.state.setAway(client, text);
          client.numeric(RPL.NOWAWAY, 'You have been marked as being away');
        }
      },
      help: ['AWAY [:<message>]', 'Marks you as away with a message, or as back when the message is missing or empty.'],
    },
  },
  caps: [{ name: 'away-notify' }],
  isupport: (cfg) => ({ AWAYLEN: cfg.limits.awaylen }),
  hooks: { joined: sendAwayOnJoin },
  init(server) {
    // Whoever changed it (AWAY, or the server for a user without sessions), peers with away-notify hear.
    server.state.events.on('awayChanged', ({ client }) => notifyInterested(server, client, awayMessage(client), CAP['away-notify']));
  },
};
