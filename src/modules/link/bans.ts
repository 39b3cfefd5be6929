// Server bans across a network: a K-, D- or X-line set or removed on any server goes to every
// server as ENCAP * KLINE/UNKLINE, DLINE/UNDLINE or XLINE/UNXLINE, and each server stores it and
// enforces it on its own users as if set there (a matching user is disconnected by its own server,
// whose QUIT then reaches the network). Durations go in minutes, as TS6 counts them.
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md ("KLINE (E)", "UNKLINE (E)",
// "DLINE (E)", "UNDLINE (E)", "XLINE (E)", "UNXLINE (E)")
import { globMatch } from '../../protocol/mask.js';
import type { Message } from '../../protocol/message.js';
import type { User } from '../../server/user.js';
import type { BanKind, ServerBan } from '../../store/bans.js';
import { addServerBan, removeServerBan } from '../bans.js';
import type { Link, Network } from './network.js';

/** An address or host that starts with ":" would read as the trailing parameter: TS6 puts a 0 before it. */
const wireSafe = (text: string) => (text.startsWith(':') ? '0' + text : text);
const fromWire = (text: string) => (text.startsWith('0::') ? text.slice(1) : text);

/** Realnames travel as one word: spaces as "\s", as XLINE takes them from opers. */
const oneWord = (text: string) => text.replace(/ /g, '\\s');

/** The masks of a ban as its ENCAP line carries them: user and host for a K-line, the mask otherwise. */
function maskParams(kind: BanKind, mask: string): string[] {
  if (kind === 'K') {
    const at = mask.lastIndexOf('@');
    return [mask.slice(0, at), wireSafe(mask.slice(at + 1))];
  }
  return [kind === 'X' ? oneWord(mask) : wireSafe(mask)];
}

/** "ENCAP * KLINE <minutes> <user> <host> :<reason>" (DLINE, XLINE alike) for a ban set here; 0 minutes is permanent. */
export function banLine(net: Network, ban: ServerBan, by: User | undefined): Message {
  const minutes = ban.expiresAt === undefined ? 0 : Math.max(1, Math.ceil((ban.expiresAt - Date.now()) / 60000));
  const params = ['*', `${ban.kind}LINE`, String(minutes), ...maskParams(ban.kind, ban.mask), ...(ban.kind === 'X' ? ['2'] : []), ban.reason];
  return { source: by ? net.uid(by) : net.sid, command: 'ENCAP', params };
}

/** "ENCAP * UNKLINE <user> <host>" (UNDLINE, UNXLINE alike) for a ban removed here. */
export function unbanLine(net: Network, kind: BanKind, mask: string, by: User | undefined): Message {
  return { source: by ? net.uid(by) : net.sid, command: 'ENCAP', params: ['*', `UN${kind}LINE`, ...maskParams(kind, mask)] };
}

const KINDS: Record<string, { kind: BanKind; adding: boolean; params: number }> = {
  KLINE: { kind: 'K', adding: true, params: 4 },
  DLINE: { kind: 'D', adding: true, params: 3 },
  XLINE: { kind: 'X', adding: true, params: 4 },
  UNKLINE: { kind: 'K', adding: false, params: 2 },
  UNDLINE: { kind: 'D', adding: false, params: 1 },
  UNXLINE: { kind: 'X', adding: false, params: 1 },
};

/** Whether an ENCAP subcommand is one of the ban commands this file applies. */
export function isBanEncap(sub: string): boolean {
  return sub in KINDS;
}

/**
 * ":<source> ENCAP <server mask> <KLINE|DLINE|XLINE|UNKLINE|UNDLINE|UNXLINE> ...": passed on to
 * the other links as it came, and applied here when the mask matches this server's name, through
 * the same checks a local oper's ban meets (a mask refused here is logged and not applied).
 */
export function applyBanEncap(net: Network, link: Link, msg: Message, user: User | undefined): void {
  const [serverMask = '', sub = '', ...args] = msg.params;
  const spec = KINDS[sub]!;
  if (args.length < spec.params) return;
  net.broadcast(msg);
  const server = net.server;
  if (!globMatch(serverMask.toLowerCase(), server.name.toLowerCase())) return;
  const origin = user ? server.state.serverOf(user) : net.bySid.get(msg.source ?? '');
  const by = `${user?.nick ?? origin?.name ?? link.name} (${origin?.name ?? link.name})`;
  const { kind } = spec;
  if (!spec.adding) {
    const given = kind === 'K' ? `${args[0]}@${fromWire(args[1]!)}` : kind === 'X' ? args[0]! : fromWire(args[0]!);
    removeServerBan(server, kind, given, by);
    return;
  }
  const minutes = Number(args[0]);
  const given = kind === 'K' ? `${args[1]}@${fromWire(args[2]!)}` : kind === 'X' ? args[1]! : fromWire(args[1]!);
  const result = addServerBan(server, {
    kind,
    given,
    seconds: Number.isInteger(minutes) && minutes > 0 ? minutes * 60 : 0,
    reason: args[args.length - 1],
    setBy: by,
    by,
  });
  if (!result.ok) server.log.warn({ link: link.name, kind, mask: given, error: result.error }, 'server ban from a linked server not applied');
}
