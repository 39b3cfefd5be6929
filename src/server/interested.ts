// Who hears of a change to a user (AWAY, SETNAME, CHGHOST, ACCOUNT): those who can see the user,
// in its channels or through MONITOR. Several modules announce such changes, so it lives here.
import { CAP } from './caps.js';
import type { User } from './user.js';
import type { Outgoing } from './outgoing.js';
import type { Server } from './server.js';

/**
 * Sends a change of `subject` (AWAY, SETNAME, CHGHOST, ACCOUNT) to everyone who asked for it, once
 * each: channel peers holding `cap`, and watchers holding both extended-monitor and `cap`.
 * The subject itself is included only with `self` (and only when it holds the cap).
 */
export function notifyInterested(server: Server, subject: User, out: Outgoing, cap: number, opts: { self?: boolean } = {}): void {
  const reached = new Set<User>();
  if (opts.self && subject.hasCap(cap)) {
    subject.sendOutgoing(out);
    reached.add(subject);
  }
  for (const peer of server.state.peersOf(subject)) {
    if (!peer.hasCap(cap)) continue;
    peer.sendOutgoing(out);
    reached.add(peer);
  }
  for (const watcher of server.state.watchersOf(subject.nick)) {
    if (reached.has(watcher) || watcher === subject) continue;
    if (watcher.hasCap(CAP['extended-monitor']) && watcher.hasCap(cap)) watcher.sendOutgoing(out);
  }
}
