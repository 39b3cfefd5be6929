// Server bans across a network: a K-, D- or X-line set or removed on any server goes to every
// server as ENCAP * KLINE/UNKLINE, DLINE/UNDLINE or XLINE/UNXLINE, and each server stores it and
// enforces it on its own users as if set there (a matching user is disconnected by its own server,
// whose QUIT then reaches the network). Durations go in minutes, as TS6 counts them.
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md ("KLINE (E)", "UNKLINE (E)",
// "DLINE (E)", "UNDLINE (E)", "XLINE (E)", "UNXLINE (E)")
import type { Message } from '../../protocol/message.js';
import type { User } from '../../server/user.js';
import type { BanKind, ServerBan } from '../../store/ban-index.js';
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

/** A ban command as ENCAP carries it: what to set (with its minutes, 0 permanent, and reason) or remove. */
export interface BanCommand {
  kind: BanKind;
  adding: boolean;
  /** The mask as the bans module takes it from an oper: user@host, an address or range, a realname glob with spaces. */
  mask: string;
  minutes: number;
  reason: string;
}

/** The parameters after "ENCAP <server mask>": "KLINE <minutes> <user> <host> :<reason>", "UNKLINE <user> <host>", and the D and X forms. */
export function encodeBanCommand(c: BanCommand): string[] {
  if (!c.adding) return [`UN${c.kind}LINE`, ...maskParams(c.kind, c.mask)];
  return [`${c.kind}LINE`, String(c.minutes), ...maskParams(c.kind, c.mask), ...(c.kind === 'X' ? ['2'] : []), c.reason];
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

/** Reads what `encodeBanCommand` wrote (and Solanum sends); undefined when a parameter is missing. */
export function decodeBanCommand(sub: string, args: readonly string[]): BanCommand | undefined {
  const spec = KINDS[sub];
  if (!spec || args.length < spec.params) return undefined;
  const { kind, adding } = spec;
  const masks = adding ? args.slice(1) : args;
  const mask = kind === 'K' ? `${masks[0]}@${fromWire(masks[1]!)}` : kind === 'X' ? masks[0]!.replace(/\\s/g, ' ') : fromWire(masks[0]!);
  const minutes = adding ? Number(args[0]) : 0;
  return { kind, adding, mask, minutes: Number.isInteger(minutes) && minutes > 0 ? minutes : 0, reason: adding ? args[args.length - 1]! : '' };
}

/** The ENCAP line for a ban set here; its minutes are those left, rounded up. */
export function banLine(net: Network, ban: ServerBan, by: User | undefined): Message {
  const minutes = ban.expiresAt === undefined ? 0 : Math.max(1, Math.ceil((ban.expiresAt - Date.now()) / 60000));
  const params = encodeBanCommand({ kind: ban.kind, adding: true, mask: ban.mask, minutes, reason: ban.reason });
  return { source: by ? net.uid(by) : net.sid, command: 'ENCAP', params: ['*', ...params] };
}

/** The ENCAP line for a ban removed here. */
export function unbanLine(net: Network, kind: BanKind, mask: string, by: User | undefined): Message {
  const params = encodeBanCommand({ kind, adding: false, mask, minutes: 0, reason: '' });
  return { source: by ? net.uid(by) : net.sid, command: 'ENCAP', params: ['*', ...params] };
}

/**
 * ":<source> ENCAP <server mask> <KLINE|DLINE|XLINE|UNKLINE|UNDLINE|UNXLINE> ...", meant for this
 * server (services.ts passes ENCAP on and matches the mask): applied through the same checks a
 * local oper's ban meets (a mask refused here is logged and not applied).
 */
export function applyBanEncap(net: Network, link: Link, msg: Message, user: User | undefined): void {
  const [, sub = '', ...args] = msg.params;
  const ban = decodeBanCommand(sub, args);
  if (!ban) return;
  const server = net.server;
  const origin = user ? server.state.serverOf(user) : net.bySid.get(msg.source ?? '');
  const by = `${user?.nick ?? origin?.name ?? link.name} (${origin?.name ?? link.name})`;
  const fields = { link: link.name, by, kind: ban.kind, mask: ban.mask };
  if (!ban.adding) {
    if (removeServerBan(server, ban.kind, ban.mask, by).removed) server.log.info(fields, 'server ban removed by a linked server');
    return;
  }
  const result = addServerBan(server, { kind: ban.kind, given: ban.mask, seconds: ban.minutes * 60, reason: ban.reason, setBy: by, by });
  if (result.ok) server.log.info({ ...fields, minutes: ban.minutes, reason: ban.reason }, 'server ban set by a linked server');
  else server.log.warn({ ...fields, error: result.error }, 'server ban from a linked server not applied');
}
