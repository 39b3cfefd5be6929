// Channel state: members with their prefix modes, channel modes, lists and topic.
// The channels module owns the commands; this file owns the data and fan-out.
import type { CaseFold } from '../protocol/casemap.js';
import { globMatch } from '../protocol/mask.js';
import type { Client } from './client.js';
import type { Outgoing } from './outgoing.js';

export interface ListEntry {
  mask: string;
  setBy: string;
  setAt: number;
}

export interface Topic {
  text: string;
  setBy: string;
  setAt: number;
}

export class Channel {
  /** Member → prefix mode letters held, highest rank first (e.g. "ov"). */
  readonly members = new Map<Client, string>();
  /** Flag modes (i, m, n, s, p, t, ...). */
  readonly flags = new Set<string>();
  key: string | undefined;
  limit: number | undefined;
  topic: Topic | undefined;
  /** List modes (b, e, I) by letter. */
  readonly lists = new Map<string, ListEntry[]>();
  /** Casefolded nick → expiry time (ms) of an INVITE. */
  readonly invites = new Map<string, number>();
  /** Casefolded nick → time (ms) of its last KNOCK here, for the rate limit. */
  readonly knocks = new Map<string, number>();
  readonly createdAt = Math.floor(Date.now() / 1000);

  constructor(
    public name: string,
    /** Casefolded name, the key in the channel index. */
    readonly folded: string,
  ) {}

  list(letter: string): ListEntry[] {
    let l = this.lists.get(letter);
    if (!l) this.lists.set(letter, (l = []));
    return l;
  }

  /** True when the client matches a list entry (b, e, I) by its shown or real mask. */
  matchesList(letter: string, client: Client, fold: CaseFold): boolean {
    const entries = this.lists.get(letter);
    if (!entries || entries.length === 0) return false;
    const shown = fold(client.mask);
    const real = fold(client.realMask);
    for (const e of entries) {
      const pattern = fold(e.mask);
      if (pattern.startsWith('$a')) {
        if (matchesAccountExtban(pattern, client.account, fold)) return true;
      } else if (globMatch(pattern, shown) || globMatch(pattern, real)) return true;
    }
    return false;
  }

  /** Banned (+b) and not excepted (+e). */
  isBanned(client: Client, fold: CaseFold): boolean {
    return this.matchesList('b', client, fold) && !this.matchesList('e', client, fold);
  }

  /** Why the client may not speak here, or undefined when it may (+n, +m, bans). */
  cannotSend(client: Client, fold: CaseFold): string | undefined {
    const prefixes = this.members.get(client);
    if (prefixes === undefined && this.flags.has('n')) return 'Cannot send to channel (no external messages)';
    if (prefixes) return undefined; // voiced or above may always speak
    if (this.flags.has('m')) return 'Cannot send to channel (+m)';
    if (this.isBanned(client, fold)) return 'Cannot send to channel (you are banned)';
    return undefined;
  }

  /** Sends to every member (optionally except one), once each. */
  broadcast(out: Outgoing, except?: Client): void {
    for (const member of this.members.keys()) if (member !== except) member.sendOutgoing(out);
  }
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

  /** True when a member holding `held` mode letters ranks at or above `rank`. */
  atLeast(held: string, rank: number): boolean {
    for (const m of held) {
      const r = this.modes.indexOf(m);
      if (r !== -1 && r <= rank) return true;
    }
    return false;
  }

  /** Sorts held mode letters by rank (highest first). */
  sort(held: string): string {
    return [...held].sort((a, b) => this.modes.indexOf(a) - this.modes.indexOf(b)).join('');
  }

  /** The symbols for held modes: all of them (multi-prefix) or only the highest. */
  symbolsFor(held: string, all: boolean): string {
    const sorted = this.sort(held);
    const syms = [...sorted].map((m) => this.symbols[this.modes.indexOf(m)] ?? '').join('');
    return all ? syms : syms.slice(0, 1);
  }
}
