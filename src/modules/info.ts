// Server queries (Modern IRC "Server Queries and Commands"): MOTD, LUSERS, VERSION, TIME, ADMIN,
// INFO, each of this server or, given a server or a nick, of that one (server/hunt.ts); plus the
// small user lookups ISON and USERHOST. USERS is disabled as Modern IRC recommends.
// Spec: https://modern.ircdocs.horse/#server-queries-and-commands
import { ERR, RPL } from '../protocol/numerics.js';
import type { User } from '../server/user.js';
import type { Module } from '../server/module.js';
import { answeredElsewhere } from '../server/hunt.js';
import type { Server } from '../server/server.js';

export function sendLusers(server: Server, client: User): void {
  // Counted from the mode indexes: a registration must not cost a scan of every client.
  const invisible = server.state.withMode('i').size;
  const opers = server.state.withMode('o').size;
  const total = server.state.registeredCount;
  // Services are registered but not users: neither counted nor unknown.
  const unknown = server.state.clients.size - total - server.state.services.size;
  const max = server.state.maxRegistered;
  client.numeric(RPL.LUSERCLIENT, `There are ${total - invisible} users and ${invisible} invisible on ${server.state.servers.size} servers`);
  client.numeric(RPL.LUSEROP, String(opers), 'operator(s) online');
  if (unknown > 0) client.numeric(RPL.LUSERUNKNOWN, String(unknown), 'unknown connection(s)');
  client.numeric(RPL.LUSERCHANNELS, String(server.state.channels.size), 'channels formed');
  // Local: this server's own users; the servers are those linked to this one directly.
  const local = total - server.state.remoteCount;
  let peers = 0;
  for (const s of server.state.servers.values()) if (s.uplink === server.state.me) peers++;
  client.numeric(RPL.LUSERME, `I have ${local} clients and ${peers} servers`);
  client.numeric(RPL.LOCALUSERS, String(local), String(max), `Current local users ${local}, max ${max}`);
  client.numeric(RPL.GLOBALUSERS, String(total), String(max), `Current global users ${total}, max ${max}`);
}

export function sendMotd(server: Server, client: User): void {
  const motd = server.motd;
  if (!motd) {
    client.numeric(ERR.NOMOTD, 'MOTD File is missing');
    return;
  }
  client.numeric(RPL.MOTDSTART, `- ${server.name} Message of the day - `);
  for (const line of motd) client.numeric(RPL.MOTD, `- ${line}`);
  client.numeric(RPL.ENDOFMOTD, 'End of /MOTD command.');
}

export const info: Module = {
  name: 'info',
  commands: {
    MOTD: {
      handler: (server, client, msg) => {
        if (!answeredElsewhere(server, client, msg, 0)) sendMotd(server, client);
      },
      help: ['MOTD [<server>]', 'Shows the message of the day.'],
    },
    LUSERS: {
      // "LUSERS [<mask> [<server>]]": the mask is ignored, as TS6 servers do.
      handler: (server, client, msg) => {
        if (!answeredElsewhere(server, client, msg, 1)) sendLusers(server, client);
      },
      help: ['LUSERS [* <server>]', 'Shows how many users, operators, servers and channels the network has.'],
    },
    VERSION: {
      handler: (server, client, msg) => {
        if (answeredElsewhere(server, client, msg, 0)) return;
        client.numeric(RPL.VERSION, `ircd-${server.version}`, server.name, 'TypeScript IRC server on Node.js');
        server.isupport.send(client);
      },
      help: ['VERSION [<server>]', 'Shows the server software version and its ISUPPORT tokens.'],
    },
    TIME: {
      handler: (server, client, msg) => {
        if (answeredElsewhere(server, client, msg, 0)) return;
        const now = new Date();
        client.numeric(RPL.TIME, server.name, String(Math.floor(now.getTime() / 1000)), '0', now.toUTCString());
      },
      help: ['TIME [<server>]', "Shows the server's local time."],
    },
    ADMIN: {
      handler: (server, client, msg) => {
        if (answeredElsewhere(server, client, msg, 0)) return;
        const a = server.config.server.admin;
        client.numeric(RPL.ADMINME, server.name, 'Administrative info');
        client.numeric(RPL.ADMINLOC1, a.location);
        client.numeric(RPL.ADMINLOC2, a.organisation);
        client.numeric(RPL.ADMINEMAIL, a.email);
      },
      help: ['ADMIN [<server>]', 'Shows who runs this server.'],
    },
    INFO: {
      handler: (server, client, msg) => {
        if (answeredElsewhere(server, client, msg, 0)) return;
        for (const line of [
          `ircd ${server.version}, an IRC server written in TypeScript for Node.js ${process.version}.`,
          'Released under the MIT license.',
          `Up since ${new Date(server.startedAt).toUTCString()}.`,
        ])
          client.numeric(RPL.INFO, line);
        client.numeric(RPL.ENDOFINFO, 'End of INFO list');
      },
      help: ['INFO [<server>]', 'Shows information about the server software.'],
    },
    ISON: {
      internal: true,
      minParams: 1,
      handler: (server, client, msg) => {
        const online = msg.params
          .flatMap((p) => p.split(' '))
          .filter((n) => n && server.state.findNick(n)?.registered)
          .map((n) => server.state.findNick(n)!.nick);
        client.numeric(RPL.ISON, online.join(' '));
      },
      help: ['ISON <nick> [<nick> ...]', 'Shows which of the given nicknames are online.'],
    },
    USERHOST: {
      internal: true,
      minParams: 1,
      handler: (server, client, msg) => {
        const replies: string[] = [];
        for (const nick of msg.params.slice(0, 5)) {
          const c = server.state.findNick(nick);
          if (!c?.registered) continue;
          const host = c === client || server.hasPrivilege(client, 'see_hidden') ? c.realHost : c.host;
          replies.push(`${c.nick}${c.oper ? '*' : ''}=${c.away ? '-' : '+'}${c.user}@${host}`);
        }
        client.numeric(RPL.USERHOST, replies.join(' '));
      },
      help: ['USERHOST <nick> [<nick> ...]', 'Shows user@host of up to five nicknames.'],
    },
    USERS: {
      handler: (_server, client) => client.numeric(ERR.USERSDISABLED, 'USERS has been disabled'),
      help: ['USERS', 'Disabled on this server.'],
    },
  },
};
