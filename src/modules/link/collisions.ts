// Nick collisions between servers: ts6.md's "Nickname collision rules" choose who loses, and the
// loser is saved (renamed to its UID, SAVE) where the peer has the SAVE capability, killed where
// it does not. SAVE from a peer renames its target here and goes on to the other links (as NICK
// to one without SAVE).
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md ("Nickname collision rules", "SAVE")
import type { Message } from '../../protocol/message.js';
import { RPL } from '../../protocol/numerics.js';
import type { ServerEntry } from '../../server/state.js';
import type { User } from '../../server/user.js';
import type { Link, Network } from './network.js';

/** The nick timestamp a saved user gets (ts6.md "SAVE"). */
export const SAVED_TS = 100;
const REASON = 'Nick collision';

/** What the arriving user of a collision ends up with: its nick (and TS), or nothing when it was killed. */
export type Arrival = { nick: string; ts: number } | undefined;

/**
 * A nick `nick` with timestamp `ts` arrives from `link` (a new user `uid` with `userHost`, or
 * `changing` renaming): against a user holding it here the TS rules choose. On equal timestamps
 * both lose; otherwise, of two different user@hosts the older nick stays, and of the same
 * user@host (someone reconnecting) the newer one. A loser is saved when the servers of both
 * users, and those between, have SAVE; killed otherwise. Returns the nick and TS the arriving
 * one takes (`home` is its server).
 */
export function resolveCollision(net: Network, link: Link, nick: string, ts: number, uid: string, home: ServerEntry, changing?: User, userHost?: string): Arrival {
  const state = net.server.state;
  const holder = state.findNick(nick);
  if (!holder || holder === changing) return { nick, ts };
  if (!holder.registered) {
    // A client still registering gives way; nobody else has heard of it.
    net.server.disconnect(holder, { kind: 'other', text: REASON });
    return { nick, ts };
  }
  const ours = net.ids(holder).ts;
  const theirs = (changing ? `${changing.user}@${changing.host}` : (userHost ?? '')).toLowerCase();
  const same = theirs === `${holder.user}@${holder.host}`.toLowerCase();
  const theirsOlder = same ? ts > ours : ts < ours;
  const theirsLoses = ts === ours || !theirsOlder;
  const oursLoses = ts === ours || theirsOlder;
  const save = pathSaves(net, home) && pathSaves(net, net.ids(holder).home);
  if (oursLoses) {
    if (save) saveUser(net, holder, undefined, true);
    else {
      // Applied as from the link: the others hear of the quit (or a KILL when the holder is theirs).
      holder.send({ source: net.server.name, command: 'KILL', params: [holder.nick, REASON] });
      net.server.disconnect(holder, { kind: 'kill', text: `Killed (${net.server.name} (${REASON}))` });
    }
  }
  if (!theirsLoses) return { nick, ts };
  if (save) {
    // A rename: it happens everywhere (SAVE to every link). A new user: only its side hears the
    // SAVE; the others are told of it under its UID.
    if (changing) {
      saveUser(net, changing, ts, true);
      return undefined;
    }
    net.send(link, { source: net.sid, command: 'SAVE', params: [uid, String(ts)] });
    return { nick: uid, ts: SAVED_TS };
  }
  killBack(net, link, uid, REASON, changing);
  return undefined;
}

/**
 * Kills `uid` back toward the link it came from ("<this server> (<why>)"), and here too when it
 * is already a user of this server's State (`user`): a refused nick, a lost collision without SAVE.
 */
export function killBack(net: Network, link: Link, uid: string, why: string, user?: User): void {
  const reason = `${net.server.name} (${why})`;
  net.send(link, { source: net.sid, command: 'KILL', params: [uid, reason] });
  if (user) net.server.disconnect(user, { kind: 'kill', text: `Killed (${reason})` });
}

/**
 * Whether every server from `home` to this one has SAVE (their CAPAB or GCAP), as a SAVE must
 * reach the user's server: Solanum's rule. True for this server's own users.
 */
function pathSaves(net: Network, home: ServerEntry | undefined): boolean {
  for (let s = home; s && s !== net.server.state.me; s = s.uplink) if (!(net.gcaps.get(s.sid ?? '') ?? '').split(' ').includes('SAVE')) return false;
  return true;
}

/**
 * Renames a user to its UID with the saved TS and tells the links: SAVE to those with the
 * capability, NICK to the others; the link being applied too when `everyLink` (a collision
 * decided here), not when the SAVE came from it. `ts` is the TS the link being applied knows it
 * by when that differs (its NICK collided).
 */
function saveUser(net: Network, user: User, ts: number | undefined, everyLink: boolean): void {
  const ids = net.ids(user);
  const uid = net.uid(user);
  const nick: Message = { source: uid, command: 'NICK', params: [uid, String(SAVED_TS)] };
  for (const l of net.links) {
    if (l.phase !== 'up' || (!everyLink && l === net.from)) continue;
    // The link whose NICK collided knows the user by that NICK's TS; the others by the one before.
    const known = l === net.from && ts !== undefined ? ts : ids.ts;
    net.send(l, l.caps.has('SAVE') ? { source: net.sid, command: 'SAVE', params: [uid, String(known)] } : nick);
  }
  ids.ts = SAVED_TS;
  if (!ids.home) user.numeric(RPL.SAVENICK, uid, 'Nick collision, forcing nick change to your unique ID');
  net.saving = true;
  try {
    net.server.state.setNick(user, uid);
  } finally {
    net.saving = false;
  }
}

/** ":<sid> SAVE <uid> <ts>": the user is renamed to its UID, if its nick TS is still the one given. */
export function handleSave(net: Network, msg: Message): void {
  const user = net.byUid.get(msg.params[0] ?? '');
  if (!user || user.nick === msg.params[0] || net.ids(user).ts !== Number(msg.params[1])) return;
  saveUser(net, user, undefined, false);
}
