// Server bans: KLINE/UNKLINE (user@host), DLINE/UNDLINE (IP or CIDR, checked when a connection
// is accepted) and XLINE/UNXLINE (realname glob). Bans are durable (SQLite), may expire, and a
// new ban disconnects the matching users already online.
import { cidrContains, globMatch, ipBytes, parseCidr } from '../protocol/mask.js';
import { formatDuration, parseDuration } from '../protocol/duration.js';
import type { Client } from '../server/client.js';
import type { CommandDef, Module } from '../server/module.js';
import { PerServer } from '../server/per-server.js';
import type { Server } from '../server/server.js';
import { BanStore, type BanKind, type ServerBan } from '../store/bans.js';
import { audit, matchesUserHost, serverNotice } from './oper.js';

const stores = new PerServer<BanStore>('bans');
const expiryTimers = new WeakMap<Server, NodeJS.Timeout>();

/** The server's ban store (opened at init). */
export function bansOf(server: Server): BanStore {
  return stores.get(server);
}

export function banMatches(ban: ServerBan, client: Client): boolean {
  switch (ban.kind) {
    case 'K':
      return matchesUserHost(client, ban.mask);
    case 'D':
      return ipMatches(ban.mask, client.ip);
    case 'X':
      return globMatch(ban.mask, client.realname.toLowerCase());
  }
}

function ipMatches(mask: string, ip: string): boolean {
  const cidr = parseCidr(mask);
  const bytes = ipBytes(ip);
  return !!cidr && !!bytes && cidrContains(cidr, bytes);
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
    if (/^[*?.]*$/.test(mask.slice(at + 1))) return { error: `"${given}" would ban every host` };
    return { mask };
  }
  if (kind === 'D') {
    const mask = (online ? online.ip : given).toLowerCase();
    const cidr = parseCidr(mask);
    if (!cidr) return { error: `"${given}" is not an IP address or CIDR range (e.g. 192.0.2.0/24, 2001:db8::/48)` };
    const cfg = server.config.bans;
    const widest = cidr.v4 ? cfg.dline_min_cidr : cfg.dline_min_cidr6;
    if ((cidr.v4 ? cidr.bits - 96 : cidr.bits) < widest)
      return { error: `"${given}" is too broad: D-lines may cover at most a /${widest} (bans.dline_min_cidr${cidr.v4 ? '' : '6'})` };
    return { mask };
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
  for (const client of [...server.state.clients]) {
    if (ban.kind !== 'D' && !client.registered) continue;
    const hit = client.allSessions().filter((s) => banMatches(ban, s));
    for (const s of hit) {
      serverNotice(server, 'b', `${ban.kind}-Line active for ${client.nick} (${s.user}@${s.realHost}) [${s.ip}]: ${ban.reason}`);
      const reason = { kind: 'ban', text: `Banned: ${ban.reason}` } as const;
      if (client.sessions === undefined) server.disconnect(client, reason);
      else s.ownConn.close(reason);
    }
  }
}

function addBan(kind: BanKind): CommandDef['handler'] {
  return (server, client, msg) => {
    const params = [...msg.params];
    let seconds = 0;
    const duration = params.length >= 2 ? parseDuration(params[0]!) : undefined;
    if (duration !== undefined) {
      seconds = duration;
      params.shift();
    }
    const command = msg.command;
    const parsed = normalizeBanMask(server, kind, params[0]!);
    if ('error' in parsed) {
      client.standardReply('FAIL', command, 'INVALID_PARAMS', parsed.error);
      return;
    }
    const store = bansOf(server);
    if (!store.has(kind, parsed.mask) && store.size >= server.config.bans.max_entries) {
      client.standardReply('FAIL', command, 'LIMIT_REACHED', `There are already ${store.size} server bans (bans.max_entries); remove some first`);
      return;
    }
    const now = Date.now();
    const ban: ServerBan = {
      kind,
      mask: parsed.mask,
      reason: (params[1] || 'No reason given').slice(0, server.config.limits.kicklen),
      setBy: client.oper!.name,
      setAt: now,
      expiresAt: seconds > 0 ? now + seconds * 1000 : undefined,
    };
    store.add(ban);
    const span = formatDuration(seconds);
    audit(server, client, `${kind}-line added`, { target: ban.mask, reason: ban.reason, duration: span });
    client.fromServer('NOTICE', [client.nick, `*** Added ${span} ${kind}-Line for [${ban.mask}]: ${ban.reason}`]);
    serverNotice(server, 'b', `${client.nick} added ${span} ${kind}-Line for [${ban.mask}]: ${ban.reason}`, client);
    enforce(server, ban);
  };
}

function removeBan(kind: BanKind): CommandDef['handler'] {
  return (server, client, msg) => {
    const parsed = normalizeBanMask(server, kind, msg.params[0]!);
    const mask = 'mask' in parsed ? parsed.mask : msg.params[0]!.toLowerCase();
    const removed = bansOf(server).remove(kind, mask);
    if (!removed) {
      client.standardReply('FAIL', msg.command, 'NO_SUCH_BAN', `No ${kind}-Line for [${mask}]`);
      return;
    }
    audit(server, client, `${kind}-line removed`, { target: mask });
    client.fromServer('NOTICE', [client.nick, `*** ${kind}-Line for [${mask}] removed`]);
    serverNotice(server, 'b', `${client.nick} removed the ${kind}-Line for [${mask}]`, client);
  };
}

const HELP: Record<BanKind, { add: string[]; remove: string[] }> = {
  K: {
    add: ['KLINE [<duration>] <user@host|nick> [<reason>]', 'Bans a user@host mask (globs; the host may be a CIDR). Durations: 90, 30m, 1h30m, 7d; none is permanent.'],
    remove: ['UNKLINE <user@host>', 'Removes a K-Line.'],
  },
  D: {
    add: ['DLINE [<duration>] <ip|cidr|nick> [<reason>]', 'Bans an IP address or CIDR range; connections are refused before registration.'],
    remove: ['UNDLINE <ip|cidr>', 'Removes a D-Line.'],
  },
  X: {
    add: ['XLINE [<duration>] <realname> [<reason>]', 'Bans a realname glob; write spaces as \\s.'],
    remove: ['UNXLINE <realname>', 'Removes an X-Line.'],
  },
};

function banCommands(kind: BanKind): Record<string, CommandDef> {
  return {
    [`${kind}LINE`]: { minParams: 1, privilege: 'ban', handler: addBan(kind), help: HELP[kind].add },
    [`UN${kind}LINE`]: { minParams: 1, privilege: 'ban', handler: removeBan(kind), help: HELP[kind].remove },
  };
}

function firstMatch(server: Server, kinds: BanKind[], client: Client): ServerBan | undefined {
  const store = bansOf(server);
  for (const kind of kinds) {
    const ban = store.list(kind).find((b) => banMatches(b, client));
    if (ban) return ban;
  }
  return undefined;
}

export const bans: Module = {
  name: 'bans',
  commands: { ...banCommands('K'), ...banCommands('D'), ...banCommands('X') },
  refuseConnection: (server, ip) => {
    const ban = bansOf(server).list('D').find((b) => ipMatches(b.mask, ip));
    return ban && `Banned: ${ban.reason}`;
  },
  refuseRegistration: (server, client) => {
    const ban = firstMatch(server, ['K', 'X'], client);
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
    clearInterval(expiryTimers.get(server));
    stores.remove(server);
  },
};
