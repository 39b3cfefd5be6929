// User modes (Modern IRC "User Modes", IRCv3 bot-mode): MODE <nick> to query (221) or change one's
// own modes. Letters come from every module's `userModes`, so other features (server notices,
// cloaking) add theirs with their own setter check; this module defines i, w, o and B.
// Spec: https://modern.ircdocs.horse/#user-modes · https://ircv3.net/specs/extensions/bot-mode
import { ERR, RPL } from '../protocol/numerics.js';
import type { User } from '../server/user.js';
import type { Handler, Module, UserModeDef } from '../server/module.js';
import { relay } from '../server/outgoing.js';
import type { Server } from '../server/server.js';

/** The IRCv3 bot-mode letter (ISUPPORT BOT=B); relay() tags messages of clients holding it. */
export const BOT_MODE = 'B';

function userModeDef(server: Server, letter: string): UserModeDef | undefined {
  for (const m of server.modules) {
    const def = m.userModes?.[letter];
    if (def) return def;
  }
  return undefined;
}

/** Whether a letter is a user mode of this server (some module defines it). */
export function isUserMode(server: Server, letter: string): boolean {
  return userModeDef(server, letter) !== undefined;
}

/** "+iw" style string of a client's modes (221 RPL_UMODEIS, 379 RPL_WHOISMODES). */
export function userModeString(client: User): string {
  return '+' + [...client.modes].sort().join('');
}

/**
 * Applies mode changes without the user checks (for OPER, cloaking, ...) and tells the client with
 * one MODE message listing what really changed. Returns that change, e.g. "+o-i", or "" for none.
 */
export function changeUserModes(server: Server, client: User, changes: Array<{ letter: string; adding: boolean }>): string {
  let applied = '';
  let lastSign = '';
  for (const { letter, adding } of changes) {
    if (client.modes.has(letter) === adding) continue;
    server.state.setUserMode(client, letter, adding);
    const sign = adding ? '+' : '-';
    applied += (sign === lastSign ? '' : sign) + letter;
    lastSign = sign;
    userModeDef(server, letter)?.changed?.(server, client, adding);
  }
  if (applied) client.sendOutgoing(relay(client, { source: client.mask, command: 'MODE', params: [client.nick, applied] }));
  return applied;
}

const handleUserMode: Handler = (server, client, msg) => {
  const target = server.state.findNick(msg.params[0]!);
  if (!target?.registered) {
    client.numeric(ERR.NOSUCHNICK, msg.params[0]!, 'No such nick/channel');
    return;
  }
  const modestring = msg.params[1];
  if (target !== client) {
    client.numeric(ERR.USERSDONTMATCH, modestring === undefined ? "Can't view modes for other users" : "Can't change mode for other users");
    return;
  }
  if (modestring === undefined) {
    client.numeric(RPL.UMODEIS, userModeString(client));
    return;
  }
  const changes: Array<{ letter: string; adding: boolean }> = [];
  let adding = true;
  let unknown = false;
  for (const ch of modestring) {
    if (ch === '+' || ch === '-') {
      adding = ch === '+';
      continue;
    }
    const def = userModeDef(server, ch);
    if (!def) {
      unknown = true;
      continue;
    }
    if (def.userMayChange && !def.userMayChange(server, client, adding)) continue;
    changes.push({ letter: ch, adding });
  }
  // Modern IRC: the known modes are applied and the unknown ones reported, once.
  changeUserModes(server, client, changes);
  if (unknown) client.numeric(ERR.UMODEUNKNOWNFLAG, 'Unknown MODE flag');
};

export const usermodes: Module = {
  name: 'usermodes',
  modeHandlers: { user: handleUserMode },
  userModes: {
    /** Invisible: hidden from WHO masks and LUSERS counts unless a channel is shared. */
    i: {},
    /** Receives WALLOPS. */
    w: {},
    /** Operator: only OPER grants it; users may drop it, which ends their operator session. */
    o: {
      userMayChange: (_server, _client, adding) => !adding,
      changed: (_server, client, adding) => {
        if (!adding) client.oper = undefined;
      },
    },
    [BOT_MODE]: {},
  },
  isupport: () => ({ BOT: BOT_MODE }),
};
