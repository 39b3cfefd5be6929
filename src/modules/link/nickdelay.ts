// Nicks held by services (TS6 ENCAP NICKDELAY): after services release a nick (Atheme's RELEASE,
// a forced nick change) nobody of this server may take it for a while; NICK answers 437.
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md ("NICKDELAY")
import type { Server } from '../../server/server.js';
import { serverSlot } from '../../server/slots.js';

/** Folded nick → when its hold ends (ms). */
const held = serverSlot<Map<string, number>>('nickdelay');

/** Holds at once; past it the oldest goes first (a bound on what services can make us keep). */
export const MAX_HELD_NICKS = 10000;
/** The longest hold kept (seconds), whatever services ask. */
const MAX_HOLD_SECONDS = 86400;

/** Services hold `nick` for `seconds` (0 releases it). */
export function holdNick(server: Server, nick: string, seconds: number): void {
  const map = held.getOrCreate(server, () => new Map());
  const key = server.state.fold(nick);
  map.delete(key);
  if (!(seconds > 0)) return;
  if (map.size >= MAX_HELD_NICKS) map.delete(map.keys().next().value!);
  map.set(key, Date.now() + Math.min(seconds, MAX_HOLD_SECONDS) * 1000);
}

/** Whether services hold the nick now (a hold that ended is forgotten on the way). */
export function nickHeld(server: Server, nick: string): boolean {
  const map = held.get(server);
  if (!map?.size) return false;
  const key = server.state.fold(nick);
  const until = map.get(key);
  if (until === undefined) return false;
  if (until > Date.now()) return true;
  map.delete(key);
  return false;
}
