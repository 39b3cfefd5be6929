// The invariants that tie the link module's indexes to State: what a desync would break first.
// Used by the link fuzz test after every batch of hostile server lines, and cheap enough (one
// pass over users, servers and channels) to run from a debugger on a live network.
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md ("UIDs", "Server introduction")
import type { Server } from '../../server/server.js';
import { userIds } from './ids.js';
import type { Network } from './network.js';

/** Every broken invariant, in words (empty when State and the link indexes agree). */
export function linkProblems(server: Server, net: Network): string[] {
  const state = server.state;
  const problems: string[] = [];
  const known = new Set(state.servers.values());
  for (const s of known) {
    if (s === state.me) continue;
    // A server's uplinks lead to this server, through servers State knows.
    let hops = 0;
    let at = s;
    while (at.uplink && hops <= known.size) {
      if (!known.has(at.uplink)) problems.push(`server ${s.name}: uplink ${at.uplink.name} is not on the network`);
      at = at.uplink;
      hops++;
    }
    if (at !== state.me) problems.push(`server ${s.name}: its uplinks do not lead here`);
    if (!s.sid || net.bySid.get(s.sid) !== s) problems.push(`server ${s.name}: SID ${s.sid} is not indexed`);
    if (!net.linkToward(s)) problems.push(`server ${s.name}: no link leads to it`);
  }
  for (const [sid, s] of net.bySid) if (!known.has(s) || s.sid !== sid) problems.push(`SID ${sid}: indexed for a server that is gone`);
  for (const [peer, link] of net.byPeer) {
    if (!known.has(peer) || peer.uplink !== state.me) problems.push(`link ${link.name}: its server is not linked here`);
    if (!net.links.has(link) || link.phase !== 'up') problems.push(`link ${link.name}: indexed but not up`);
  }
  for (const user of state.clients) {
    if (!user.registered) continue;
    const home = state.serverOf(user);
    const ids = userIds.get(user);
    if (state.nicks.get(user.nickKey) !== user) problems.push(`user ${user.nick}: not under its nick in the index`);
    if (home === state.me) {
      if (ids?.home) problems.push(`user ${user.nick}: local, but its ids name ${ids.home.name}`);
      continue;
    }
    if (!known.has(home)) problems.push(`user ${user.nick}: its server ${home.name} is not on the network`);
    if (!ids || ids.home !== home) problems.push(`user ${user.nick}: its ids do not name its server ${home.name}`);
    else if (net.byUid.get(ids.uid) !== user) problems.push(`user ${user.nick}: UID ${ids.uid} is not indexed`);
    if (user.sessions.length > 0) problems.push(`user ${user.nick}: a user of ${home.name} has sessions here`);
  }
  for (const [uid, user] of net.byUid) {
    if (!state.clients.has(user)) problems.push(`UID ${uid}: indexed for ${user.nick}, who is gone`);
    else if (userIds.get(user)?.uid !== uid) problems.push(`UID ${uid}: indexed for ${user.nick}, whose UID is another`);
  }
  for (const channel of state.channels.values()) {
    if (channel.members.size === 0) problems.push(`channel ${channel.name}: no members`);
    for (const member of channel.members.keys()) {
      if (!state.clients.has(member)) problems.push(`channel ${channel.name}: member ${member.nick} is gone`);
      if (!state.memberships.get(member)?.has(channel)) problems.push(`channel ${channel.name}: member ${member.nick} does not list it`);
    }
  }
  for (const [user, channels] of state.memberships)
    for (const channel of channels)
      if (!channel.members.has(user) || state.findChannel(channel.name) !== channel) problems.push(`user ${user.nick}: lists ${channel.name}, which does not list it`);
  return problems;
}
