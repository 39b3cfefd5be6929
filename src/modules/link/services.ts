// Services over TS6: what a services server (Atheme; a daemon of ours answering SASL for the
// network) sends, and the ENCAP messages every server passes on. Only servers named in
// [services] servers may set other servers' users' accounts (SU, SVSLOGIN), force a nick change
// (RSFNC), hold nicks (NICKDELAY) and lock channel modes (MLOCK); their +S users are network
// services (313 in WHOIS, not counted, not killable). A server may always report its own users'
// logins and hosts.
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md ("ENCAP", "SU",
// "LOGIN", "SVSLOGIN", "RSFNC", "NICKDELAY", "MLOCK", "CHGHOST") · Atheme's
// modules/protocol/ts6-generic.c for what services send
import { globMatch } from '../../protocol/mask.js';
import type { Message } from '../../protocol/message.js';
import { checkNick } from '../../protocol/nickname.js';
import type { Server } from '../../server/server.js';
import type { ServerEntry } from '../../server/state.js';
import type { User } from '../../server/user.js';
import { logIn, logOut } from '../accounts.js';
import { setModeLock } from '../channels/mlock.js';
import { userIds } from './ids.js';
import { applyInvited } from './invites.js';
import type { Link, Network } from './network.js';
import { holdNick } from './nickdelay.js';
import { applyOpsEncap, passOn } from './remote.js';
import { applyMessageEncap } from './tags.js';
import { saslClient, saslFromLink, setMechlist } from './sasl.js';

/** Whether a server of the network is one of [services] servers. */
export function isServicesServer(server: Server, entry: ServerEntry | undefined): boolean {
  if (!entry) return false;
  const name = entry.name.toLowerCase();
  return server.config.services.servers.some((s) => s.toLowerCase() === name);
}

/** The server a line comes from: its source SID, or the server of the user that sent it. */
export function originOf(net: Network, source: string | undefined): ServerEntry | undefined {
  if (!source) return undefined;
  const server = net.bySid.get(source);
  if (server) return server;
  const user = net.byUid.get(source);
  return user ? userIds.get(user)?.home : undefined;
}

/** Local services stay home (each of our servers runs its own), but the network's SASL agent. */
export function staysHome(net: Network, user: User): boolean {
  const state = net.server.state;
  const sasl = net.server.config.sasl;
  return state.isService(user) && state.serverOf(user) === state.me && !(sasl.serve_network && user.nick === sasl.agent);
}

/**
 * A user arriving with the nick of one of this server's own services (Atheme's NickServ meeting
 * ours): the link is dropped, saying what to change, as neither may lose its nick.
 */
export function clashesWithOwnService(net: Network, link: Link, nick: string): boolean {
  const state = net.server.state;
  const holder = state.findNick(nick);
  if (!holder || !state.isService(holder) || state.serverOf(holder) !== state.me) return false;
  const key = holder.nick === net.server.config.sasl.agent ? '[sasl] serve_network' : '[services] enabled';
  const reason = `${nick} is a service of ${net.server.name}: set ${key} = false there to link other services`;
  net.server.log.warn({ link: link.name, nick }, 'server link refused: a user arrives with the nick of our own service');
  net.drop(link, reason);
  return true;
}

/**
 * ENCAP messages go on, as they came, to the servers their mask names (toward one server for a
 * plain name, everywhere else for a mask). Returns whether they went anywhere.
 */
function forwardEncap(net: Network, link: Link, msg: Message, mask: string): boolean {
  if (!/[*?]/.test(mask)) {
    const target = net.server.state.findServer(mask);
    const via = target && net.linkToward(target);
    if (!via || via === link || via.phase !== 'up') return false;
    net.send(via, msg);
    return true;
  }
  let sent = false;
  for (const other of net.links) {
    if (other === link || other.phase !== 'up') continue;
    net.send(other, msg);
    sent = true;
  }
  return sent;
}

/** ":<source> ENCAP <mask> <subcommand> [args]": passed on, and applied here when the mask matches this server. */
export function applyEncap(net: Network, link: Link, msg: Message): void {
  const p = msg.params;
  if (p.length < 2) return;
  const server = net.server;
  const origin = originOf(net, msg.source);
  if (!origin) return;
  const mask = p[0]!;
  const forwarded = forwardEncap(net, link, msg, mask);
  if (!globMatch(mask.toLowerCase(), server.name.toLowerCase())) return;
  // What went on as it came is not announced again by State's events.
  net.quiet = forwarded;
  try {
    applyEncapHere(net, link, msg, origin);
  } finally {
    net.quiet = false;
  }
}

function applyEncapHere(net: Network, link: Link, msg: Message, origin: ServerEntry): void {
  const server = net.server;
  const state = server.state;
  const [, sub = '', ...args] = msg.params;
  const trusted = isServicesServer(server, origin);
  const target = net.byUid.get(args[0] ?? '');
  const ownUser = !!target && userIds.get(target)?.home === origin;
  switch (sub.toUpperCase()) {
    case 'SU':
      // "SU <uid> [<account>]": a login, or without an account a logout.
      if (target && (trusted || ownUser)) setLogin(server, target, args[1] || undefined);
      return;
    case 'LOGIN': {
      // ":<uid> ENCAP * LOGIN <account>": a server telling every server its own user's login (a
      // burst without EUID). Addressed to fewer, it would set the account on some servers only:
      // the others would not take it from us (only services may set another server's user's account).
      const user = net.byUid.get(msg.source ?? '');
      if (user && args[0] && msg.params[0] === '*') state.setAccount(user, args[0]);
      return;
    }
    case 'REALHOST': {
      // ":<uid> ENCAP * REALHOST <host>": the host under its spoof (a burst without EUID). Not a
      // change anyone sees (State has no event for it): the field is set.
      const user = net.byUid.get(msg.source ?? '');
      if (user && args[0]) user.realHost = args[0];
      return;
    }
    case 'GCAP':
      // ":<sid> ENCAP * GCAP :<caps>", once, when a server is introduced: kept to tell links that come later (and for SAVE).
      if (origin.sid && !net.gcaps.has(origin.sid)) net.gcaps.set(origin.sid, (args[0] ?? '').slice(0, 400));
      return;
    case 'CHGHOST':
      if (target && args[1] && (trusted || ownUser)) state.setHost(target, args[1]);
      return;
    case 'SVSLOGIN':
      if (trusted) return svslogin(net, args);
      return;
    case 'RSFNC':
      if (trusted) return rsfnc(net, link, args);
      return;
    case 'NICKDELAY':
      // "NICKDELAY <seconds> <nick>"
      if (trusted && args[1]) holdNick(server, args[1], Number(args[0]));
      return;
    case 'SASL':
      return saslFromLink(net, origin, args);
    case 'MECHLIST':
      // "MECHLIST :<mechanisms>": what the services' SASL agent offers, advertised in the sasl capability.
      if (trusted && args[0]) setMechlist(net, args[0]);
      return;
    case 'INVITED':
      return applyInvited(net, args);
    case 'REALNAME':
    case 'REDACT':
      return applyMessageEncap(net, net.byUid.get(msg.source ?? ''), msg.params);
    default:
      // Server bans and server notices (remote.ts); other subcommands are not this server's business: ignored, as TS6 servers do.
      return applyOpsEncap(net, link, msg, net.byUid.get(msg.source ?? ''));
  }
}

/** An account set for a user: a user of this server is told (900/901), as a login here tells it. */
function setLogin(server: Server, user: User, account: string | undefined): void {
  if (server.state.serverOf(user) !== server.state.me) return server.state.setAccount(user, account);
  if (account === undefined) logOut(server, user);
  else if (account !== user.account) logIn(server, user, account);
}

/**
 * "SVSLOGIN <uid> <nick> <user> <host> <account>": services log in a user of this server (one
 * still registering after relayed SASL, or a registered one), "*" leaving a field as it is and
 * account "0" logging out. Nick and user are not taken from it (RSFNC changes nicks).
 */
function svslogin(net: Network, args: readonly string[]): void {
  const [uid = '', , , host, account] = args;
  const server = net.server;
  const client = net.byUid.get(uid) ?? saslClient(net, uid);
  if (!client || server.state.serverOf(client) !== server.state.me) return;
  if (host && host !== '*' && /^[^\s!@*?]+$/.test(host)) {
    if (client.registered) server.state.setHost(client, host);
    else client.host = host;
  }
  if (account && account !== '*') setLogin(server, client, account === '0' ? undefined : account);
}

/**
 * "RSFNC <uid> <new nick> <new nick TS> <old nick TS>": services rename a user of this server,
 * unless its nick changed since they decided (the old TS differs). A user of this server holding
 * the new nick is disconnected, as services regain it.
 */
function rsfnc(net: Network, link: Link, args: readonly string[]): void {
  const [uid = '', nick = '', newTs, oldTs] = args;
  const server = net.server;
  const client = net.byUid.get(uid);
  const ids = client && net.ids(client);
  if (!client || !ids || ids.home || ids.ts !== Number(oldTs)) return;
  if (!checkNick(nick, server.config.server.casemapping, server.config.limits.nicklen).ok) return;
  const holder = server.state.findNick(nick);
  if (holder && holder !== client) {
    if (userIds.get(holder)?.home) return;
    server.disconnect(holder, { kind: 'kill', text: 'Nickname regained by services' });
  }
  ids.ts = Number(newTs) || Math.floor(Date.now() / 1000);
  server.state.setNick(client, nick);
  // The other links heard it from State's event; the services asked, and hear it too.
  net.send(link, { source: net.uid(client), command: 'NICK', params: [client.nick, String(ids.ts)] });
}

/** ":<sid> MLOCK <channel TS> <channel> :<letters>": services lock a channel's modes (older TS than ours: not ours). */
export function applyMlock(net: Network, link: Link, msg: Message): void {
  const [ts, name, letters = ''] = msg.params;
  const origin = originOf(net, msg.source);
  for (const other of net.links) if (other !== link && other.phase === 'up') net.send(other, msg);
  if (!isServicesServer(net.server, origin)) return;
  const channel = net.server.state.findChannel(name ?? '');
  if (!channel || Number(ts) > net.channelTs(channel)) return;
  setModeLock(channel, letters);
}

/**
 * A NOTICE or PRIVMSG from a server (services write to users as themselves): to a user of this
 * server, or on toward another's; to a channel's members here and on to the links behind which
 * others are.
 */
export function serverMessage(net: Network, link: Link, msg: Message): void {
  const [targetName = '', text = ''] = msg.params;
  const origin = originOf(net, msg.source);
  if (!origin || !text) return;
  const server = net.server;
  const user = net.byUid.get(targetName);
  if (user) {
    if (passOn(net, link, server.state.serverOf(user), msg)) return;
    return user.send({ source: origin.name, command: msg.command, params: [user.nick, text] });
  }
  const channel = server.state.findChannel(targetName);
  if (!channel) return;
  const via = new Set<Link>();
  for (const member of channel.members.keys()) {
    const l = net.linkOfUser(member);
    if (l) via.add(l);
    else member.send({ source: origin.name, command: msg.command, params: [channel.name, text] });
  }
  for (const l of via) if (l !== link && l.phase === 'up') net.send(l, msg);
}
