// Server bans in memory, arranged so that the checks made on every connection (D-lines) and
// registration (K- and X-lines) do not cost more as bans are added. Each mask is parsed once, when
// its ban is added. Address ranges (D-lines, and K-lines whose host is a CIDR) sit in one Map per
// prefix length present, keyed by the masked address: a lookup is one Map get per length. K-lines
// with an exact host and X-lines with an exact realname are Map entries. Globs are filed under a
// piece of their literal text (see GlobTable); only those with almost none are tried one by one.
// A lookup answers the earliest-set live ban that matches, the one a scan of all bans in the order
// they were set would find.
import {
  cidrContains,
  globMatch,
  parseCidr,
  parseUserHostMask,
  userHostMatches,
  type Cidr,
  type UserHost,
  type UserHostMask,
} from '../protocol/mask.js';

export type BanKind = 'K' | 'D' | 'X';

export interface ServerBan {
  kind: BanKind;
  /** Lowercased mask: "user@host" glob, IP/CIDR, or realname glob. */
  mask: string;
  reason: string;
  /** Oper name that set it. */
  setBy: string;
  setAt: number;
  /** Milliseconds since the epoch; undefined for permanent bans. */
  expiresAt: number | undefined;
}

export function expired(ban: ServerBan, now = Date.now()): boolean {
  return ban.expiresAt !== undefined && ban.expiresAt <= now;
}

/** Who a ban is matched against: user, real host and IP as for user@host masks, and the realname, lowercased. */
export interface BanSubject extends UserHost {
  realname: string;
}

type ParsedMask = { kind: 'D'; cidr: Cidr | undefined } | { kind: 'K'; userHost: UserHostMask } | { kind: 'X'; realname: string };

function parseMask(ban: ServerBan): ParsedMask {
  switch (ban.kind) {
    case 'D':
      return { kind: 'D', cidr: parseCidr(ban.mask) };
    case 'K':
      return { kind: 'K', userHost: parseUserHostMask(ban.mask) };
    case 'X':
      return { kind: 'X', realname: ban.mask };
  }
}

function maskMatches(mask: ParsedMask, who: BanSubject): boolean {
  switch (mask.kind) {
    case 'D':
      return !!mask.cidr && !!who.bytes && cidrContains(mask.cidr, who.bytes);
    case 'K':
      return userHostMatches(mask.userHost, who);
    case 'X':
      return globMatch(mask.realname, who.realname);
  }
}

/** A test for one ban, its mask parsed once (for matching it against everyone online). */
export function banMatcher(ban: ServerBan): (who: BanSubject) => boolean {
  const mask = parseMask(ban);
  return (who) => maskMatches(mask, who);
}

const hasWildcard = (glob: string) => glob.includes('*') || glob.includes('?');

interface Entry {
  ban: ServerBan;
  mask: ParsedMask;
  /** Order of setting: the earliest-set match wins. */
  seq: number;
}

const NONE: readonly never[] = [];

/** Values grouped under string keys, several to a key. */
class Groups<T> {
  private readonly map = new Map<string, T[]>();

  get size(): number {
    return this.map.size;
  }

  get(key: string): readonly T[] {
    return this.map.get(key) ?? NONE;
  }

  add(key: string, value: T): void {
    const group = this.map.get(key);
    if (group) group.push(value);
    else this.map.set(key, [value]);
  }

  delete(key: string, value: T): void {
    const rest = this.get(key).filter((v) => v !== value);
    if (rest.length > 0) this.map.set(key, rest);
    else this.map.delete(key);
  }
}

/** The first `bits` bits of a 16-byte address as a string key (one character per byte). */
function prefixKey(bytes: Uint8Array, bits: number): string {
  const whole = bits >> 3;
  let key = '';
  for (let i = 0; i < whole; i++) key += String.fromCharCode(bytes[i]!);
  const rest = bits & 7;
  if (rest > 0) key += String.fromCharCode(bytes[whole]! & (0xff << (8 - rest)) & 0xff);
  return key;
}

/** Values stored under CIDR ranges, found by an address the ranges contain. */
class PrefixTable<T> {
  /** One table per prefix length present. */
  private readonly tables = new Map<number, Groups<T>>();

  add(cidr: Cidr, value: T): void {
    let table = this.tables.get(cidr.bits);
    if (!table) this.tables.set(cidr.bits, (table = new Groups()));
    table.add(prefixKey(cidr.bytes, cidr.bits), value);
  }

  delete(cidr: Cidr, value: T): void {
    const table = this.tables.get(cidr.bits);
    if (!table) return;
    table.delete(prefixKey(cidr.bytes, cidr.bits), value);
    if (table.size === 0) this.tables.delete(cidr.bits);
  }

  /** The values of every range holding the address. */
  containing(bytes: Uint8Array): T[] {
    const found: T[] = [];
    for (const [bits, table] of this.tables) found.push(...table.get(prefixKey(bytes, bits)));
    return found;
  }
}

const PIECE = 3;

/**
 * Globs found by the texts they are matched against. A glob matches only texts that hold each of
 * its literal runs (the text between * and ?), so it is filed under one piece of PIECE characters
 * from them, the piece with the fewest globs so far, and is tried only for texts holding that
 * piece. Globs without PIECE literal characters in a row are tried for every text.
 */
class GlobTable {
  private readonly byPiece = new Groups<Entry>();
  private readonly pieceOf = new Map<Entry, string>();
  /** Globs too short on literal text to file, in the order set. */
  readonly unfiled = new Set<Entry>();

  add(glob: string, entry: Entry): void {
    let best: string | undefined;
    for (const run of glob.split(/[*?]/)) {
      for (let i = 0; i + PIECE <= run.length; i++) {
        const piece = run.slice(i, i + PIECE);
        if (best === undefined || this.byPiece.get(piece).length < this.byPiece.get(best).length) best = piece;
      }
    }
    if (best === undefined) return void this.unfiled.add(entry);
    this.byPiece.add(best, entry);
    this.pieceOf.set(entry, best);
  }

  delete(entry: Entry): void {
    const piece = this.pieceOf.get(entry);
    if (piece === undefined) return void this.unfiled.delete(entry);
    this.byPiece.delete(piece, entry);
    this.pieceOf.delete(entry);
  }

  /** Adds to `found` the filed globs that may match one of the texts. */
  collect(texts: readonly string[], found: Entry[]): void {
    for (const text of texts) for (let i = 0; i + PIECE <= text.length; i++) found.push(...this.byPiece.get(text.slice(i, i + PIECE)));
  }
}

/**
 * The earliest-set live entry among `candidates` that passes `test`, or among `ordered` (entries
 * in the order set) if one of those was set earlier.
 */
function earliest(candidates: readonly Entry[], ordered: Iterable<Entry>, test: (e: Entry) => boolean, now: number): Entry | undefined {
  let best: Entry | undefined;
  for (const e of candidates) if ((!best || e.seq < best.seq) && !expired(e.ban, now) && test(e)) best = e;
  for (const e of ordered) {
    if (best && e.seq > best.seq) break;
    if (!expired(e.ban, now) && test(e)) return e;
  }
  return best;
}

const keyOf = (kind: BanKind, mask: string) => `${kind} ${mask}`;

export class BanIndex {
  private seq = 0;
  /** Every ban by kind and mask, in the order set. */
  private readonly entries = new Map<string, Entry>();
  /** Bans of each kind, expired ones included: most servers hold none of some kind, and then a
   * lookup need not build its subject (an address parse, a realname's pieces) at all. */
  private readonly counts: Record<BanKind, number> = { K: 0, D: 0, X: 0 };
  private readonly dlines = new PrefixTable<Entry>();
  private readonly klineRanges = new PrefixTable<Entry>();
  private readonly klineHosts = new Groups<Entry>();
  private readonly xlineRealnames = new Map<string, Entry>();
  private readonly klineHostGlobs = new GlobTable();
  private readonly xlineGlobs = new GlobTable();

  get size(): number {
    return this.entries.size;
  }

  has(kind: BanKind, mask: string): boolean {
    return this.entries.has(keyOf(kind, mask));
  }

  /** Whether any ban of this kind is held (a lookup can be skipped when not). */
  holds(kind: BanKind): boolean {
    return this.counts[kind] > 0;
  }

  /** Every ban, expired or not, in the order set. */
  *bans(): IterableIterator<ServerBan> {
    for (const e of this.entries.values()) yield e.ban;
  }

  /** Adds a ban, replacing one of the same kind and mask (the replacement counts as set now). */
  add(ban: ServerBan): void {
    this.delete(ban.kind, ban.mask);
    const entry: Entry = { ban, mask: parseMask(ban), seq: this.seq++ };
    this.entries.set(keyOf(ban.kind, ban.mask), entry);
    this.counts[ban.kind]++;
    this.place(entry, true);
  }

  delete(kind: BanKind, mask: string): ServerBan | undefined {
    const entry = this.entries.get(keyOf(kind, mask));
    if (!entry) return undefined;
    this.entries.delete(keyOf(kind, mask));
    this.counts[kind]--;
    this.place(entry, false);
    return entry.ban;
  }

  /** The earliest-set live D-line whose range holds the address. */
  dlineCovering(bytes: Uint8Array, now = Date.now()): ServerBan | undefined {
    return earliest(this.dlines.containing(bytes), NONE, () => true, now)?.ban;
  }

  /** The earliest-set live K-line or X-line (by `kind`) matching `who`. */
  matching(kind: 'K' | 'X', who: BanSubject, now = Date.now()): ServerBan | undefined {
    if (!this.holds(kind)) return undefined;
    const test = (e: Entry) => maskMatches(e.mask, who);
    if (kind === 'X') {
      const exact = this.xlineRealnames.get(who.realname);
      const candidates = exact ? [exact] : [];
      this.xlineGlobs.collect([who.realname], candidates);
      return earliest(candidates, this.xlineGlobs.unfiled, test, now)?.ban;
    }
    // Host masks match the real host or the IP as text. An IP in a mask is a range (the prefix
    // table), but a subject's address may be no IP.
    const texts = who.ip === who.host ? [who.host] : [who.host, who.ip];
    const candidates = who.bytes ? this.klineRanges.containing(who.bytes) : [];
    for (const text of texts) candidates.push(...this.klineHosts.get(text));
    this.klineHostGlobs.collect(texts, candidates);
    return earliest(candidates, this.klineHostGlobs.unfiled, test, now)?.ban;
  }

  /** Puts an entry where lookups will find it (`adding`) or takes it out. */
  private place(entry: Entry, adding: boolean): void {
    const { mask } = entry;
    const inRanges = (table: PrefixTable<Entry>, cidr: Cidr) => (adding ? table.add(cidr, entry) : table.delete(cidr, entry));
    const inGlobs = (globs: GlobTable, glob: string) => (adding ? globs.add(glob, entry) : globs.delete(entry));
    switch (mask.kind) {
      case 'D':
        // A mask that is not a range (only a damaged database row could hold one) matches nothing.
        if (mask.cidr) inRanges(this.dlines, mask.cidr);
        return;
      case 'K':
        if (mask.userHost.cidr) inRanges(this.klineRanges, mask.userHost.cidr);
        else if (hasWildcard(mask.userHost.host)) inGlobs(this.klineHostGlobs, mask.userHost.host);
        else if (adding) this.klineHosts.add(mask.userHost.host, entry);
        else this.klineHosts.delete(mask.userHost.host, entry);
        return;
      case 'X':
        if (hasWildcard(mask.realname)) inGlobs(this.xlineGlobs, mask.realname);
        else if (adding) this.xlineRealnames.set(mask.realname, entry);
        else this.xlineRealnames.delete(mask.realname);
    }
  }
}
