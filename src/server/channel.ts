// Channel state: members with their prefix modes, channel modes, lists and topic.
// The channels module owns the commands; this file owns the data and fan-out.
import type { CaseFold } from '../protocol/casemap.js';
import { globMatch } from '../protocol/mask.js';
import type { User } from './user.js';
import type { Outgoing } from './outgoing.js';
import { NO_MODULE_STATE } from './slots.js';

export interface ListEntry {
  mask: string;
  setBy: string;
  setAt: number;
}

/** One channel mode set or cleared; param is the mask, key, limit or member's nick it took. */
export interface ModeChange {
  add: boolean;
  mode: string;
  param?: string;
}

export interface Topic {
  text: string;
  setBy: string;
  setAt: number;
}

export class Channel {
  /** Member → prefix mode letters held, highest rank first (e.g. "ov"). */
  readonly members: ReadonlyMap<User, string> = new Map<User, string>();
  // Members, modes, lists, topic and name are written by State alone, which announces each change.
  /** Flag modes (i, m, n, s, p, t, ...). */
  readonly flags: ReadonlySet<string> = new Set<string>();
  readonly key: string | undefined;
  readonly limit: number | undefined;
  /** Where refused joins go instead (+f), by the target channel's name. */
  readonly forward: string | undefined;
  readonly topic: Topic | undefined;
  /** List modes (b, e, I) by letter. */
  readonly lists: ReadonlyMap<string, readonly ListEntry[]> = new Map<string, ListEntry[]>();
  readonly createdAt = Math.floor(Date.now() / 1000);
  /** Values of modules' channel slots (server/slots.ts), read and written only through the slots. */
  moduleState: readonly unknown[] = NO_MODULE_STATE;

  constructor(
    readonly name: string,
    /** Casefolded name, the key in the channel index. */
    readonly folded: string,
  ) {}

  list(letter: string): readonly ListEntry[] {
    return this.lists.get(letter) ?? NO_ENTRIES;
  }

  /**
   * True when the client matches a list entry (b, e, I) by its shown or real mask. Mute entries
   * ($m:<mask>) count only when asking about mutes, and then only they count.
   */
  matchesList(letter: string, client: User, fold: CaseFold, kind: 'ban' | 'mute' = 'ban'): boolean {
    const entries = this.lists.get(letter);
    if (!entries || entries.length === 0) return false;
    const shown = fold(client.mask);
    const real = fold(client.realMask);
    for (const e of entries) {
      let pattern = fold(e.mask);
      const mute = pattern.startsWith(MUTE_EXTBAN);
      if (mute !== (kind === 'mute')) continue;
      if (mute) pattern = pattern.slice(MUTE_EXTBAN.length);
      else if (pattern.startsWith('$a')) {
        if (matchesAccountExtban(pattern, client.account, fold)) return true;
        continue;
      }
      if (globMatch(pattern, shown) || globMatch(pattern, real)) return true;
    }
    return false;
  }

  /** Banned (+b) and not excepted (+e). */
  isBanned(client: User, fold: CaseFold): boolean {
    return this.matchesList('b', client, fold) && !this.matchesList('e', client, fold);
  }

  /**
   * Auditorium (+u): members without a prefix (voice or above) see only members with one, and
   * themselves. True when `viewer` may not see `member` in this channel.
   */
  hides(viewer: User, member: User): boolean {
    return viewer !== member && this.hidesHolding(this.members.get(viewer) ?? '', this.members.get(member) ?? '');
  }

  /**
   * The same rule by prefixes held, for a member who has already left (its PART, KICK or QUIT
   * reaches those who could see it): true when a member holding `viewerPrefixes` could not see
   * one holding `memberPrefixes`.
   */
  hidesHolding(viewerPrefixes: string, memberPrefixes: string): boolean {
    return this.flags.has('u') && viewerPrefixes === '' && memberPrefixes === '';
  }

  /**
   * Why the client may not speak here, or undefined when it may (+n, +C, +m, +M, bans, mutes).
   * `text` is the message text (none for TAGMSG).
   */
  cannotSend(client: User, fold: CaseFold, text?: string): string | undefined {
    const prefixes = this.members.get(client);
    if (prefixes === undefined && this.flags.has('n')) return 'Cannot send to channel (no external messages)';
    // +C binds everyone, operators too: it keeps CTCP floods and replies out of the channel.
    if (text !== undefined && this.flags.has('C') && isCtcpOtherThanAction(text)) return 'Cannot send CTCP to channel (+C)';
    if (prefixes) return undefined; // voiced or above may always speak
    if (this.flags.has('m')) return 'Cannot send to channel (+m)';
    if (this.flags.has('M') && client.account === undefined) return 'Cannot send to channel (+M: you need to be logged in to an account)';
    if (this.isBanned(client, fold)) return 'Cannot send to channel (you are banned)';
    if (this.matchesList('b', client, fold, 'mute') && !this.matchesList('e', client, fold, 'mute'))
      return 'Cannot send to channel (you are muted)';
    return undefined;
  }

  /** Sends to every member (optionally except one), once each. */
  broadcast(out: Outgoing, except?: User): void {
    for (const member of this.members.keys()) if (member !== except) member.sendOutgoing(out);
  }
}

/** Extended bans (ISUPPORT EXTBAN=<prefix>,<types>): $a[:account] matches accounts, $m:<mask> mutes. */
export const EXTBAN_PREFIX = '$';
export const EXTBAN_TYPES = 'am';
/** A +b entry "$m:<mask>" lets matching users join but not speak; a "$m:<mask>" +e entry exempts. */
const MUTE_EXTBAN = '$m:';

/** CTCP (text framed by \x01) other than ACTION, which channel mode +C refuses. */
function isCtcpOtherThanAction(text: string): boolean {
  return text.charCodeAt(0) === 1 && !/^\x01ACTION(?:[ \x01]|$)/.test(text);
}

/** Extended ban "$a" (any logged-in user) or "$a:<glob>" (accounts matching it); `pattern` is casefolded. */
export function matchesAccountExtban(pattern: string, account: string | undefined, fold: CaseFold): boolean {
  if (account === undefined) return false;
  if (pattern === '$a') return true;
  return pattern.startsWith('$a:') && globMatch(pattern.slice(3), fold(account));
}

/** Prefix modes from config ("(ov)@+"): mode letters and symbols, highest rank first. */
export class PrefixTable {
  readonly modes: string;
  readonly symbols: string;

  constructor(spec: string) {
    const m = /^\((.*)\)(.*)$/.exec(spec)!;
    this.modes = m[1]!;
    this.symbols = m[2]!;
  }

  /** Rank of a symbol or mode letter: 0 is highest; -1 when unknown. */
  rankOfSymbol(symbol: string): number {
    return this.symbols.indexOf(symbol);
  }

  /** Lowest rank index (0 is highest) of the prefix letters held; Infinity when none. */
  bestRank(held: string): number {
    let best = Infinity;
    for (const m of held) {
      const r = this.modes.indexOf(m);
      if (r !== -1 && r < best) best = r;
    }
    return best;
  }

  /** Rank of a channel operator, and of a half-operator when h is configured (else the same). */
  opRanks(): { op: number; halfop: number } {
    const op = this.modes.indexOf('o');
    const h = this.modes.indexOf('h');
    return { op, halfop: h === -1 ? op : h };
  }

  /**
   * The channel-operator check: true when a member holding `held` (undefined for a non-member)
   * is a channel operator or above, or with 'halfop' a half-operator or above.
   */
  holdsRank(held: string | undefined, level: 'op' | 'halfop'): boolean {
    return held !== undefined && this.atLeast(held, this.opRanks()[level]);
  }

  /** True when a member holding `held` mode letters ranks at or above `rank`. */
  atLeast(held: string, rank: number): boolean {
    return this.bestRank(held) <= rank;
  }

  /** Sorts held mode letters by rank (highest first). */
  sort(held: string): string {
    return [...held].sort((a, b) => this.modes.indexOf(a) - this.modes.indexOf(b)).join('');
  }

  /** The symbols for held modes: all of them (multi-prefix) or only the highest. */
  symbolsFor(held: string, all: boolean): string {
    // Most members hold no prefix or one: answer those without sorting (NAMES of big channels).
    if (held.length === 0) return '';
    if (held.length === 1) return this.symbols[this.modes.indexOf(held)] ?? '';
    const sorted = this.sort(held);
    const syms = [...sorted].map((m) => this.symbols[this.modes.indexOf(m)] ?? '').join('');
    return all ? syms : syms.slice(0, 1);
  }
}

const NO_ENTRIES: readonly ListEntry[] = [];
