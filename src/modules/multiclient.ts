// Multiclient: several connections of one logged-in user under one nick (as Ergo offers). A client
// that logs in to the account of a user already online and asks for that user's nick becomes a
// further session of it: one user in channels, WHOIS and NAMES; every session sees what reaches
// the user. The session mechanics (acting session, delivery, detach) live in Session, User and Server.
// Spec: none (a server feature, as in Ergo); the nick it shares: https://modern.ircdocs.horse/#nick-message
import { ERR, RPL } from '../protocol/numerics.js';
import { CAP } from '../server/caps.js';
import type { Session } from '../server/session.js';
import { runAsSession, type User } from '../server/user.js';
import type { Server } from '../server/server.js';
import { userSlot } from '../server/slots.js';
import { sendNames, sendTopic } from './channels/common.js';

/** The logged-in user whose nick a registering client asked for, to attach to at registration. */
const pendingAttaches = userSlot<User>();

/**
 * Whether NICK may name `holder`'s nick, to be settled at registration: the client is logged in
 * to the holder's account, or may still log in (it is negotiating capabilities, e.g. SASL).
 */
export function mayAttachLater(server: Server, client: User, holder: User): boolean {
  if (!server.config.accounts.multiclient || !holder.registered || holder.account === undefined) return false;
  // A user of a linked server has its sessions there.
  if (server.state.serverOf(holder) !== server.state.me) return false;
  if (client.account === undefined) return client.session.capNegotiating;
  return server.state.fold(client.account) === server.state.fold(holder.account);
}

export function setPendingAttach(client: User, holder: User | undefined): void {
  if (holder) pendingAttaches.set(client, holder);
  else pendingAttaches.delete(client);
}

export function pendingAttach(client: User): User | undefined {
  return pendingAttaches.get(client);
}

/**
 * Settles a pending attach as registration completes. True when the client became a session (it
 * got its welcome and channel state); otherwise the caller registers it as a user of its own,
 * or it has been told the nick is in use and must pick another.
 */
export function attachOrRelease(server: Server, client: User, welcome: (user: User) => void): boolean | 'nick-in-use' {
  const holder = pendingAttach(client)!;
  setPendingAttach(client, undefined);
  const nick = client.requestedNick!;
  // A holder whose last connection closed has quit already (connectionClosed runs as it closes).
  const still = server.state.findNick(nick) === holder;
  if (still && client.account !== undefined && mayAttachLater(server, client, holder)) {
    if (holder.sessions.length < server.config.accounts.max_sessions) {
      attach(server, client, holder, welcome);
      return true;
    }
    client.numeric(ERR.NICKNAMEINUSE, nick, `Nickname is already in use (that user has ${server.config.accounts.max_sessions} sessions)`);
    return 'nick-in-use';
  }
  if (server.state.findNick(nick)) {
    client.numeric(ERR.NICKNAMEINUSE, nick, 'Nickname is already in use');
    return 'nick-in-use';
  }
  server.state.setNick(client, nick);
  return false;
}

/**
 * Makes `client`'s one connection a further session of `user` (logged in to the same account) and
 * gives that session the user's state as if it had just joined everything itself. A registering
 * client gets `welcome` first; a registered one (it logged in after registering, and attaches to
 * its always-on user) sees itself leave its own channels and take the user's nick, while those
 * who saw it see it quit. Returns the session, running as it afterwards.
 */
export function attach(server: Server, client: User, user: User, welcome: ((user: User) => void) | undefined): Session {
  if (client.registered) {
    const reason = `Attached to ${user.nick}`;
    for (const channel of server.state.channelsOf(client)) client.send({ source: client.mask, command: 'PART', params: [channel.name, reason] });
    if (client.nick !== user.nick) client.send({ source: client.mask, command: 'NICK', params: [user.nick] });
  }
  const session = server.attachSession(user, client, `Attached to ${user.nick}`);
  runAsSession(session, () => {
    welcome?.(user);
    if (user.away !== undefined) user.numeric(RPL.NOWAWAY, 'You have been marked as being away');
    server.emit('sessionAttached', user);
    for (const channel of server.state.channelsOf(user)) {
      const params = user.hasCap(CAP['extended-join']) ? [channel.name, user.account ?? '*', user.realname] : [channel.name];
      user.send({ source: user.mask, command: 'JOIN', params });
      server.emit('joinBurst', user, channel);
      sendTopic(user, channel, false);
      sendNames(server, user, channel);
    }
  });
  return session;
}
