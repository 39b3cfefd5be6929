// Queries across a network: a command naming another server (WHOIS <server|nick> <nick>, MOTD,
// VERSION, TIME, ADMIN, INFO, LUSERS, STATS, LINKS, CONNECT, PING <token> <server>) goes there as
// ":<uid> <command> ... <sid>", passed on by each server on the way; the server named runs the
// command for the remote user as for its own, and its replies come back as ":<sid> <numeric>
// <uid> ..." (or NOTICE), passed hop by hop to the user's server, which shows them with the
// answering server's name as their source.
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md ("hunted server", WHOIS,
// LUSERS, STATS, LINKS, MOTD, VERSION, TIME, ADMIN, INFO, CONNECT, PING, PONG)
import type { Message } from '../../protocol/message.js';
import { huntedServer } from '../../server/hunt.js';
import type { ServerEntry } from '../../server/state.js';
import { answerFor, type User } from '../../server/user.js';
import { applyBanEncap, isBanEncap } from './bans.js';
import { UID_RE } from './ids.js';
import type { Link, Network } from './network.js';
import { applyOperMessage, applySnote } from './opers.js';

/** Commands whose parameter at this index names the server that answers. */
const HUNTED: Readonly<Record<string, number>> = { WHOIS: 0, MOTD: 0, VERSION: 0, TIME: 0, ADMIN: 0, INFO: 0, LINKS: 0, LUSERS: 1, STATS: 1, CONNECT: 2 };

/** Server.forwardQuery: a local user's command goes toward the server it names, which it names by SID. */
export function forwardQuery(net: Network, client: User, to: ServerEntry, msg: Message, at: number): void {
  const via = net.linkToward(to);
  if (!via || !to.sid) return;
  const params = [...msg.params];
  params[at] = to.sid;
  net.send(via, { source: net.uid(client), command: msg.command, params });
}

/** The server a hunted parameter from a link names: a SID, a UID's server, or a name or mask. */
function serverNamed(net: Network, given: string): ServerEntry | undefined {
  if (given === net.sid) return net.server.state.me;
  const bySid = net.bySid.get(given);
  if (bySid) return bySid;
  const user = UID_RE.test(given) ? net.byUid.get(given) : undefined;
  return user ? net.server.state.serverOf(user) : huntedServer(net.server, given);
}

/**
 * Passes `msg` on toward `target` unless it is this server; true when passed on (or dropped:
 * never back where it came from).
 */
export function passOn(net: Network, link: Link, target: ServerEntry, msg: Message): boolean {
  if (target === net.server.state.me) return false;
  const via = net.linkToward(target);
  if (via && via !== link) net.send(via, msg);
  return true;
}

/** What a command run here for a remote user sends it: numerics and notices go back over the link; the rest is this server's own business. */
function replyOverLink(net: Network, user: User, reply: Message): void {
  const via = net.linkOfUser(user);
  if (!via) return;
  if (/^\d{3}$/.test(reply.command) || reply.command === 'NOTICE')
    net.send(via, { source: net.sid, command: reply.command, params: [net.uid(user), ...reply.params.slice(1)] });
}

/** ":<uid> <command> ... <hunted> ...": answered here when it names this server, else passed on. */
export function applyHunted(net: Network, link: Link, msg: Message, user: User | undefined): void {
  const at = HUNTED[msg.command]!;
  const given = msg.params[at];
  const target = given === undefined ? undefined : serverNamed(net, given);
  // Only users ask; a question for nobody known is dropped (it crossed a split).
  if (!user || !target || passOn(net, link, target, msg)) return;
  const def = net.server.router.commands.get(msg.command);
  const params = msg.params.filter((_, i) => i !== at);
  if (!def || (typeof def.minParams === 'number' && params.length < def.minParams)) return;
  // The privilege a command declares (CONNECT's "routing") was checked by the user's own server,
  // which TS6 servers trust. Otherwise a remote user carries no privileges here (docs/linking.md):
  // what a handler keeps for opers (STATS k) is refused as to any user.
  void answerFor(user, (reply) => replyOverLink(net, user, reply), () => def.handler(net.server, user, { command: msg.command, params }));
}

/** ":<sid> <numeric|NOTICE> <uid> ...": a reply for a user, shown to it here or passed toward its server. */
export function routeReply(net: Network, link: Link, msg: Message): void {
  const target = net.byUid.get(msg.params[0] ?? '');
  if (!target || passOn(net, link, net.server.state.serverOf(target), msg)) return;
  const from = net.bySid.get(msg.source ?? '')?.name ?? link.name!;
  target.send({ source: from, command: msg.command, params: [target.nick, ...msg.params.slice(1)] });
}

/** ":<uid> PING <origin> <server>": a user's PING of a server, answered there with PONG <server name> <uid>. */
export function applyUserPing(net: Network, link: Link, msg: Message, user: User): void {
  const target = serverNamed(net, msg.params[1] ?? '');
  if (!target || passOn(net, link, target, msg)) return;
  const via = net.linkOfUser(user);
  if (via) net.send(via, { source: net.sid, command: 'PONG', params: [net.server.name, net.uid(user)] });
}

/** ":<sid> PONG <server name> <uid>": the answer to a user's remote PING, shown to it here or passed on. */
export function routeUserPong(net: Network, link: Link, msg: Message): void {
  const target = net.byUid.get(msg.params[1] ?? '');
  if (!target || passOn(net, link, net.server.state.serverOf(target), msg)) return;
  target.send({ source: msg.params[0]!, command: 'PONG', params: [msg.params[0]!, target.nick] });
}

/** The lines of this file's commands, from inbound.ts's dispatch; anything else is ignored, as TS6 servers ignore unknown commands. */
export function applyOpsLine(net: Network, link: Link, msg: Message, user: User | undefined): void {
  if (msg.command in HUNTED) return applyHunted(net, link, msg, user);
  if (/^\d{3}$/.test(msg.command)) return routeReply(net, link, msg);
  if (msg.command === 'WALLOPS' || msg.command === 'OPERWALL') return applyOperMessage(net, link, msg, user);
}

/** ENCAP subcommands of operators: server bans (bans.ts) and network server notices (opers.ts). */
export function applyOpsEncap(net: Network, link: Link, msg: Message, user: User | undefined): void {
  const sub = msg.params[1] ?? '';
  if (isBanEncap(sub)) return applyBanEncap(net, link, msg, user);
  if (sub === 'SNOTE') return applySnote(net, link, msg, user);
}
