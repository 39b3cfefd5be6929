// Messages for the whole network's opers and users: WALLOPS (to users with +w), GLOBOPS (as TS6's
// OPERWALL, to opers with snomask g) and server notices meant for every server's opers (ENCAP *
// SNOTE <letter>: oper-ups, kills). Each server shows them to its own users and passes them on.
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md (WALLOPS, OPERWALL, "SNOTE (E)")
import { SNOMASK_LETTERS } from '../../config/schema.js';
import type { Message } from '../../protocol/message.js';
import type { User } from '../../server/user.js';
import { sendGlobops, sendWallops, serverNotice } from '../oper.js';
import type { Link, Network } from './network.js';

/** The line for a network message sent here (the `networkMessage` hook). */
export function networkLine(net: Network, kind: 'WALLOPS' | 'GLOBOPS' | 'SNOTE', from: User | undefined, text: string, letter = ''): Message {
  const source = from ? net.uid(from) : net.sid;
  if (kind === 'WALLOPS') return { source, command: 'WALLOPS', params: [text] };
  if (kind === 'GLOBOPS') return { source, command: 'OPERWALL', params: [text] };
  return { source: net.sid, command: 'ENCAP', params: ['*', 'SNOTE', letter, text] };
}

/** The name of the server a line comes from: its source's server, or the link's peer. */
function originOf(net: Network, link: Link, msg: Message, user: User | undefined): string {
  return user ? net.server.state.serverOf(user).name : (net.bySid.get(msg.source ?? '')?.name ?? link.name!);
}

/** ":<source> WALLOPS :<text>" and ":<uid> OPERWALL :<text>": shown here, passed on as they came. */
export function applyOperMessage(net: Network, link: Link, msg: Message, user: User | undefined): void {
  const text = msg.params[0];
  if (text === undefined) return;
  if (msg.command === 'WALLOPS') sendWallops(net.server, user, text, originOf(net, link, msg, user));
  else if (user) sendGlobops(net.server, user, text);
  else return;
  net.broadcast(msg);
}

/** ":<sid> ENCAP * SNOTE <letter> :<text>": to the opers here whose snomask has the letter, from that server (services.ts passes ENCAP on). */
export function applySnote(net: Network, link: Link, msg: Message, user: User | undefined): void {
  const [, , letter = '', text] = msg.params;
  if (text === undefined || letter.length !== 1) return;
  // A letter this server does not know is ignored (ts6.md).
  if (SNOMASK_LETTERS.includes(letter)) serverNotice(net.server, letter, text, undefined, originOf(net, link, msg, user));
}
