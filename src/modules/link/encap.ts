// ENCAP from a linked server: the subcommands this server applies (SU and LOGIN set accounts,
// REALHOST a user's real host), and the passing on of every ENCAP not meant for this server alone
// (GCAP, CERTFP and the ones it has no use for), as a hub must.
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md ("ENCAP", "SU", "LOGIN", "REALHOST", "GCAP", "CERTFP")
import type { Message } from '../../protocol/message.js';
import type { User } from '../../server/user.js';
import type { Link, Network } from './network.js';

/** ":<source> ENCAP <servermask> <subcommand> [params]". */
export function handleEncap(net: Network, link: Link, msg: Message, user: User | undefined): void {
  const [mask = '', sub = '', ...args] = msg.params;
  const state = net.server.state;
  switch (sub) {
    case 'SU': {
      // "SU <uid> [<account>]": services log a user in (or, without an account, out). Our accountChanged passes it on.
      const target = net.byUid.get(args[0] ?? '');
      if (target) state.setAccount(target, args[1] || undefined);
      return;
    }
    case 'LOGIN':
      // "LOGIN <account>" from the user: its account, in a burst of a server without EUID. Passed on as SU.
      if (user && args[0]) state.setAccount(user, args[0]);
      return;
    case 'GCAP': {
      // "GCAP :<caps>" from a server, once, when it is introduced: kept to tell links that come later.
      const from = net.bySid.get(msg.source ?? '');
      if (from?.sid && !net.gcaps.has(from.sid)) net.gcaps.set(from.sid, (args[0] ?? '').slice(0, 400));
      break;
    }
    case 'REALHOST':
      // "REALHOST <host>" from the user: the host under its spoof (a burst without EUID). Not a
      // change anyone sees (State has no event for it): the field is set, and the line passed on.
      if (user && args[0]) user.realHost = args[0];
      break;
  }
  // Meant for other servers too (a mask such as "*"): the other links get it as it came.
  if (mask.toLowerCase() !== net.server.name.toLowerCase()) net.broadcast(msg, link);
}
