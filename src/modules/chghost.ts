// IRCv3 chghost: when a user's username or shown host changes (cloaks, vhosts), clients holding
// the cap see `:oldmask CHGHOST <user> <host>`; channel peers without it see the user quit and
// rejoin (with its channel prefixes restored by MODE), so their view of the mask stays right.
// Spec: https://ircv3.net/specs/extensions/chghost
import { CAP } from '../server/caps.js';
import type { User } from '../server/user.js';
import { notifyInterested } from '../server/interested.js';
import type { Module } from '../server/module.js';
import { Outgoing, relay } from '../server/outgoing.js';
import type { Server } from '../server/server.js';
import { awayMessage } from './away.js';
import { sendJoin } from './channels/join.js';

/** State's `hostChanged` of a registered user: everyone who sees it learns the new username and host. */
function announceHost(server: Server, client: User, oldUser: string, oldHost: string): void {
  if (!client.registered) return;
  const oldMask = `${client.nick}!${oldUser || '*'}@${oldHost}`;
  const out = relay(client, { source: oldMask, command: 'CHGHOST', params: [client.user, client.host] });
  notifyInterested(server, client, out, CAP.chghost, { self: true });

  const quit = relay(client, { source: oldMask, command: 'QUIT', params: ['Changing hostname'] });
  const fallback = new Set<User>();
  for (const peer of server.state.peersOf(client)) {
    if (peer.hasCap(CAP.chghost)) continue;
    peer.sendOutgoing(quit);
    fallback.add(peer);
  }
  if (fallback.size === 0) return;
  for (const channel of server.state.channelsOf(client)) {
    const rejoined = [...channel.members.keys()].filter((member) => fallback.has(member));
    sendJoin(client, channel, rejoined);
    const held = server.prefixes.sort(channel.members.get(client) ?? '');
    if (!held) continue;
    const mode = new Outgoing({ source: server.name, command: 'MODE', params: [channel.name, '+' + held, ...[...held].map(() => client.nick)] });
    for (const member of rejoined) member.sendOutgoing(mode);
  }
  if (client.away === undefined) return;
  const away = awayMessage(client);
  for (const peer of fallback) if (peer.hasCap(CAP['away-notify'])) peer.sendOutgoing(away);
}

export const chghost: Module = {
  name: 'chghost',
  caps: [{ name: 'chghost' }],
  init(server) {
    server.state.events.on('hostChanged', ({ client, oldUser, oldHost }) => announceHost(server, client, oldUser, oldHost));
  },
};
