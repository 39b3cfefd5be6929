// What a linked server understands: the capabilities of its CAPAB, and its channel and user mode
// letters. Lines are translated at the link's edge, both ways: a mode letter the two sides do not
// share with the same meaning is dropped (its parameter with it), never applied as another mode;
// EUID becomes UID with ENCAP REALHOST and LOGIN for a peer without EUID.
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md ("Capabilities",
// "Linking", "EUID", "UID", "SJOIN", "TMODE", "BMASK", "EBMASK")
import type { Message } from '../../protocol/message.js';
import type { Server } from '../../server/server.js';
import { CHANMODES } from '../channels/modeparse.js';
import { isUserMode } from '../usermodes.js';

/** Capabilities this server implements, sent in CAPAB (with its mode tokens). */
const OUR_CAPABS = ['QS', 'EX', 'IE', 'ENCAP', 'EUID', 'SAVE', 'TB', 'EBMASK', 'STAG', 'SERVICES', 'RSFNC', 'MLOCK'];
/** Capabilities TS6 requires of a peer (ts6.md "Linking"): a peer without them is refused. */
export const REQUIRED_CAPABS = ['QS', 'EX', 'IE', 'ENCAP'];

type ModeKind = 'list' | 'key' | 'set' | 'flag' | 'prefix';

/** A server's channel modes: each letter's kind, and its prefix letters with their symbols. */
export interface ModeTable {
  kinds: ReadonlyMap<string, ModeKind>;
  /** Prefix letters and their symbols, in rank order. */
  prefixModes: string;
  prefixSymbols: string;
  /** Letters whose meaning this server shares with ours (all of them for one of our own daemons). */
  shared: ReadonlySet<string>;
  /** User mode letters that mean the same on both sides, or undefined for all of ours. */
  userModes: ReadonlySet<string> | undefined;
}

function table(chanmodes: string, prefix: string, shared: Iterable<string> | undefined, userModes: ReadonlySet<string> | undefined): ModeTable {
  const kinds = new Map<string, ModeKind>();
  const [lists = '', key = '', set = '', flags = ''] = chanmodes.split(',');
  for (const c of lists) kinds.set(c, 'list');
  for (const c of key) kinds.set(c, 'key');
  for (const c of set) kinds.set(c, 'set');
  for (const c of flags) kinds.set(c, 'flag');
  const m = /^\(([A-Za-z]*)\)(\S*)$/.exec(prefix);
  const prefixModes = m?.[1] ?? '';
  for (const c of prefixModes) kinds.set(c, 'prefix');
  return { kinds, prefixModes, prefixSymbols: m?.[2] ?? '', shared: new Set(shared ?? kinds.keys()), userModes };
}

/**
 * The charybdis family's core modes (Solanum's chmode.c and s_user.c): what a TS6 peer that does
 * not describe its modes is taken to have. Letters it has that are not core (extensions) are flags
 * there; as they are not shared, they are dropped here.
 */
const TS6_CHANMODES = 'beIq,k,fjl,CFLPQcgimnprstz';
/** The letters of the charybdis family that mean what ours mean: bans, exceptions, invite exceptions, key, limit, forward, and the RFC flags and +C. */
const TS6_SHARED_CHANMODES = 'beIkflimnpstCov';
const TS6_SHARED_USERMODES = new Set('iosRw');

/** Our own modes, as we describe them to peers in CAPAB (CHANMODES= and PREFIX= tokens). */
export function ourTable(server: Server): ModeTable {
  return table(CHANMODES, server.config.channels.prefix, undefined, undefined);
}

/** The CAPAB tokens we send. */
export function ourCapab(server: Server): string {
  return [...OUR_CAPABS, `CHANMODES=${CHANMODES}`, `PREFIX=${server.config.channels.prefix}`].join(' ');
}

/** A peer's mode table from its CAPAB: our own daemons describe theirs, a charybdis-family server has the TS6 core. */
export function peerTable(caps: ReadonlySet<string>): ModeTable {
  let chanmodes: string | undefined;
  let prefix: string | undefined;
  for (const c of caps) {
    if (c.startsWith('CHANMODES=')) chanmodes = c.slice(10);
    else if (c.startsWith('PREFIX=')) prefix = c.slice(7);
  }
  if (chanmodes !== undefined && prefix !== undefined) return table(chanmodes, prefix, undefined, undefined);
  return table(TS6_CHANMODES, '(ov)@+', TS6_SHARED_CHANMODES, TS6_SHARED_USERMODES);
}

/**
 * Translates a mode string and its parameters ("+ok-l key uid") read with `from`'s kinds into
 * what `to` understands: letters not shared with the same kind are dropped with their parameter.
 * Undefined when nothing is left.
 */
export function translateModes(args: readonly string[], from: ModeTable, to: ModeTable): string[] | undefined {
  const modeString = args[0] ?? '';
  const out: string[] = [];
  let modes = '';
  let sign = '';
  let add = true;
  let next = 1;
  for (const c of modeString) {
    if (c === '+' || c === '-') {
      add = c === '+';
      continue;
    }
    const kind = from.kinds.get(c) ?? 'flag';
    const takes = kind === 'list' || kind === 'key' || kind === 'prefix' || (kind === 'set' && add);
    const param = takes ? args[next++] : undefined;
    if (takes && param === undefined) continue;
    if (!shares(from, to, c, kind)) continue;
    const s = add ? '+' : '-';
    if (s !== sign) modes += sign = s;
    modes += c;
    if (param !== undefined) out.push(param);
  }
  return modes ? [modes, ...out] : undefined;
}

function shares(a: ModeTable, b: ModeTable, letter: string, kind: ModeKind): boolean {
  return a.shared.has(letter) && b.shared.has(letter) && b.kinds.get(letter) === kind;
}

/** SJOIN member prefixes ("@+") of `from` as `to`'s symbols; symbols not shared are dropped. */
function translatePrefixes(item: string, from: ModeTable, to: ModeTable): string {
  let i = 0;
  let symbols = '';
  while (i < item.length && from.prefixSymbols.includes(item[i]!)) {
    const letter = from.prefixModes[from.prefixSymbols.indexOf(item[i]!)]!;
    const at = to.prefixModes.indexOf(letter);
    if (at >= 0 && shares(from, to, letter, 'prefix')) symbols += to.prefixSymbols[at];
    i++;
  }
  return symbols + item.slice(i);
}

function translateUserModes(modes: string, keep: (c: string) => boolean): string {
  let out = '';
  let sign = '';
  let add = '+';
  for (const c of modes) {
    if (c === '+' || c === '-') add = c;
    else if (keep(c)) {
      if (add !== sign) out += sign = add;
      out += c;
    }
  }
  return out || '+';
}

/** Translates a channel-mode-carrying line (SJOIN, TMODE, BMASK) between two tables; undefined when nothing is left of it. */
function translateLine(msg: Message, from: ModeTable, to: ModeTable): Message | undefined {
  const p = msg.params;
  switch (msg.command) {
    case 'SJOIN': {
      if (p.length < 4) return msg;
      const modes = translateModes(p.slice(2, -1), from, to) ?? ['+'];
      const members = p[p.length - 1]!.split(' ').map((m) => translatePrefixes(m, from, to));
      return { ...msg, params: [p[0]!, p[1]!, ...modes, members.join(' ')] };
    }
    case 'TMODE': {
      const modes = translateModes(p.slice(2), from, to);
      return modes ? { ...msg, params: [p[0]!, p[1]!, ...modes] } : undefined;
    }
    case 'BMASK':
    case 'EBMASK':
      return p[2] !== undefined && shares(from, to, p[2], 'list') ? msg : undefined;
    default:
      return msg;
  }
}

/** A line as a peer sent it, in our terms (mode letters we do not share are dropped). */
export function fromPeer(server: Server, ours: ModeTable, peer: ModeTable, msg: Message): Message | undefined {
  const p = msg.params;
  const userModes = peer.userModes;
  if (userModes !== undefined) {
    const keep = (c: string) => userModes.has(c) && isUserMode(server, c);
    // On an introduction, S stays: it marks a services server's service (services.ts), not a mode of ours.
    const introduced = (c: string) => c === 'S' || keep(c);
    if ((msg.command === 'EUID' || msg.command === 'UID') && p[3] !== undefined) return { ...msg, params: [...p.slice(0, 3), translateUserModes(p[3], introduced), ...p.slice(4)] };
    if (msg.command === 'MODE' && p[1] !== undefined) {
      const modes = translateUserModes(p[1], keep);
      return modes === '+' ? undefined : { ...msg, params: [p[0]!, modes] };
    }
  }
  return translateLine(msg, peer, ours);
}

/**
 * Our line as the peer must get it: our mode letters it does not share dropped, and EUID as UID,
 * ENCAP REALHOST and ENCAP LOGIN for a peer without EUID (ts6.md "EUID").
 */
export function toPeer(ours: ModeTable, peer: ModeTable, caps: ReadonlySet<string>, msg: Message): Message[] {
  const p = msg.params;
  const userModes = peer.userModes;
  let out: Message | undefined;
  // On an introduction, S stays: it marks a service (ours, the SASL agent), as the peer's own S does.
  if (userModes !== undefined && msg.command === 'EUID' && p[3] !== undefined)
    out = { ...msg, params: [...p.slice(0, 3), translateUserModes(p[3], (c) => c === 'S' || userModes.has(c)), ...p.slice(4)] };
  else if (userModes !== undefined && msg.command === 'MODE' && p[1] !== undefined) {
    const modes = translateUserModes(p[1], (c) => userModes.has(c));
    out = modes === '+' ? undefined : { ...msg, params: [p[0]!, modes] };
  } else out = translateLine(msg, ours, peer);
  if (!out) return [];
  if (out.command === 'EUID' && !caps.has('EUID')) {
    // EUID nick hops ts umodes user host ip uid realhost account :realname
    const [nick, hops, ts, umodes, user, host, ip, uid, realHost, account, realname] = out.params as string[];
    const lines: Message[] = [{ source: out.source, command: 'UID', params: [nick!, hops!, ts!, umodes!, user!, host!, ip!, uid!, realname!] }];
    if (realHost && realHost !== '*' && realHost !== host) lines.push({ source: uid, command: 'ENCAP', params: ['*', 'REALHOST', realHost] });
    if (account && account !== '*') lines.push({ source: uid, command: 'ENCAP', params: ['*', 'LOGIN', account] });
    return lines;
  }
  return [out];
}
