// INVITE across links: ":<uid> INVITE <target uid> <channel> <channel TS>" goes toward the
// target's server only, which keeps the invite for the target's JOIN, shows it to the target, and
// tells the network with ":<sid> ENCAP * INVITED <inviter uid> <target uid> <channel>" so that
// every server's members hear of it (invite-notify).
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md ("INVITE", "INVITED (E)", "Simple channel TS rules")
import type { Message } from '../../protocol/message.js';
import type { Channel } from '../../server/channel.js';
import type { User } from '../../server/user.js';
import { deliverInvite, notifyInvite } from '../channels/invite.js';
import type { Link, Network } from './network.js';

/** A user here invited `target` (the `invited` hook): a remote target's server is sent the INVITE; a local one's invite is told to the network. */
export function inviteToLinks(net: Network, by: User, target: User, channel: Channel): void {
  const via = net.linkOfUser(target);
  if (via) {
    if (via.phase === 'up') net.send(via, { source: net.uid(by), command: 'INVITE', params: [net.uid(target), channel.name, String(net.channelTs(channel))] });
  } else tellInvited(net, by, target, channel);
}

/** ENCAP * INVITED to every link (the one the INVITE came from too: servers behind it have members to tell). */
function tellInvited(net: Network, by: User, target: User, channel: Channel): void {
  const line: Message = { source: net.sid, command: 'ENCAP', params: ['*', 'INVITED', net.uid(by), net.uid(target), channel.name] };
  for (const link of net.links) if (link.phase === 'up') net.send(link, line);
}

/** ":<uid> INVITE <target uid> <channel> [<channel TS>]" from a link: delivered here, or passed on toward the target. */
export function applyInvite(net: Network, link: Link, msg: Message, by: User | undefined): void {
  const [uid = '', name = '', tsText] = msg.params;
  const target = net.byUid.get(uid);
  const channel = net.server.state.findChannel(name);
  if (!by || !target || !channel || channel.members.has(target)) return;
  // Simple channel TS rules: an invite to a younger channel of the same name is not for this one.
  if (tsText !== undefined && Number(tsText) > net.channelTs(channel)) return;
  const via = net.linkOfUser(target);
  if (via) {
    if (via !== link && via.phase === 'up') net.send(via, msg);
    return;
  }
  deliverInvite(net.server, by, target, channel);
  tellInvited(net, by, target, channel);
}

/** "INVITED <inviter uid> <target uid> <channel>" (ENCAP): members here hear of an invite made elsewhere (one made here was told already). */
export function applyInvited(net: Network, args: readonly string[]): void {
  const by = net.byUid.get(args[0] ?? '');
  const target = net.byUid.get(args[1] ?? '');
  const channel = net.server.state.findChannel(args[2] ?? '');
  if (!by || !target || !channel || !net.linkOfUser(by)) return;
  notifyInvite(net.server, by, target, channel);
}
