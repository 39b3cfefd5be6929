// TS6 identities: each user's UID and nick TS, each channel's TS, and the UID a local user gets.
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md ("UIDs", "Timestamp rules")
import type { ServerEntry } from '../../server/state.js';
import { channelSlot, userSlot } from '../../server/slots.js';

/** A user's TS6 identity; `home` is kept for remote users, since State forgets it before their quit is announced. */
export interface UserIds {
  uid: string;
  /** The nick's timestamp (seconds): when it was taken. */
  ts: number;
  home: ServerEntry | undefined;
}

export const userIds = userSlot<UserIds>();
/** A channel's TS (seconds); a channel without one was made before it was ever linked: its createdAt. */
export const channelTs = channelSlot<{ ts: number }>();

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/**
 * The `n`th UID of server `sid`: the SID, then a letter and five letters or digits (ts6.md). The
 * 26 × 36^5 ids last until a restart on any real server; after that they wrap.
 */
export function makeUid(sid: string, n: number): string {
  let rest = '';
  let x = n;
  for (let i = 0; i < 5; i++) {
    rest = ALNUM[x % 36]! + rest;
    x = Math.floor(x / 36);
  }
  return sid + ALNUM[x % 26]! + rest;
}

/** A TS6 SID: a digit and two uppercase letters or digits. */
export const SID_RE = /^[0-9][0-9A-Z]{2}$/;
/** A TS6 UID: a SID and six uppercase letters or digits, the first a letter. */
export const UID_RE = /^[0-9][0-9A-Z]{2}[A-Z][0-9A-Z]{5}$/;

/** Users known by UID (ours and the linked servers'): past it the link that adds one is dropped (a bound on the UID index). */
export const MAX_REMOTE_USERS = 200000;
/** Servers the linked servers may introduce in all. */
export const MAX_REMOTE_SERVERS = 256;
