// User mode +R (only users logged in to an account may send you direct messages) and its
// exceptions, the ACCEPT list, as Ergo and Solanum's caller-id ACCEPT command have them
// (https://github.com/ergochat/ergo/blob/master/docs/MANUAL.md, "Registered-only"; Solanum
// doc/features/modeg.txt for ACCEPT's syntax and numerics 281/282/456-458). Others get
// ERR_NEEDREGGEDNICK (477), the numeric InspIRCd and Ergo use; a NOTICE is dropped silently.
import { ERR, RPL } from '../protocol/numerics.js';
import type { User } from '../server/user.js';
import type { Handler, Module } from '../server/module.js';
import type { Server } from '../server/server.js';
import { userSlot } from '../server/slots.js';

export const REGONLY_MODE = 'R';
/** Users one accept list holds (Solanum's default max_accept is 20; Ergo's is unbounded). */
export const ACCEPT_MAX = 100;

/** Who each user accepts, and the reverse (whose lists a user is on), so a quit leaves none behind. */
const accepts = userSlot<Set<User>>();
const acceptedBy = userSlot<Set<User>>();

function add(owner: User, other: User): boolean {
  const list = accepts.getOrCreate(owner, () => new Set());
  if (list.has(other) || list.size >= ACCEPT_MAX) return false;
  list.add(other);
  acceptedBy.getOrCreate(other, () => new Set()).add(owner);
  return true;
}

function remove(owner: User, other: User): boolean {
  if (!accepts.get(owner)?.delete(other)) return false;
  acceptedBy.get(other)?.delete(owner);
  return true;
}

/** Drops a leaving user from every list, and its own list. */
function forget(client: User): void {
  for (const owner of acceptedBy.get(client) ?? []) accepts.get(owner)?.delete(client);
  for (const other of accepts.get(client) ?? []) acceptedBy.get(other)?.delete(client);
  accepts.delete(client);
  acceptedBy.delete(client);
}

/**
 * Whether `recipient` (+R) refuses a direct message from `sender`: not logged in, not an IRC
 * operator, and not on the recipient's accept list.
 */
export function refusesDirectMessage(sender: User, recipient: User): boolean {
  if (!recipient.modes.has(REGONLY_MODE) || sender === recipient) return false;
  return sender.account === undefined && !sender.oper && !accepts.get(recipient)?.has(sender);
}

/** A +R user who writes to someone accepts their answer (as Ergo does), while the list has room. */
export function acceptReplies(sender: User, recipient: User): void {
  if (sender.modes.has(REGONLY_MODE) && recipient !== sender) add(sender, recipient);
}

const handleAccept: Handler = (server: Server, client: User, msg) => {
  for (const item of msg.params[0]!.split(',')) {
    if (!item) continue;
    if (item === '*') {
      for (const other of accepts.get(client) ?? []) client.numeric(RPL.ACCEPTLIST, other.nick);
      client.numeric(RPL.ENDOFACCEPT, 'End of /ACCEPT list');
      continue;
    }
    const removing = item.startsWith('-');
    const nick = removing ? item.slice(1) : item;
    const other = server.state.findNick(nick);
    if (!other?.registered) {
      client.numeric(ERR.NOSUCHNICK, nick, 'No such nick/channel');
      continue;
    }
    if (removing) {
      if (!remove(client, other)) client.numeric(ERR.ACCEPTNOT, other.nick, 'is not on your accept list');
    } else if (accepts.get(client)?.has(other)) client.numeric(ERR.ACCEPTEXIST, other.nick, 'is already on your accept list');
    else if (!add(client, other)) client.numeric(ERR.ACCEPTFULL, 'Accept list is full');
  }
};

export const accept: Module = {
  name: 'accept',
  commands: {
    ACCEPT: {
      minParams: 1,
      handler: handleAccept,
      help: [
        'ACCEPT <nick>[,-<nick>...] | ACCEPT *',
        'Lets users message you while you have user mode +R (only logged-in users may message you);',
        `-<nick> takes one off the list, * shows it. A list holds ${ACCEPT_MAX} users; writing to someone adds them.`,
      ],
    },
  },
  userModes: {
    /** Registered-only: direct messages only from users logged in to an account (and the ACCEPT list). */
    [REGONLY_MODE]: {},
  },
  init(server) {
    server.state.events.on('userQuit', ({ client }) => forget(client));
  },
};
