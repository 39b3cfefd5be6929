// User queries (Modern IRC "User-Based Queries"): WHO with IRCv3 WHOX, and WHOIS.
// Visibility: invisible (+i) users appear in mask queries only to those sharing a channel with
// them, secret (+s) and private (+p) channels show their members only to members; operators with
// the see_hidden privilege see everything, including real hosts and IPs.
// Spec: https://modern.ircdocs.horse/#user-based-queries · https://ircv3.net/specs/extensions/whox
import { isChannelTarget } from '../protocol/channelname.js';
import { globMatch } from '../protocol/mask.js';
import { ERR, RPL } from '../protocol/numerics.js';
import { packLines } from '../protocol/text.js';
import { CAP } from '../server/caps.js';
import type { Channel } from '../server/channel.js';
import type { User } from '../server/user.js';
import type { Handler, Module } from '../server/module.js';
import { hunt } from '../server/hunt.js';
import type { Server } from '../server/server.js';
import { BOT_MODE, userModeString } from './usermodes.js';

const SEE_HIDDEN = 'see_hidden';

/** The WHOX fields in the order the spec puts them in RPL_WHOSPCRPL. */
const WHOX_FIELDS = 'tcuihsnfdlaor';

/** An operator here, or of another server (its +o came over the link; its privileges stay there). */
const isOperator = (target: User) => target.modes.has('o');

function sharesChannel(server: Server, a: User, b: User): boolean {
  const mine = server.state.channelsOf(a);
  const theirs = server.state.channelsOf(b);
  const [small, other] = mine.size <= theirs.size ? [mine, b] : [theirs, a];
  for (const ch of small) if (ch.members.has(other)) return true;
  return false;
}

/** Whether `viewer` may see who is in `channel` (secret and private channels hide it from outsiders). */
function channelVisible(server: Server, viewer: User, channel: Channel): boolean {
  return (!channel.flags.has('s') && !channel.flags.has('p')) || channel.members.has(viewer) || server.hasPrivilege(viewer, SEE_HIDDEN);
}

/** Whether `target` shows up in a mask WHO by `viewer` (Modern IRC "visible users"). */
function userVisible(server: Server, viewer: User, target: User): boolean {
  return target === viewer || !target.modes.has('i') || server.hasPrivilege(viewer, SEE_HIDDEN) || sharesChannel(server, viewer, target);
}

/** Sends `items` joined by `sep` as the last parameter of as many numerics as the line length needs. */
export function sendListNumeric(server: Server, client: User, code: string, params: string[], items: string[], sep: ',' | ' '): void {
  const overhead = Buffer.byteLength(`:${server.name} ${code} ${client.nick} ${params.map((p) => p + ' ').join('')}:`);
  const budget = server.config.limits.line_length - 2 - overhead;
  for (const line of packLines(items, budget)) client.numeric(code, ...params, line.join(sep));
}

// ---- WHO --------------------------------------------------------------------------------------

/** H/G (away), * (operator), channel prefixes (all of them with multi-prefix) and the bot flag. */
function whoFlags(server: Server, viewer: User, target: User, channel: Channel | undefined): string {
  let flags = target.away === undefined ? 'H' : 'G';
  if (isOperator(target)) flags += '*';
  if (channel) flags += server.prefixes.symbolsFor(channel.members.get(target) ?? '', viewer.hasCap(CAP['multi-prefix']));
  if (target.modes.has(BOT_MODE)) flags += BOT_MODE;
  return flags;
}

interface WhoxRequest {
  fields: Set<string>;
  token: string;
}

/** Parses "[flags]%fields[,token]"; undefined when the request is a classic WHO. */
function parseWhox(arg: string | undefined): WhoxRequest | undefined {
  const pct = arg?.indexOf('%') ?? -1;
  if (pct === -1) return undefined;
  const [fields = '', token = ''] = arg!.slice(pct + 1).split(',', 2);
  return { fields: new Set(fields), token: /^\d{1,3}$/.test(token) ? token : '0' };
}

function sendWhoReply(server: Server, viewer: User, target: User, channel: Channel | undefined, whox: WhoxRequest | undefined): void {
  const flags = whoFlags(server, viewer, target, channel);
  if (!whox) {
    viewer.numeric(RPL.WHOREPLY, channel?.name ?? '*', target.user, target.host, server.name, target.nick, flags, `0 ${target.realname}`);
    return;
  }
  const seesIp = viewer === target || server.hasPrivilege(viewer, SEE_HIDDEN);
  const values: Record<string, () => string> = {
    t: () => whox.token,
    c: () => channel?.name ?? '*',
    u: () => target.user,
    i: () => (seesIp ? target.ip : '255.255.255.255'),
    h: () => target.host,
    s: () => server.name,
    n: () => target.nick,
    f: () => flags,
    d: () => '0',
    l: () => String(Math.floor((Date.now() - target.lastActiveAt) / 1000)),
    a: () => target.account ?? '0',
    o: () => 'n/a',
    r: () => target.realname,
  };
  const params: string[] = [];
  for (const f of WHOX_FIELDS) if (whox.fields.has(f)) params.push(values[f]!());
  viewer.numeric(RPL.WHOSPCRPL, ...params);
}

function matchesWhoMask(server: Server, viewer: User, target: User, pattern: string): boolean {
  const fold = server.state.fold;
  const fields = [target.nickKey, fold(target.user), fold(target.host), fold(target.realname), fold(server.name)];
  if (server.hasPrivilege(viewer, SEE_HIDDEN)) fields.push(fold(target.realHost), target.ip);
  return fields.some((f) => globMatch(pattern, f));
}

/** A WHO mask that is matched against every user ("0" means everyone). */
function isWhoMask(mask: string): boolean {
  return mask === '0' || /[*?]/.test(mask);
}

const handleWho: Handler = (server, client, msg) => {
  const mask = msg.params[0] || '*';
  const arg = msg.params[1];
  const whox = parseWhox(arg);
  const operOnly = (whox ? arg!.slice(0, arg!.indexOf('%')) : (arg ?? '')).includes('o');
  const send = (target: User, channel?: Channel) => {
    if (!operOnly || isOperator(target)) sendWhoReply(server, client, target, channel, whox);
  };

  if (isChannelTarget(mask, server.config.channels.types)) {
    const channel = server.state.findChannel(mask);
    if (channel && channelVisible(server, client, channel)) {
      const hidden = server.hasPrivilege(client, SEE_HIDDEN);
      const all = channel.members.has(client) || hidden;
      // An auditorium (+u) shows a member without voice only the voiced and the operators.
      for (const member of channel.members.keys()) if ((all || !member.modes.has('i')) && (hidden || !channel.hides(client, member))) send(member, channel);
    }
  } else {
    const exact = /[*?]/.test(mask) ? undefined : server.state.findNick(mask);
    if (exact?.registered) {
      // An exact nick is always answered, invisible or not (Modern IRC).
      send(exact);
    } else {
      const pattern = server.state.fold(mask === '0' ? '*' : mask);
      // A mask can match a whole large server: past who_results the asker would only flood its own sendq.
      let left = server.hasPrivilege(client, SEE_HIDDEN) ? Infinity : server.config.limits.who_results;
      for (const target of server.registeredClients()) {
        if (!matchesWhoMask(server, client, target, pattern) || !userVisible(server, client, target)) continue;
        if (operOnly && !isOperator(target)) continue;
        if (left-- === 0) {
          client.numeric(ERR.TOOMANYMATCHES, 'WHO', 'Output too large, truncated');
          break;
        }
        send(target);
      }
    }
  }
  client.numeric(RPL.ENDOFWHO, mask, 'End of WHO list');
};

// ---- WHOIS ------------------------------------------------------------------------------------

function sendWhois(server: Server, client: User, target: User): void {
  const nick = target.nick;
  const privileged = client === target || server.hasPrivilege(client, SEE_HIDDEN);
  client.numeric(RPL.WHOISUSER, nick, target.user, target.host, '*', target.realname);

  const multiPrefix = client.hasCap(CAP['multi-prefix']);
  const channels: string[] = [];
  for (const ch of server.state.channelsOf(target)) {
    if (!channelVisible(server, client, ch)) continue;
    channels.push(server.prefixes.symbolsFor(ch.members.get(target) ?? '', multiPrefix) + ch.name);
  }
  sendListNumeric(server, client, RPL.WHOISCHANNELS, [nick], channels, ' ');

  // The server the user is on: this one, or one linked behind it.
  const home = server.state.serverOf(target);
  client.numeric(RPL.WHOISSERVER, nick, home.name, home === server.state.me ? server.config.server.description : home.description);
  if (target.away !== undefined) client.numeric(RPL.AWAY, nick, target.away);
  if (server.state.isService(target)) client.numeric(RPL.WHOISOPERATOR, nick, 'is a Network Service');
  else if (isOperator(target)) client.numeric(RPL.WHOISOPERATOR, nick, 'is an IRC operator');
  if (target.account) client.numeric(RPL.WHOISACCOUNT, nick, target.account, 'is logged in as');
  if (target.modes.has(BOT_MODE)) client.numeric(RPL.WHOISBOT, nick, `is a bot on ${server.config.server.network}`);
  if (target.secure) client.numeric(RPL.WHOISSECURE, nick, 'is using a secure connection');
  if (privileged) {
    const fp = target.sessions[0]?.conn.certFingerprint;
    if (fp) client.numeric(RPL.WHOISCERTFP, nick, `has client certificate fingerprint ${fp}`);
    // What 311 did not show already: the real host behind a cloak, and the IP when it is not the host.
    const real = target.realHost !== target.host ? `${target.user}@${target.realHost}` : undefined;
    const ip = target.ip !== target.realHost ? target.ip : undefined;
    if (real || ip) client.numeric(RPL.WHOISHOST, nick, `is connecting from ${[real, ip].filter(Boolean).join(' ')}`);
    const modes = userModeString(target);
    if (modes !== '+') client.numeric(RPL.WHOISMODES, nick, `is using modes ${modes}`);
  }
  // Idle time is known where the user is: WHOIS <nick> <nick> asks its server for it.
  if (home === server.state.me) {
    const idle = Math.floor((Date.now() - target.lastActiveAt) / 1000);
    client.numeric(RPL.WHOISIDLE, nick, String(idle), String(Math.floor(target.signonAt / 1000)), 'seconds idle, signon time');
  }
  server.emit('whois', client, target);
}

const handleWhois: Handler = (server, client, msg) => {
  const hasTarget = msg.params.length >= 2;
  const list = msg.params[hasTarget ? 1 : 0] ?? '';
  const nicks = list.split(',').filter(Boolean);
  if (nicks.length === 0) {
    client.numeric(ERR.NONICKNAMEGIVEN, 'No nickname given');
    return;
  }
  if (hasTarget) {
    // "WHOIS <server|nick> <nick>": answered by that server (the nick's), with its idle time.
    const where = hunt(server, client, msg, 0);
    if (where === 'forwarded') return;
    if (where === 'unknown') {
      client.numeric(ERR.NOSUCHSERVER, msg.params[0]!, 'No such server');
      client.numeric(RPL.ENDOFWHOIS, list, 'End of /WHOIS list');
      return;
    }
  }
  for (const nick of nicks) {
    const target = server.state.findNick(nick);
    if (target?.registered) sendWhois(server, client, target);
    else client.numeric(ERR.NOSUCHNICK, nick, 'No such nick/channel');
    client.numeric(RPL.ENDOFWHOIS, target?.registered ? target.nick : nick, 'End of /WHOIS list');
  }
};

export const queries: Module = {
  name: 'queries',
  commands: {
    WHO: {
      // A mask (or none: everyone) is matched against every user; a channel or a nick is a lookup.
      penalty: (params) => (isWhoMask(params[0] || '*') ? 3 : 1),
      handler: handleWho,
      help: [
        'WHO <mask|channel> [o][%<fields>[,<token>]]',
        'Lists users matching a mask (nick, username, host, real name) or the members of a channel.',
        'With "o" only operators are listed; %<fields> asks for WHOX replies (fields from tcuihsnfdlaor).',
      ],
    },
    WHOIS: {
      // "WHOIS <server> <nicks>" asks a given server: the list is then the second parameter.
      targets: { limit: 'limited', param: (params) => (params.length >= 2 ? 1 : 0) },
      penalty: 1,
      handler: handleWhois,
      help: ['WHOIS [<server>] <nick>[,<nick>...]', 'Shows information about users: host, real name, channels, idle time, account.'],
    },
  },
  isupport: () => ({ WHOX: true }),
};
