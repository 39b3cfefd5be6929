// Connection registration (Modern IRC "Connection Registration"): PASS, NICK, USER, the welcome
// burst, PING/PONG and QUIT. Also NICK changes after registration.
// Spec: https://modern.ircdocs.horse/#connection-registration
import { verifyPassword } from '../auth/password.js';
import type { Config } from '../config/schema.js';
import { serializeMessage } from '../protocol/message.js';
import { checkNick } from '../protocol/nickname.js';
import { ERR, RPL } from '../protocol/numerics.js';
import type { Channel } from '../server/channel.js';
import type { User } from '../server/user.js';
import type { Module } from '../server/module.js';
import { hunt } from '../server/hunt.js';
import { relay } from '../server/outgoing.js';
import { replyTo } from '../server/reply.js';
import type { Server } from '../server/server.js';
import { userSlot } from '../server/slots.js';
import { applyIdent, identPending } from './ident.js';
import { sendLusers, sendMotd } from './info.js';
import { attachOrRelease, mayAttachLater, pendingAttach, setPendingAttach } from './multiclient.js';
import { nickHeld } from './link/nickdelay.js';

/** The password a client gave with PASS, until registration checks it. */
const passwords = userSlot<string>();

/** Whether `nick` may be taken under the configured casemapping (protocol/nickname.ts has the rules). */
export function validNick(cfg: Config, nick: string): boolean {
  return checkNick(nick, cfg.server.casemapping, cfg.limits.nicklen).ok;
}

/** Completes registration once NICK and USER are in and CAP negotiation is over. */
export function tryRegister(server: Server, client: User): void | Promise<void> {
  if (client.registered || (!client.nickKey && !pendingAttach(client)) || !client.user || client.session.capNegotiating) return;
  // The hostname decides the allow block and bans, and the ident answer the username bans see,
  // so the lookups started at connect must end first (each within its timeout).
  const lookup = client.hostLookup ?? identPending(client);
  if (lookup) return lookup.then(() => tryRegister(server, client));
  const allow = server.admission.allowFor(client.ip, client.realHost);
  if (allow?.password) {
    const given = passwords.delete(client);
    if (given === undefined) return finishRegistration(server, client, false);
    return verifyPassword(given, allow.password).then((ok) => finishRegistration(server, client, ok));
  }
  return finishRegistration(server, client, true);
}

function finishRegistration(server: Server, client: User, passwordOk: boolean): void {
  if (client.session.conn.closed || client.registered) return;
  if (!passwordOk) {
    client.numeric(ERR.PASSWDMISMATCH, 'Password incorrect');
    server.disconnect(client, { kind: 'password', text: 'Bad password' });
    return;
  }
  if (client.session.klass.require_sasl && client.account === undefined) {
    client.standardReply('FAIL', '*', 'ACCOUNT_REQUIRED', 'You must log in with SASL to use this server');
    server.disconnect(client, { kind: 'other', text: 'Account required' });
    return;
  }
  applyIdent(server, client);
  const refusal = server.admission.registrationRefusal(client);
  if (refusal) {
    client.numeric(ERR.YOUREBANNEDCREEP, `You are banned from this server: ${refusal}`);
    server.disconnect(client, { kind: 'ban', text: `Banned: ${refusal}` });
    return;
  }
  // A logged-in client whose account has an always-on user becomes a session of it, whatever nick it asked for.
  if (client.account !== undefined && server.modules.some((m) => m.attachesAtRegistration?.(server, client, (user) => sendWelcome(server, user)))) {
    setPendingAttach(client, undefined);
    return;
  }
  if (pendingAttach(client)) {
    const attached = attachOrRelease(server, client, (user) => sendWelcome(server, user));
    if (attached !== false) return;
  }
  server.emit('registering', client);
  server.state.introduceUser(client);
  sendWelcome(server, client);
  server.log.info({ conn: client.id, nick: client.nick, user: client.user, host: client.realHost }, 'client registered');
  server.emit('registered', client);
}

/** 001 to 004, ISUPPORT, LUSERS and the MOTD. */
function sendWelcome(server: Server, client: User): void {
  const cfg = server.config;
  const modes = server.isupport.modeLetters();
  client.numeric(RPL.WELCOME, `Welcome to the ${cfg.server.network} Internet Relay Chat Network ${client.nick}`);
  client.numeric(RPL.YOURHOST, `Your host is ${server.name}, running version ircd-${server.version}`);
  client.numeric(RPL.CREATED, `This server was created ${new Date(server.startedAt).toUTCString()}`);
  client.numeric(RPL.MYINFO, ...[server.name, `ircd-${server.version}`, modes.user, modes.channel, modes.channelWithParam].filter(Boolean));
  server.isupport.send(client);
  sendLusers(server, client);
  server.emit('welcomeBurst', client);
  sendMotd(server, client);
}

function handleNick(server: Server, client: User, requested: string | undefined): void | Promise<void> {
  if (!requested) {
    client.numeric(ERR.NONICKNAMEGIVEN, 'No nickname given');
    return;
  }
  const check = checkNick(requested, server.config.server.casemapping, server.config.limits.nicklen);
  if (!check.ok) {
    // The reason is told under utf8, whose rules a client cannot guess; the classic text otherwise.
    const text = server.config.server.casemapping === 'utf8' ? `Erroneous nickname: ${check.reason}` : 'Erroneous nickname';
    client.numeric(ERR.ERRONEUSNICKNAME, requested, text);
    return;
  }
  const nick = check.nick;
  if (!client.registered) {
    client.requestedNick = nick;
    setPendingAttach(client, undefined);
  }
  if (nickHeld(server, nick) && server.state.fold(nick) !== client.nickKey) {
    client.numeric(ERR.UNAVAILRESOURCE, nick, 'Nick/channel is temporarily unavailable');
    return;
  }
  const holder = server.state.findNick(nick);
  if (holder && holder !== client) {
    if (!client.registered && mayAttachLater(server, client, holder)) {
      // Settled when registration completes, once the client has (or has not) logged in.
      setPendingAttach(client, holder);
      return tryRegister(server, client);
    }
    client.numeric(ERR.NICKNAMEINUSE, nick, 'Nickname is already in use');
    return;
  }
  // Under utf8 a nick that looks like one in use (Cyrillic "а" for Latin "a") is taken too.
  const lookalike = server.state.findLookalike(nick);
  if (lookalike && lookalike !== client) {
    client.numeric(ERR.NICKNAMEINUSE, nick, `Nickname is too like ${lookalike.nick}, which is in use`);
    return;
  }
  if (nick === client.nick) return;
  if (!client.registered) {
    server.state.setNick(client, nick);
    return tryRegister(server, client);
  }
  server.state.setNick(client, nick);
}

/**
 * State's `nickChanged` of a registered user: it and its peers see NICK. This module subscribes
 * first, so the line reaches everyone ahead of what later subscribers send (MONITOR's 731/730).
 */
function announceNick(server: Server, client: User, oldNick: string): void {
  if (!client.registered) return;
  const out = relay(client, { source: `${oldNick}!${client.user || '*'}@${client.host}`, command: 'NICK', params: [client.nick] });
  client.sendOutgoing(out);
  for (const peer of server.state.peersOf(client)) peer.sendOutgoing(out);
}

/**
 * State's `userQuit`: everyone who shared a channel with the user sees the QUIT once (in an
 * auditorium, +u, only those who could see it: the user held a prefix, or they do).
 */
function announceQuit(client: User, reason: string, channels: ReadonlyMap<Channel, string>): void {
  const out = relay(client, { source: client.mask, command: 'QUIT', params: [reason] });
  // Walking one channel reaches each member once: only a quit from several channels needs the
  // set (hashing every member of every quit, in a mass disconnect).
  const reached = channels.size > 1 ? new Set<User>() : undefined;
  for (const [channel, held] of channels) {
    for (const [member, prefixes] of channel.members) {
      if (channel.hidesHolding(prefixes, held)) continue;
      if (reached !== undefined) {
        if (reached.has(member)) continue;
        reached.add(member);
      }
      member.sendOutgoing(out);
    }
  }
}

export const registration: Module = {
  name: 'registration',
  commands: {
    PASS: {
      internal: true,
      minParams: 1,
      preRegistration: true,
      onlyPreRegistration: true,
      handler: (_s, client, msg) => {
        passwords.set(client, msg.params[0]!);
      },
      help: ['PASS <password>', 'Sends the server password before registering.'],
    },
    NICK: {
      preRegistration: true,
      handler: (server, client, msg) => handleNick(server, client, msg.params[0]),
      help: ['NICK <nickname>', 'Sets or changes your nickname.'],
    },
    USER: {
      internal: true,
      minParams: 4,
      emptyIsMissing: true,
      preRegistration: true,
      onlyPreRegistration: true,
      handler: (server, client, msg) => {
        const limits = server.config.limits;
        const realname = msg.params[3]!;
        // Characters a user@host mask cannot carry are dropped; nothing usable left is refused.
        const user = msg.params[0].replace(/[^A-Za-z0-9._~-]/g, '').slice(0, limits.userlen);
        if (!user) {
          client.numeric(ERR.INVALIDUSERNAME, 'Your username is not valid (use letters, digits, ".", "_", "~" or "-")');
          return;
        }
        client.user = user;
        client.realname = realname.slice(0, limits.realnamelen);
        return tryRegister(server, client);
      },
      help: ['USER <username> 0 * <realname>', 'Sets your username and real name when connecting.'],
    },
    PING: {
      internal: true,
      minParams: 1,
      preRegistration: true,
      handler: (server, client, msg) => {
        if (msg.params[0] === '') {
          client.numeric(ERR.NOORIGIN, 'No origin specified');
          return;
        }
        // "PING <token> <server>" naming another server of the network asks it; it answers PONG (server/hunt.ts).
        if (client.registered && hunt(server, client, msg, 1) === 'forwarded') return;
        const pong = { source: server.name, command: 'PONG', params: [server.name, msg.params[0]!] };
        // Clients sync on PING (bots, test suites): the PONG follows everything this tick produced
        // for the client, messages other clients sent just before included, whatever order the
        // event loop read the sockets in. A labeled PONG is a reply like any other.
        if (replyTo(client).labeled) client.send(pong);
        else client.session.conn.writeAfterTick(serializeMessage(pong) + '\r\n');
      },
      help: ['PING <token>', 'Asks the server to answer with PONG <token>.'],
    },
    PONG: {
      internal: true,
      preRegistration: true,
      handler: () => {},
      help: ['PONG <token>', 'Answers a PING from the server.'],
    },
    QUIT: {
      preRegistration: true,
      handler: (server, client, msg) => {
        const reason = msg.params[0];
        server.disconnect(client, { kind: 'quit', text: reason ? `Quit: ${reason.slice(0, server.config.limits.kicklen)}` : 'Client Quit' });
      },
      help: ['QUIT [<reason>]', 'Disconnects from the server.'],
    },
  },
  init(server) {
    server.state.events.on('nickChanged', ({ client, oldNick }) => announceNick(server, client, oldNick));
    server.state.events.on('userQuit', ({ client, reason, channels }) => announceQuit(client, reason, channels));
  },
  // Under utf8, CASEMAPPING=ascii tells clients that do not know UTF8MAPPING the part they can
  // apply (ASCII letters fold as ascii), as Ergo does; UTF8MAPPING names the rest (RFC 8265).
  isupport: (cfg) => ({
    CASEMAPPING: cfg.server.casemapping === 'utf8' ? 'ascii' : cfg.server.casemapping,
    ...(cfg.server.casemapping === 'utf8' ? { UTF8MAPPING: 'rfc8265' } : {}),
    NETWORK: cfg.server.network,
    NICKLEN: cfg.limits.nicklen,
    USERLEN: cfg.limits.userlen,
    HOSTLEN: 64,
    LINELEN: cfg.limits.line_length,
  }),
};
