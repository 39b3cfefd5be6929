// Channel mode strings, pure: parsing "+o-v+b nick nick mask" into changes, applying them to a
// Channel under the rules of Modern IRC "Channel Modes", and formatting the applied changes back
// into one normalised MODE line. No sockets and no server here, so it is tested directly.
// Spec: https://modern.ircdocs.horse/#channel-modes
import type { CaseFold } from '../../protocol/casemap.js';
import { normalizeMask } from '../../protocol/mask.js';
import { ERR } from '../../protocol/numerics.js';
import type { Channel, ModeChange, PrefixTable } from '../../server/channel.js';
import type { User } from '../../server/user.js';
import type { ChannelModeWrites } from '../../server/state.js';

/** List modes (type A): bans, ban exceptions, invite exceptions. */
export const LIST_MODES = 'beI';
/** The key (type B): a parameter when set and when unset. */
export const KEY_MODE = 'k';
/** The limit (type C): a parameter only when set. */
export const LIMIT_MODE = 'l';
/** The forward target (type C): joins this channel refuses go to that one instead. */
export const FORWARD_MODE = 'f';
/**
 * Flag modes (type D). C refuses CTCP other than ACTION; M lets only logged-in users speak; U
 * sends the messages of members without voice to the channel operators only; u (auditorium)
 * hides members without voice from each other.
 */
export const FLAG_MODES = 'CMUimnpstu';
/** ISUPPORT CHANMODES, in the order of the four types. */
export const CHANMODES = `${LIST_MODES},${KEY_MODE},${FORWARD_MODE}${LIMIT_MODE},${FLAG_MODES}`;
/** RFC 2812 key grammar: 1 to 23 characters. */
export const KEY_MAX = 23;
/** Longest list entry kept; longer masks cannot match a real nick!user@host anyway. */
export const MASK_MAX = 256;
const LIMIT_MAX = 2 ** 31 - 1;

export interface ParsedModes {
  changes: ModeChange[];
  /** Letters that are no mode of ours, once each (472). */
  unknown: string[];
}

/**
 * Splits a mode string and its parameters into changes. Changes that take a parameter are kept up
 * to `maxParamModes` (ISUPPORT MODES); a missing parameter drops the change, except for list
 * modes, where it means "show the list", and for -k, which needs none.
 */
export function parseModeString(prefixModes: string, args: readonly string[], maxParamModes: number): ParsedModes {
  const changes: ModeChange[] = [];
  const unknown: string[] = [];
  const modeString = args[0] ?? '';
  let next = 1;
  let add = true;
  let withParam = 0;
  for (const mode of modeString) {
    if (mode === '+' || mode === '-') {
      add = mode === '+';
      continue;
    }
    const takesParam =
      prefixModes.includes(mode) || LIST_MODES.includes(mode) || mode === KEY_MODE || ((mode === LIMIT_MODE || mode === FORWARD_MODE) && add);
    if (!takesParam) {
      if (FLAG_MODES.includes(mode) || mode === LIMIT_MODE || mode === FORWARD_MODE) changes.push({ add, mode });
      else if (!unknown.includes(mode)) unknown.push(mode);
      continue;
    }
    const param = args[next];
    if (param !== undefined) next++;
    if (param === undefined || param === '') {
      if (LIST_MODES.includes(mode)) changes.push({ add, mode });
      else if (mode === KEY_MODE && !add) changes.push({ add, mode });
      continue;
    }
    if (++withParam > maxParamModes) continue;
    changes.push({ add, mode, param });
  }
  return { changes, unknown };
}

export interface ModeError {
  code: string;
  params: string[];
}

export interface ApplyContext {
  fold: CaseFold;
  prefixes: PrefixTable;
  /** Prefix letters the setter holds in the channel ('' for a non-member). */
  setterHeld: string;
  /** Finds a registered client by nick. */
  findNick(nick: string): User | undefined;
  /** Where each change is written: the writes State.changeChannelModes gives, which announces them together. */
  writes: ChannelModeWrites;
  /** Entries allowed in b, e and I together (ISUPPORT MAXLIST). */
  listLimit: number;
  setBy: string;
  now: number;
  /** The channel +f may name (its name as it is), or why not (no such channel, not its operator). */
  forwardTarget(name: string): { name: string } | ModeError;
}

export interface ApplyResult {
  applied: ModeChange[];
  errors: ModeError[];
  /** List letters asked to be shown (a list mode without a parameter). */
  listQueries: string[];
}

/**
 * The rank needed to change a mode: prefix modes above op (a, q) need that rank, op and halfop
 * need op, modes below halfop (voice) need halfop; every other mode needs op.
 */
function requiredRank(prefixes: PrefixTable, mode: string): number {
  const { op, halfop } = prefixes.opRanks();
  const r = prefixes.modes.indexOf(mode);
  if (r === -1) return op;
  if (r < op) return r;
  return r > halfop ? halfop : op;
}

/** RFC 2812 key: printable, no space or comma, 1..23 characters. */
export function validKey(key: string): boolean {
  return key.length >= 1 && key.length <= KEY_MAX && /^[\x21-\x2b\x2d-\x7e]+$/.test(key);
}

/** Applies parsed changes to the channel; returns what changed (for the broadcast) and the errors. */
export function applyModeChanges(channel: Channel, changes: readonly ModeChange[], ctx: ApplyContext): ApplyResult {
  const applied: ModeChange[] = [];
  const errors: ModeError[] = [];
  const listQueries: string[] = [];
  const rank = ctx.prefixes.bestRank(ctx.setterHeld);
  let deniedOnce = false;
  const err = (code: string, ...params: string[]) => errors.push({ code, params });

  for (const c of changes) {
    if (LIST_MODES.includes(c.mode) && c.param === undefined) {
      if (c.add && !listQueries.includes(c.mode)) listQueries.push(c.mode);
      continue;
    }
    if (rank > requiredRank(ctx.prefixes, c.mode)) {
      if (!deniedOnce) err(ERR.CHANOPRIVSNEEDED, channel.name, "You're not channel operator");
      deniedOnce = true;
      continue;
    }
    if (ctx.prefixes.modes.includes(c.mode)) {
      const target = ctx.findNick(c.param!);
      if (!target) {
        err(ERR.NOSUCHNICK, c.param!, 'No such nick/channel');
        continue;
      }
      const held = channel.members.get(target);
      if (held === undefined) {
        err(ERR.USERNOTINCHANNEL, target.nick, channel.name, "They aren't on that channel");
        continue;
      }
      if (held.includes(c.mode) === c.add) continue;
      ctx.writes.setMemberPrefixes(channel, target, c.add ? ctx.prefixes.sort(held + c.mode) : held.replace(c.mode, ''));
      applied.push({ add: c.add, mode: c.mode, param: target.nick });
    } else if (LIST_MODES.includes(c.mode)) {
      const mask = normalizeMask(c.param!);
      if (mask.length > MASK_MAX) {
        err(ERR.INVALIDMODEPARAM, channel.name, c.mode, c.param!, 'Mask is too long');
        continue;
      }
      const list = channel.list(c.mode);
      const folded = ctx.fold(mask);
      const at = list.findIndex((e) => ctx.fold(e.mask) === folded);
      if (c.add) {
        if (at !== -1) continue;
        const total = [...LIST_MODES].reduce((n, l) => n + (channel.lists.get(l)?.length ?? 0), 0);
        if (total >= ctx.listLimit) {
          err(ERR.BANLISTFULL, channel.name, c.mode, 'Channel list is full');
          continue;
        }
        ctx.writes.addListEntry(channel, c.mode, { mask, setBy: ctx.setBy, setAt: ctx.now });
        applied.push({ add: true, mode: c.mode, param: mask });
      } else {
        if (at === -1) continue;
        const removed = ctx.writes.removeListEntry(channel, c.mode, at);
        applied.push({ add: false, mode: c.mode, param: removed.mask });
      }
    } else if (c.mode === KEY_MODE) {
      if (!c.add) {
        if (channel.key === undefined) continue;
        ctx.writes.setChannelKey(channel, undefined);
        applied.push({ add: false, mode: KEY_MODE, param: '*' });
      } else if (!validKey(c.param!)) {
        err(ERR.INVALIDMODEPARAM, channel.name, KEY_MODE, '*', 'Invalid key: 1-23 printable characters, no spaces or commas');
      } else if (channel.key !== undefined) {
        if (channel.key !== c.param) err(ERR.KEYSET, channel.name, 'Channel key already set');
      } else {
        ctx.writes.setChannelKey(channel, c.param!);
        applied.push({ add: true, mode: KEY_MODE, param: c.param! });
      }
    } else if (c.mode === LIMIT_MODE) {
      if (!c.add) {
        if (channel.limit === undefined) continue;
        ctx.writes.setChannelLimit(channel, undefined);
        applied.push({ add: false, mode: LIMIT_MODE });
        continue;
      }
      const n = /^\d{1,10}$/.test(c.param!) ? Number(c.param) : NaN;
      if (!(n >= 1 && n <= LIMIT_MAX)) {
        err(ERR.INVALIDMODEPARAM, channel.name, LIMIT_MODE, c.param!, 'Invalid limit: a whole number above 0');
        continue;
      }
      if (channel.limit === n) continue;
      ctx.writes.setChannelLimit(channel, n);
      applied.push({ add: true, mode: LIMIT_MODE, param: String(n) });
    } else if (c.mode === FORWARD_MODE) {
      if (!c.add) {
        if (channel.forward === undefined) continue;
        ctx.writes.setChannelForward(channel, undefined);
        applied.push({ add: false, mode: FORWARD_MODE });
        continue;
      }
      const target = ctx.forwardTarget(c.param!);
      if ('code' in target) {
        errors.push(target);
        continue;
      }
      if (ctx.fold(target.name) === channel.folded) {
        err(ERR.INVALIDMODEPARAM, channel.name, FORWARD_MODE, c.param!, 'A channel cannot forward to itself');
        continue;
      }
      if (channel.forward === target.name) continue;
      ctx.writes.setChannelForward(channel, target.name);
      applied.push({ add: true, mode: FORWARD_MODE, param: target.name });
    } else {
      if (channel.flags.has(c.mode) === c.add) continue;
      // Secret and private are exclusive: setting one replaces the other.
      const other = c.mode === 's' ? 'p' : c.mode === 'p' ? 's' : undefined;
      if (c.add && other && channel.flags.has(other)) {
        ctx.writes.setChannelFlag(channel, other, false);
        applied.push({ add: false, mode: other });
      }
      ctx.writes.setChannelFlag(channel, c.mode, c.add);
      applied.push({ add: c.add, mode: c.mode });
    }
  }
  return { applied, errors, listQueries };
}

/** One normalised mode string and its parameters: "+o-v" "nick" "nick". */
export function formatModeChanges(changes: readonly ModeChange[]): string[] {
  let modes = '';
  const params: string[] = [];
  let sign = '';
  for (const c of changes) {
    const s = c.add ? '+' : '-';
    if (s !== sign) modes += sign = s;
    modes += c.mode;
    if (c.param !== undefined) params.push(c.param);
  }
  return [modes, ...params];
}

/** The channel's current modes for RPL_CHANNELMODEIS; the key is shown to members only. */
export function currentModes(channel: Channel, showKey: boolean): string[] {
  let modes = '+' + [...channel.flags].sort().join('');
  const params: string[] = [];
  if (channel.key !== undefined) {
    modes += KEY_MODE;
    params.push(showKey ? channel.key : '*');
  }
  if (channel.limit !== undefined) {
    modes += LIMIT_MODE;
    params.push(String(channel.limit));
  }
  if (channel.forward !== undefined) {
    modes += FORWARD_MODE;
    params.push(channel.forward);
  }
  return [modes, ...params];
}
