// Server bans: KLINE/UNKLINE (user@host), DLINE/UNDLINE (IP or CIDR, checked when a connection
// is accepted) and XLINE/UNXLINE (realname glob); TESTLINE and TESTMASK to try masks first (as
// Solanum's, https://github.com/solanum-ircd/solanum/blob/main/help/opers/testline). Bans are durable (SQLite), may expire, and a
// new ban disconnects the matching users already online. Address ranges wider than
// bans.dline_min_cidr/dline_min_cidr6 are refused, and so is a ban matching the oper setting it,
// unless MYSELF says that is meant.
// Spec: https://modern.ircdocs.horse/#operator-messages
import { cidrWidths, globMatch, ipBytes, normalizeIp, parseCidr, parseUserHostMask, userHostMatches, userHostOf, type Cidr } from '../protocol/mask.js';
import { RPL } from '../protocol/numerics.js';
import { formatDuration, parseDuration } from '../protocol/duration.js';
import type { User } from '../server/user.js';
import type { Session } from '../server/session.js';
import type { CommandDef, Module } from '../server/module.js';
import type { Server } from '../server/server.js';
import { serverSlot } from '../server/slots.js';
import { banMatcher, type BanSubject } from '../store/ban-index.js';
import type { BanKind, ServerBan } from '../store/ban-index.js';
import { BanStore } from '../store/bans.js';
import { audit, serverNotice } from './oper.js';

const stores = serverSlot<BanStore>('bans');
const expiryTimers = serverSlot<NodeJS.Timeout>('bans');

/** The server's ban store (opened at init). */
export function bansOf(server: Server): BanStore {
  return stores.require(server);
}

/** What bans see of a registering client. */
function subjectOf(client: User): BanSubject {
  return { ...userHostOf(client.user, client.realHost, client.ip), realname: client.realname.toLowerCase() };
}

/** What bans see of one session of a user: each session of a multiclient user by its own ident, host and address. */
function sessionSubject(client: User, session: Session): BanSubject {
  const { user, realHost } = session.attachedAs ?? client;
  return { ...userHostOf(user, realHost, session.conn.ip), realname: client.realname.toLowerCase() };
}

/**
 * Why a range is wider than bans may cover, or undefined. IPv6 is checked first: ::/0 is refused
 * as IPv6, ::ffff:0:0/96 (every IPv4 address, in the form IPv4 clients are matched in) as IPv4.
 */
function tooBroad(server: Server, kind: BanKind, given: string, cidr: Cidr): string | undefined {
  const { dline_min_cidr: min4, dline_min_cidr6: min6 } = server.config.bans;
  const { v4, v6 } = cidrWidths(cidr);
  if (v6 !== undefined && v6 < min6) return `"${given}" is too broad: ${kind}-Lines may cover at most a /${min6} of IPv6 (bans.dline_min_cidr6)`;
  if (v4 !== undefined && v4 < min4) {
    const mapped = cidr.v4 ? '' : '; the range holds IPv4 addresses in their IPv4-mapped form (::ffff:a.b.c.d)';
    return `"${given}" is too broad: ${kind}-Lines may cover at most a /${min4} of IPv4 (bans.dline_min_cidr)${mapped}`;
  }
  return undefined;
}

/** Turns what the oper typed into the stored mask, or explains why it is unusable. */
function normalizeBanMask(server: Server, kind: BanKind, given: string): { mask: string } | { error: string } {
  // A nick that is online stands for its host (K) or IP (D), as opers usually mean.
  const online = /^[^@.:*?/]+$/.test(given) ? server.state.findNick(given) : undefined;
  if (kind === 'K') {
    let mask = online ? `*@${online.realHost}` : given.includes('@') ? given : `*@${given}`;
    mask = mask.toLowerCase();
    const at = mask.lastIndexOf('@');
    if (/[\s!]/.test(mask) || at === 0 || at === mask.length - 1) return { error: `"${given}" is not a user@host mask` };
    const host = mask.slice(at + 1);
    const cidr = parseCidr(host);
    if (!cidr && /^[*?.:]*$/.test(host)) return { error: `"${given}" would ban every host` };
    const broad = cidr && tooBroad(server, kind, given, cidr);
    return broad ? { error: broad } : { mask };
  }
  if (kind === 'D') {
    const mask = (online ? online.ip : given).toLowerCase();
    const cidr = parseCidr(mask);
    if (!cidr) return { error: `"${given}" is not an IP address or CIDR range (e.g. 192.0.2.0/24, 2001:db8::/48)` };
    const broad = tooBroad(server, kind, given, cidr);
    return broad ? { error: broad } : { mask };
  }
  // Realnames may contain spaces; opers write them as "\s" in the one-word mask.
  const mask = given.replace(/\\s/g, ' ').toLowerCase();
  if (/^[*?\s]*$/.test(mask)) return { error: `"${given}" would ban every realname` };
  return { mask };
}

/**
 * Disconnects every connection online a new ban covers; D-lines also cover connections still
 * registering. Each session of a multiclient user is matched on its own (its own address, ident
 * and host), and only the matching ones go: the user quits when none is left.
 */
function enforce(server: Server, ban: ServerBan): void {
  const matches = banMatcher(ban);
  for (const client of [...server.state.clients]) {
    if (ban.kind !== 'D' && !client.registered) continue;
    const hit = client.sessions.filter((s) => matches(sessionSubject(client, s)));
    for (const s of hit) {
      const { user, realHost } = s.attachedAs ?? client;
      serverNotice(server, 'b', `${ban.kind}-Line active for ${client.nick} (${user}@${realHost}) [${s.conn.ip}]: ${ban.reason}`);
      // Closing its last session is the user's QUIT (Server.connectionClosed).
      server.closeSession(s, { kind: 'ban', text: `Banned: ${ban.reason}` });
    }
  }
}

/** A ban to set, as an oper (KLINE ...) or an API call gives it. */
export interface BanRequest {
  kind: BanKind;
  /** The mask as given (a nick online stands for its host or address). */
  given: string;
  /** 0 for a permanent ban. */
  seconds: number;
  reason: string | undefined;
  /** Who sets it: the oper's block name or the API token's name (kept with the ban). */
  setBy: string;
  /** Who is told in the notices: "nick" or "API token name". */
  by: string;
  /** The oper setting it: a ban matching one of its sessions is refused unless `myself`. */
  self?: User;
  myself?: boolean;
  /** Runs once the ban is stored, before the notices and the disconnections (the setter hears first). */
  added?: (ban: ServerBan) => void;
}

export type BanResult = { ok: true; ban: ServerBan } | { ok: false; code: 'INVALID_PARAMS' | 'LIMIT_REACHED' | 'WOULD_BAN_YOU'; error: string };

/**
 * Validates and sets a server ban, then disconnects who it covers: what KLINE, DLINE and XLINE do
 * and the API's ban endpoint does, with the same checks (mask shape, width limits, the count).
 */
export function addServerBan(server: Server, req: BanRequest): BanResult {
  const { kind } = req;
  const parsed = normalizeBanMask(server, kind, req.given);
  if ('error' in parsed) return { ok: false, code: 'INVALID_PARAMS', error: parsed.error };
  const store = bansOf(server);
  if (!store.has(kind, parsed.mask) && store.size >= server.config.bans.max_entries)
    return { ok: false, code: 'LIMIT_REACHED', error: `There are already ${store.size} server bans (bans.max_entries); remove some first` };
  const now = Date.now();
  const ban: ServerBan = {
    kind,
    mask: parsed.mask,
    reason: (req.reason || 'No reason given').slice(0, server.config.limits.kicklen),
    setBy: req.setBy,
    setAt: now,
    expiresAt: req.seconds > 0 ? now + req.seconds * 1000 : undefined,
  };
  const matches = banMatcher(ban);
  const self = req.self?.sessions.find((s) => matches(sessionSubject(req.self!, s)));
  if (self && !req.myself) {
    const { user, realHost } = self.attachedAs ?? req.self!;
    const you = `${user}@${realHost} [${self.conn.ip}]`;
    return { ok: false, code: 'WOULD_BAN_YOU', error: `This ${kind}-Line for [${ban.mask}] matches you (${you}) and would disconnect you; to set it anyway, repeat the command with MYSELF before the other parameters` };
  }
  store.add(ban);
  req.added?.(ban);
  serverNotice(server, 'b', `${req.by} added ${formatDuration(req.seconds)} ${kind}-Line for [${ban.mask}]: ${ban.reason}`, req.self);
  server.emit('banAdded', ban, req.self);
  enforce(server, ban);
  return { ok: true, ban };
}

/** Removes a server ban given as typed (normalized as when it was set), and tells the opers (but `oper`, who removed it). */
export function removeServerBan(server: Server, kind: BanKind, given: string, by: string, oper?: User): { mask: string; removed: boolean } {
  const parsed = normalizeBanMask(server, kind, given);
  const mask = 'mask' in parsed ? parsed.mask : given.toLowerCase();
  const removed = bansOf(server).remove(kind, mask) !== undefined;
  if (removed) {
    serverNotice(server, 'b', `${by} removed the ${kind}-Line for [${mask}]`, oper);
    server.emit('banRemoved', kind, mask, oper);
  }
  return { mask, removed };
}

function addBan(kind: BanKind): CommandDef['handler'] {
  return (server, client, msg) => {
    const params = [...msg.params];
    // MYSELF first confirms a ban that matches the oper setting it (alone, it is a nick).
    const myself = params.length >= 2 && params[0]!.toUpperCase() === 'MYSELF';
    if (myself) params.shift();
    let seconds = 0;
    const duration = params.length >= 2 ? parseDuration(params[0]!) : undefined;
    if (duration !== undefined) {
      seconds = duration;
      params.shift();
    }
    const span = formatDuration(seconds);
    const result = addServerBan(server, {
      kind,
      given: params[0]!,
      seconds,
      reason: params[1],
      setBy: client.oper!.name,
      by: client.nick,
      self: client,
      myself,
      added: (ban) => {
        audit(server, client, `${kind}-line added`, { target: ban.mask, reason: ban.reason, duration: span });
        client.fromServer('NOTICE', [client.nick, `*** Added ${span} ${kind}-Line for [${ban.mask}]: ${ban.reason}`]);
      },
    });
    if (!result.ok) client.standardReply('FAIL', msg.command, result.code, result.error);
  };
}

function removeBan(kind: BanKind): CommandDef['handler'] {
  return (server, client, msg) => {
    const { mask, removed } = removeServerBan(server, kind, msg.params[0]!, client.nick, client);
    if (!removed) {
      client.standardReply('FAIL', msg.command, 'NO_SUCH_BAN', `No ${kind}-Line for [${mask}]`);
      return;
    }
    audit(server, client, `${kind}-line removed`, { target: mask });
    client.fromServer('NOTICE', [client.nick, `*** ${kind}-Line for [${mask}] removed`]);
  };
}

// ---- TESTLINE and TESTMASK (as Solanum's m_testline and m_testmask) ----------------------------

/** Realnames in a middle parameter: spaces written as \\s, as XLINE takes them. */
const oneWord = (text: string) => text.replace(/ /g, '\\s');

/** One 725 line: the kind (lowercase when the ban expires), minutes left (0: permanent), mask, reason. */
function reportBan(client: User, ban: ServerBan): void {
  const minutes = ban.expiresAt === undefined ? 0 : Math.max(1, Math.ceil((ban.expiresAt - Date.now()) / 60000));
  const kind = ban.expiresAt === undefined ? ban.kind : ban.kind.toLowerCase();
  client.numeric(RPL.TESTLINE, kind, String(minutes), oneWord(ban.mask), ban.reason);
}

/**
 * TESTLINE <user@host | ip | realname>: the bans a connection like that would meet (D-line by
 * its address, K-line by user@host, or an X-line for a realname) and, for a user@host or IP, the
 * allow block and class it would get. 726 when nothing matches.
 */
function handleTestline(server: Server, client: User, given: string): void {
  const store = bansOf(server);
  const at = given.lastIndexOf('@');
  const host = (at === -1 ? given : given.slice(at + 1)).toLowerCase();
  const bytes = ipBytes(host);
  if (at === -1 && !bytes) {
    const realname = given.replace(/\\s/g, ' ').toLowerCase();
    const ban = store.matching('X', { ...userHostOf('', '', ''), realname });
    if (ban) reportBan(client, ban);
    else client.numeric(RPL.NOTESTLINE, oneWord(given), 'No matches');
    return;
  }
  const ip = bytes ? normalizeIp(host) : '';
  const who = { ...userHostOf(at === -1 ? '*' : given.slice(0, at), host, ip), realname: '' };
  const bans = [bytes && store.dlineCovering(bytes), store.matching('K', who)].filter((b) => !!b);
  for (const ban of bans) reportBan(client, ban);
  const allow = server.admission.allowFor(ip, host);
  if (allow) client.numeric(RPL.STATSILINE, 'I', allow.mask, allow.password ? 'password' : '*', allow.mask, '0', allow.class);
  if (bans.length === 0 && !allow) client.numeric(RPL.NOTESTLINE, given, 'No matches');
}

/** TESTMASK <[nick!]user@host> [<realname>]: how many users online match (globs; the host may be a CIDR). */
function handleTestmask(server: Server, client: User, given: string, realnameGlob: string | undefined): void {
  const bang = given.indexOf('!');
  const nickGlob = bang === -1 ? '*' : given.slice(0, bang);
  const userHost = given.slice(bang + 1);
  const at = userHost.lastIndexOf('@');
  if (at <= 0 || at === userHost.length - 1) {
    client.standardReply('FAIL', 'TESTMASK', 'INVALID_PARAMS', `"${given}" is not a [nick!]user@host mask`);
    return;
  }
  const fold = server.state.fold;
  const nickKey = fold(nickGlob);
  const mask = parseUserHostMask(userHost);
  const realname = (realnameGlob ?? '*').replace(/\\s/g, ' ').toLowerCase();
  let count = 0;
  // Services are not counted: no ban reaches them.
  for (const c of server.state.clients) {
    if (!c.registered || server.state.isService(c) || !globMatch(nickKey, c.nickKey)) continue;
    if (userHostMatches(mask, userHostOf(c.user, c.realHost, c.ip)) && globMatch(realname, c.realname.toLowerCase())) count++;
  }
  // The second count is users on other servers: none, with one server.
  client.numeric(RPL.TESTMASKGECOS, String(count), '0', `${nickGlob}!${userHost}`, oneWord(realnameGlob ?? '*'), 'Local/remote clients match');
}

const MYSELF_HELP = 'A ban that matches you is refused unless MYSELF comes first (it disconnects you too).';

const HELP: Record<BanKind, { add: string[]; remove: string[] }> = {
  K: {
    add: [
      'KLINE [MYSELF] [<duration>] <user@host|nick> [<reason>]',
      'Bans a user@host mask (globs; the host may be a CIDR range up to bans.dline_min_cidr/dline_min_cidr6 wide). Durations: 90, 30m, 1h30m, 7d; none is permanent.',
      MYSELF_HELP,
    ],
    remove: ['UNKLINE <user@host>', 'Removes a K-Line.'],
  },
  D: {
    add: [
      'DLINE [MYSELF] [<duration>] <ip|cidr|nick> [<reason>]',
      'Bans an IP address or CIDR range (up to bans.dline_min_cidr/dline_min_cidr6 wide); connections are refused before registration.',
      MYSELF_HELP,
    ],
    remove: ['UNDLINE <ip|cidr>', 'Removes a D-Line.'],
  },
  X: {
    add: ['XLINE [MYSELF] [<duration>] <realname> [<reason>]', 'Bans a realname glob; write spaces as \\s.', MYSELF_HELP],
    remove: ['UNXLINE <realname>', 'Removes an X-Line.'],
  },
};

function banCommands(kind: BanKind): Record<string, CommandDef> {
  return {
    [`${kind}LINE`]: { minParams: 1, privilege: 'ban', handler: addBan(kind), help: HELP[kind].add },
    [`UN${kind}LINE`]: { minParams: 1, privilege: 'ban', handler: removeBan(kind), help: HELP[kind].remove },
  };
}

export const bans: Module = {
  name: 'bans',
  commands: {
    ...banCommands('K'),
    ...banCommands('D'),
    ...banCommands('X'),
    TESTLINE: {
      minParams: 1,
      emptyIsMissing: true,
      privilege: 'ban',
      handler: (server, client, msg) => handleTestline(server, client, msg.params[0]!),
      help: [
        'TESTLINE <user@host|ip|realname>',
        'Shows the D-Line and K-Line a connection from there would meet (725), and the allow block and class it would get (215);',
        'anything else is a realname, tested against X-Lines (write spaces as \\s). 726 when nothing matches.',
      ],
    },
    TESTMASK: {
      minParams: 1,
      emptyIsMissing: true,
      privilege: 'ban',
      handler: (server, client, msg) => handleTestmask(server, client, msg.params[0]!, msg.params[1]),
      help: [
        'TESTMASK <[nick!]user@host> [<realname>]',
        'Counts the users online matching the mask (globs; the host may be a CIDR range, matched against real hosts and IPs) and the realname glob (727).',
      ],
    },
  },
  refuseConnection: (server, ip) => {
    const store = bansOf(server);
    if (!store.holds('D')) return undefined;
    const bytes = ipBytes(ip);
    const ban = bytes && store.dlineCovering(bytes);
    return ban ? `Banned: ${ban.reason}` : undefined;
  },
  refuseRegistration: (server, client) => {
    const store = bansOf(server);
    // Every registration asks: without K- or X-lines there is nothing to build a subject for.
    if (!store.holds('K') && !store.holds('X')) return undefined;
    const who = subjectOf(client);
    const ban = store.matching('K', who) ?? store.matching('X', who);
    if (!ban) return undefined;
    serverNotice(server, 'b', `${ban.kind}-Line refused ${client.nick} (${client.user}@${client.realHost}) [${client.ip}]: ${ban.reason}`);
    return ban.reason;
  },
  init: (server) => {
    stores.set(server, new BanStore(server.db));
    // Matching ignores expired bans already; this only tidies the table and tells the opers.
    const timer = setInterval(() => {
      for (const ban of bansOf(server).expire()) serverNotice(server, 'b', `${formatDuration((ban.expiresAt! - ban.setAt) / 1000)} ${ban.kind}-Line for [${ban.mask}] expired`);
    }, 5000);
    timer.unref();
    expiryTimers.set(server, timer);
  },
  close: (server) => {
    clearInterval(expiryTimers.delete(server));
    stores.delete(server);
  },
};
