import type { User } from './user.js';
import type { Server } from './server.js';

// IRCv3 capabilities. A capability is its index in CAP_NAMES; a client's capabilities are a
// CapSet: one bit per index, in 32-bit words.
//
// Why words: a single number held one bit per capability only up to 32 of them (JavaScript's
// bitwise operators work on 32 bits, so the 33rd would silently alias the 1st), and a BigInt or a
// Set<string> would cost an allocation or a hash on paths that run per recipient. With words,
// asking for a capability stays one array load and a mask, and the fan-out cache (outgoing.ts)
// still keys on one small number: the first word's bits of the capabilities that decide which tags
// a line shows (tagView), which are kept among the first 32 (checked below). A CapSet is never
// changed in place: a change makes a new one, so clients without capabilities share NO_CAPS.
// bench/instructions.js counts as many instructions per direct message, fan-out line and
// registration as with one number, within its run-to-run noise (a few percent).
export const CAP_NAMES = [
  'message-tags',
  'server-time',
  'batch',
  'labeled-response',
  'echo-message',
  'multi-prefix',
  'userhost-in-names',
  'extended-join',
  'away-notify',
  'account-notify',
  'account-tag',
  'chghost',
  'setname',
  'invite-notify',
  'cap-notify',
  'sasl',
  'sts',
  'extended-monitor',
  'standard-replies',
  'draft/account-registration',
  'draft/channel-rename',
  'draft/multiline',
  'draft/metadata-3',
  'draft/chathistory',
  'draft/event-playback',
  'draft/read-marker',
  'draft/message-redaction',
  'draft/relaymsg',
  'draft/webpush',
  'znc.in/playback',
] as const;

export type CapName = (typeof CAP_NAMES)[number];

/** A capability: its index in CAP_NAMES. */
export type Cap = number;

export const CAP: Record<CapName, Cap> = Object.fromEntries(CAP_NAMES.map((n, i) => [n, i])) as Record<CapName, Cap>;

/** A set of capabilities: bit `cap & 31` of word `cap >>> 5`. Never changed in place. */
export type CapSet = readonly number[];

/** The empty set, as long as the known capabilities need (so their lookups stay in bounds). */
export const NO_CAPS: CapSet = Array.from({ length: Math.ceil(CAP_NAMES.length / 32) }, () => 0);

export function capsHas(set: CapSet, cap: Cap): boolean {
  return ((set[cap >>> 5] ?? 0) & (1 << (cap & 31))) !== 0;
}

/** The set with `add` added and then `remove` removed. */
export function capsWith(set: CapSet, add: readonly Cap[], remove: readonly Cap[]): CapSet {
  let words = set.length;
  for (const cap of add) words = Math.max(words, (cap >>> 5) + 1);
  const out = Array.from({ length: words }, (_, i) => set[i] ?? 0);
  for (const cap of add) out[cap >>> 5]! |= 1 << (cap & 31);
  for (const cap of remove) if (cap >>> 5 < words) out[cap >>> 5]! &= ~(1 << (cap & 31));
  return out;
}

/** Every capability of either set (a user with several sessions). */
export function capsUnion(a: CapSet, b: CapSet): CapSet {
  const [long, short] = a.length >= b.length ? [a, b] : [b, a];
  return long.map((word, i) => word | (short[i] ?? 0));
}

/** The capabilities a client needs to receive tags: time, account, batch, label, and the rest. */
const TAG_CAPS = [CAP['server-time'], CAP['account-tag'], CAP.batch, CAP['labeled-response'], CAP['message-tags'], CAP['draft/relaymsg']];
if (TAG_CAPS.some((cap) => cap >= 32)) throw new Error('capabilities that gate tags must be among the first 32 of CAP_NAMES');

/**
 * What decides which tags of a line a client sees: the first word of its set, where every
 * tag-gating capability is. The fan-out cache keys on it (masked by the line's tagCaps).
 */
export function tagView(set: CapSet): number {
  return set[0]!;
}

/** Which capability a client needs to receive a given tag, as its bit in tagView. */
export function tagCap(key: string): number {
  switch (key) {
    case 'time':
      return 1 << CAP['server-time'];
    case 'account':
      return 1 << CAP['account-tag'];
    case 'batch':
      return 1 << CAP.batch;
    case 'label':
      return 1 << CAP['labeled-response'];
    case 'draft/relaymsg':
      return 1 << CAP['draft/relaymsg'];
    default:
      return 1 << CAP['message-tags'];
  }
}

/**
 * A capability offered by a module. `value` is shown in CAP LS 302 (e.g. sasl=PLAIN,EXTERNAL);
 * it gets the asking client because some values differ per connection (sts on TLS or not).
 * `offered` hides the capability (from LS, REQ and cap-notify) where it does not apply.
 */
export interface CapOffer {
  name: CapName;
  value?: (server: Server, client: User) => string | undefined;
  offered?: (server: Server) => boolean;
}
