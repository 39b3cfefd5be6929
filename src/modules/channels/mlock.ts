// Services' mode locks (TS6 MLOCK): the mode letters of a channel that only services change. A
// member's MODE touching a locked letter is refused for that letter with 742, as Solanum does;
// the rest of the change applies. Services and linked servers are not held to it.
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md ("MLOCK")
import { ERR } from '../../protocol/numerics.js';
import type { Channel } from '../../server/channel.js';
import type { Server } from '../../server/server.js';
import { channelSlot } from '../../server/slots.js';
import type { User } from '../../server/user.js';
import { formatModeChanges, LIST_MODES, parseModeString } from './modeparse.js';

/** The letters services lock on a channel (goes with the channel when it is destroyed). */
export const modeLock = channelSlot<string>();

/** A lock of at most this many characters is kept (every mode letter fits many times over). */
const MAX_LOCK = 64;

/** Services set (or, with "", clear) a channel's lock. */
export function setModeLock(channel: Channel, letters: string): void {
  const lock = [...new Set(letters.slice(0, MAX_LOCK).replace(/[^A-Za-z]/g, ''))].join('');
  if (lock) modeLock.set(channel, lock);
  else modeLock.delete(channel);
}

/** A member's MODE arguments without the changes of locked letters, each refused once with 742. */
export function withoutLocked(server: Server, client: User, channel: Channel, args: readonly string[]): readonly string[] {
  const lock = modeLock.get(channel);
  if (!lock) return args;
  const { changes, unknown } = parseModeString(server.prefixes.modes, args, server.config.limits.modes_per_line);
  const refused = new Set<string>();
  const kept = changes.filter((c) => {
    // A list query (+b without a mask) changes nothing and is not held to the lock.
    if (!lock.includes(c.mode) || (c.param === undefined && LIST_MODES.includes(c.mode))) return true;
    refused.add(c.mode);
    return false;
  });
  if (refused.size === 0) return args;
  for (const letter of refused)
    client.numeric(ERR.MLOCKRESTRICTED, channel.name, letter, lock, 'MODE cannot be set due to channel having an active MLOCK restriction policy');
  const [modes = '', ...params] = formatModeChanges(kept);
  // Unknown letters stay, so they still get 472.
  return [modes + (unknown.length ? '+' + unknown.join('') : ''), ...params];
}
