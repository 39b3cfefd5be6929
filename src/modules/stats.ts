// STATS (RFC 2812 3.4.4, Modern IRC) for this server, and LINKS and MAP of the network's servers. Letters in [stats] public
// are open to everyone; the rest (connections, bans, config details) are for opers.
// Spec: https://modern.ircdocs.horse/#stats-message · https://modern.ircdocs.horse/#links-message ·
// MAP as Solanum's: https://github.com/solanum-ircd/solanum/blob/main/help/opers/map
import { globMatch } from '../protocol/mask.js';
import { formatDuration } from '../protocol/duration.js';
import { ERR, RPL } from '../protocol/numerics.js';
import type { Message } from '../protocol/message.js';
import type { User } from '../server/user.js';
import type { Module } from '../server/module.js';
import { answeredElsewhere } from '../server/hunt.js';
import type { Server } from '../server/server.js';
import type { ServerEntry } from '../server/state.js';
import type { BanKind } from '../store/ban-index.js';
import { bansOf } from './bans.js';

type Report = (server: Server, client: User) => void;

/** What STATS l shows of a connection, a client's or a server link's. */
interface Traffic {
  sendqBytes: number;
  linesOut: number;
  bytesOut: number;
  linesIn: number;
  bytesIn: number;
  connectedAt: number;
}

/** One RPL_STATSLINKINFO line: sendq, lines and KiB out, lines and KiB in, seconds open, then a note. */
function linkInfo(client: User, now: number, name: string, t: Traffic, note: string): void {
  const kib = (bytes: number) => String(Math.floor(bytes / 1024));
  client.numeric(RPL.STATSLINKINFO, name, String(t.sendqBytes), String(t.linesOut), kib(t.bytesOut), String(t.linesIn), kib(t.bytesIn), String(Math.floor((now - t.connectedAt) / 1000)), note);
}

function banReport(kind: BanKind, numeric: string): Report {
  return (server, client) => {
    const now = Date.now();
    for (const b of bansOf(server).list(kind, now)) {
      const expiry = b.expiresAt === undefined ? 'permanent' : `expires in ${formatDuration(Math.ceil((b.expiresAt - now) / 1000))}`;
      const reason = `${b.reason} (set by ${b.setBy} ${new Date(b.setAt).toISOString()}, ${expiry})`;
      if (kind === 'K') {
        const at = b.mask.lastIndexOf('@');
        client.numeric(numeric, 'K', b.mask.slice(at + 1), '*', b.mask.slice(0, at), reason);
      } else client.numeric(numeric, kind, b.mask.replace(/ /g, '\\s'), reason); // a middle parameter has no spaces
    }
  };
}

const REPORTS: Record<string, { what: string; report: Report }> = {
  u: {
    what: 'server uptime',
    report: (server, client) => {
      const s = Math.floor((Date.now() - server.startedAt) / 1000);
      const hms = [Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60].map((n) => String(n).padStart(2, '0'));
      client.numeric(RPL.STATSUPTIME, `Server Up ${Math.floor(s / 86400)} days ${hms.join(':')}`);
    },
  },
  o: {
    // Names and classes only: hosts and fingerprints would tell an attacker where to come from.
    what: 'configured operators',
    report: (server, client) => {
      for (const o of server.config.oper) client.numeric(RPL.STATSOLINE, 'O', '*', '*', o.name, o.class);
    },
  },
  l: {
    what: 'connections and server links: sendq, messages and KiB sent and received, seconds open',
    report: (server, client) => {
      const now = Date.now();
      // One line per connection: each session of a multiclient user has its own.
      for (const c of server.state.clients) {
        for (const { conn } of c.sessions) {
          linkInfo(client, now, `${c.nick}[${c.user || '*'}@${c.realHost}]`, conn, `recvq ${conn.recvqBytes}`);
        }
      }
      for (const l of server.stats.links?.() ?? []) {
        const burst = l.burstSeconds === undefined ? 'bursting' : `burst took ${l.burstSeconds.toFixed(3)}s`;
        linkInfo(client, now, `${l.server}[${l.ip}]`, l, `server link, ${l.outgoing ? 'outgoing' : 'incoming'}, ${burst}`);
      }
    },
  },
  m: {
    what: 'command usage counts',
    report: (server, client) => {
      for (const [command, count] of [...server.router.usage].sort((a, b) => b[1] - a[1]))
        client.numeric(RPL.STATSCOMMANDS, command, String(count), '0', '0');
    },
  },
  k: { what: 'K-Lines (user@host bans)', report: banReport('K', RPL.STATSKLINE) },
  d: { what: 'D-Lines (IP bans)', report: banReport('D', RPL.STATSDLINE) },
  x: { what: 'X-Lines (realname bans)', report: banReport('X', RPL.STATSXLINE) },
  c: {
    // Solanum's C-lines: address, flags (A autoconnect, H hub, P plaintext off loopback allowed), name, port, class; never the passwords.
    what: 'server link blocks ([[link]]): address, flags, name, port, class',
    report: (server, client) => {
      for (const l of server.config.link) {
        const flags = (l.autoconnect ? 'A' : '') + (l.hub ? 'H' : '') + (l.allow_plaintext ? 'P' : '') || '*';
        client.numeric(RPL.STATSCLINE, 'C', l.address, flags, l.name, String(l.port), l.class);
      }
    },
  },
  i: {
    what: 'allow blocks (which hosts get which class)',
    report: (server, client) => {
      for (const a of server.config.allow) client.numeric(RPL.STATSILINE, 'I', a.mask, a.password ? 'password' : '*', a.mask, '0', a.class);
    },
  },
  y: {
    what: 'connection classes: ping interval, max per IP, sendq',
    report: (server, client) => {
      for (const k of server.config.class) client.numeric(RPL.STATSYLINE, 'Y', k.name, String(k.ping_interval), String(k.max_per_ip), String(k.sendq));
    },
  },
  '?': {
    what: 'this list',
    report: (server, client) => {
      const open = server.config.stats.public;
      for (const [letter, r] of Object.entries(REPORTS))
        client.numeric(RPL.STATSHELP, letter, `${r.what}${open.includes(letter) ? '' : ' (operators)'}`);
    },
  },
};

function handleStats(server: Server, client: User, msg: Message): void {
  if (answeredElsewhere(server, client, msg, 1)) return;
  const query = msg.params[0]!;
  const letter = query[0] ?? '';
  const entry = REPORTS[letter];
  if (entry) {
    if (client.oper || server.config.stats.public.includes(letter)) entry.report(server, client);
    else client.numeric(ERR.NOPRIVILEGES, 'Permission Denied - You do not have the required operator privileges');
  }
  client.numeric(RPL.ENDOFSTATS, letter || '*', 'End of /STATS report');
}

function handleLinks(server: Server, client: User, mask: string | undefined): void {
  const visible = server.config.stats.links_public || client.oper !== undefined;
  // Every server of the network, each with its uplink (this one names itself) and its distance.
  for (const s of visible ? server.state.servers.values() : []) {
    if (mask !== undefined && !globMatch(mask.toLowerCase(), s.name.toLowerCase())) continue;
    const description = s === server.state.me ? server.config.server.description : s.description;
    client.numeric(RPL.LINKS, s.name, (s.uplink ?? s).name, `${s.hops} ${description}`);
  }
  client.numeric(RPL.ENDOFLINKS, mask ?? '*', 'End of /LINKS list');
}

/**
 * MAP: the server tree drawn from this server, each server with its SID and its share of the
 * network's users (as Solanum's MAP). Open to whoever may see LINKS.
 */
function handleMap(server: Server, client: User): void {
  if (!server.config.stats.links_public && !client.oper) {
    client.numeric(ERR.NOPRIVILEGES, 'Permission Denied - You do not have the required operator privileges');
    return;
  }
  const state = server.state;
  const users = new Map<ServerEntry, number>();
  const children = new Map<ServerEntry, ServerEntry[]>();
  for (const s of state.servers.values()) if (s.uplink) children.set(s.uplink, [...(children.get(s.uplink) ?? []), s]);
  for (const c of state.clients) {
    if (!c.registered || state.isService(c)) continue;
    const home = state.serverOf(c);
    users.set(home, (users.get(home) ?? 0) + 1);
  }
  const total = Math.max(1, [...users.values()].reduce((a, b) => a + b, 0));
  const draw = (s: ServerEntry, indent: string, last: boolean, root: boolean) => {
    const n = users.get(s) ?? 0;
    const name = `${root ? '' : indent + (last ? '`- ' : '|- ')}${s.name}[${s.sid ?? '-'}]`;
    client.numeric(RPL.MAP, `${name} ${'-'.repeat(Math.max(1, 50 - name.length))} | Users: ${String(n).padStart(6)} (${((100 * n) / total).toFixed(1)}%)`);
    const below = (children.get(s) ?? []).sort((x, y) => x.name.localeCompare(y.name));
    below.forEach((child, i) => draw(child, root ? '' : indent + (last ? '   ' : '|  '), i === below.length - 1, false));
  };
  draw(state.me, '', true, true);
  client.numeric(RPL.MAPEND, 'End of /MAP');
}

export const stats: Module = {
  name: 'stats',
  commands: {
    STATS: {
      minParams: 1,
      handler: handleStats,
      help: ['STATS <letter> [<server>]', 'Shows server statistics; STATS ? lists the letters.'],
    },
    LINKS: {
      // "LINKS [[<remote server>] <server mask>]": the mask is the last parameter.
      handler: (server, client, msg) => {
        if (msg.params.length < 2 || !answeredElsewhere(server, client, msg, 0)) handleLinks(server, client, msg.params[msg.params.length - 1] || undefined);
      },
      help: ['LINKS [[<server>] <mask>]', 'Lists the servers of the network, each with its uplink and its distance in links; given a server, as that server sees them.'],
    },
    MAP: {
      penalty: 2,
      handler: (server, client) => handleMap(server, client),
      help: ['MAP', "Draws the network's server tree from this server, with each server's users."],
    },
  },
};
