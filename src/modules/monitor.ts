// IRCv3 MONITOR (online/offline notifications for a bounded list of nicks) and extended-monitor
// (watchers also get AWAY, ACCOUNT, CHGHOST and SETNAME of monitored nicks when they hold the cap
// for that notification, see server/interested.ts). The reverse index from casefolded nick to
// watchers lives in State and keeps every notification O(watchers of that nick).
// Spec: https://ircv3.net/specs/extensions/monitor · https://ircv3.net/specs/extensions/extended-monitor
import { ERR, RPL } from '../protocol/numerics.js';
import type { User } from '../server/user.js';
import { bySubcommand, type Module } from '../server/module.js';
import type { Server } from '../server/server.js';
import { userSlot } from '../server/slots.js';
import { sendListNumeric } from './queries.js';
import { validNick } from '../protocol/nick.js';

/** A client's own list: casefolded nick → the nick as the client wrote it (shown by MONITOR L). */
const lists = userSlot<Map<string, string>>();

function listOf(client: User): Map<string, string> | undefined {
  return lists.get(client);
}

/** 730 for online nicks (with their mask), 731 for offline ones. */
function sendStatus(server: Server, client: User, nicks: Iterable<string>): void {
  const online: string[] = [];
  const offline: string[] = [];
  for (const nick of nicks) {
    const target = server.state.findNick(nick);
    if (target?.registered) online.push(target.mask);
    else offline.push(nick);
  }
  sendListNumeric(server, client, RPL.MONONLINE, [], online, ',');
  sendListNumeric(server, client, RPL.MONOFFLINE, [], offline, ',');
}

function add(server: Server, client: User, targets: string[]): void {
  const limit = server.config.limits.monitor;
  let list = listOf(client);
  const added: string[] = [];
  for (let i = 0; i < targets.length; i++) {
    const nick = targets[i]!;
    if (!validNick(nick, server.config.limits.nicklen)) {
      client.numeric(ERR.ERRONEUSNICKNAME, nick, 'Erroneous nickname');
      continue;
    }
    const key = server.state.fold(nick);
    if (list?.has(key)) continue;
    if ((list?.size ?? 0) >= limit) {
      client.numeric(ERR.MONLISTFULL, String(limit), targets.slice(i).join(','), 'Monitor list is full.');
      break;
    }
    if (!list) lists.set(client, (list = new Map()));
    list.set(key, nick);
    server.state.watch(key, client);
    added.push(nick);
  }
  sendStatus(server, client, added);
}

function remove(server: Server, client: User, keys: Iterable<string>): void {
  const list = listOf(client);
  if (!list) return;
  for (const key of keys) if (list.delete(key)) server.state.unwatch(key, client);
  if (list.size === 0) lists.delete(client);
}

function clear(server: Server, client: User): void {
  const list = listOf(client);
  if (list) remove(server, client, [...list.keys()]);
}

/** Tells the watchers of `nick` that it came online (730 with the mask) or went offline (731). */
function announce(server: Server, nick: string, online: User | undefined): void {
  for (const watcher of server.state.watchersOf(nick)) {
    if (online) watcher.numeric(RPL.MONONLINE, online.mask);
    else watcher.numeric(RPL.MONOFFLINE, nick);
  }
}

export const monitor: Module = {
  name: 'monitor',
  commands: {
    MONITOR: {
      minParams: bySubcommand(0, { '+': 2, '-': 2 }, 1),
      emptyIsMissing: true,
      handler: (server, client, msg) => {
        const targets = (msg.params[1] ?? '').split(',').filter(Boolean);
        switch (msg.params[0]) {
          case '+':
            add(server, client, targets);
            return;
          case '-':
            remove(server, client, targets.map((t) => server.state.fold(t)));
            return;
          case 'C':
          case 'c':
            clear(server, client);
            return;
          case 'L':
          case 'l':
            sendListNumeric(server, client, RPL.MONLIST, [], [...(listOf(client)?.values() ?? [])], ',');
            client.numeric(RPL.ENDOFMONLIST, 'End of MONITOR list');
            return;
          case 'S':
          case 's':
            sendStatus(server, client, listOf(client)?.values() ?? []);
            return;
          default:
            client.numeric(ERR.UNKNOWNCOMMAND, 'MONITOR', `Unknown MONITOR subcommand ${msg.params[0]!}, use + - C L or S`);
        }
      },
      help: [
        'MONITOR + <nick>[,<nick>...] | - <nick>[,<nick>...] | C | L | S',
        'Watches nicknames: you are told when they come online or go offline.',
        '+ adds, - removes, C clears your list, L lists it, S shows who is online.',
      ],
    },
  },
  caps: [{ name: 'extended-monitor' }],
  isupport: (cfg) => ({ MONITOR: cfg.limits.monitor }),
  init(server) {
    const events = server.state.events;
    events.on('userIntroduced', ({ client }) => announce(server, client.nick, client));
    events.on('userQuit', ({ client }) => {
      clear(server, client);
      announce(server, client.nick, undefined);
    });
    events.on('nickChanged', ({ client, oldNick }) => {
      // Watchers hear of users only; a change of case only is the same nick for MONITOR.
      if (!client.registered || server.state.fold(oldNick) === client.nickKey) return;
      announce(server, oldNick, undefined);
      announce(server, client.nick, client);
    });
  },
};
