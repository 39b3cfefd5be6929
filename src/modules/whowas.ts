// WHOWAS (Modern IRC): a bounded nick history, recorded when a user quits or changes nick.
// The history is an LRU of casefolded nick → entries (newest first); [limits].whowas bounds the
// total number of entries, and one nick keeps at most PER_NICK of them.
// Spec: https://modern.ircdocs.horse/#whowas-message
import { LRUCache } from 'lru-cache';
import { ERR, RPL } from '../protocol/numerics.js';
import type { User } from '../server/user.js';
import type { Module } from '../server/module.js';
import type { Server } from '../server/server.js';
import type { ServerEntry } from '../server/state.js';
import { serverSlot } from '../server/slots.js';

interface WhowasEntry {
  nick: string;
  user: string;
  host: string;
  realHost: string;
  ip: string;
  realname: string;
  account: string | undefined;
  leftAt: number;
  /** The server the user was on (another server's, for a user of a linked server). */
  server: string;
}

/** One reused nick must not push every other nick out of the history. */
const PER_NICK = 10;

type History = LRUCache<string, WhowasEntry[]>;

const histories = serverSlot<History>('whowas');

function newHistory(size: number): History | undefined {
  if (size <= 0) return undefined;
  return new LRUCache<string, WhowasEntry[]>({ maxSize: size, sizeCalculation: (entries) => entries.length });
}

function historyOf(server: Server): History | undefined {
  let history = histories.get(server);
  if (!history && (history = newHistory(server.config.limits.whowas))) histories.set(server, history);
  return history;
}

function record(server: Server, client: User, nick: string, home: ServerEntry): void {
  const history = historyOf(server);
  if (!history) return;
  const key = server.state.fold(nick);
  const entry: WhowasEntry = {
    nick,
    user: client.user,
    host: client.host,
    realHost: client.realHost,
    ip: client.ip,
    realname: client.realname,
    account: client.account,
    leftAt: Date.now(),
    server: home.name,
  };
  const limit = Math.min(PER_NICK, server.config.limits.whowas);
  const entries = [entry, ...(history.get(key) ?? [])].slice(0, limit);
  history.set(key, entries);
}

function sendEntry(server: Server, client: User, e: WhowasEntry): void {
  client.numeric(RPL.WHOWASUSER, e.nick, e.user, e.host, '*', e.realname);
  if (server.hasPrivilege(client, 'see_hidden'))
    client.numeric(RPL.WHOISACTUALLY, e.nick, `${e.user}@${e.realHost}`, e.ip, 'Actual user@host, Actual IP');
  if (e.account) client.numeric(RPL.WHOISACCOUNT, e.nick, e.account, 'was logged in as');
  client.numeric(RPL.WHOISSERVER, e.nick, e.server, new Date(e.leftAt).toUTCString());
}

export const whowas: Module = {
  name: 'whowas',
  commands: {
    WHOWAS: {
      targets: { limit: 'limited' },
      handler: (server, client, msg) => {
        const nicks = (msg.params[0] ?? '').split(',').filter(Boolean);
        if (nicks.length === 0) {
          client.numeric(ERR.NONICKNAMEGIVEN, 'No nickname given');
          return;
        }
        // A missing or non-positive count means every entry (Modern IRC).
        const count = Number.parseInt(msg.params[1] ?? '', 10);
        const max = Number.isFinite(count) && count > 0 ? count : Infinity;
        for (const nick of nicks) {
          const entries = historyOf(server)?.get(server.state.fold(nick)) ?? [];
          if (entries.length === 0) client.numeric(ERR.WASNOSUCHNICK, nick, 'There was no such nickname');
          for (const e of entries.slice(0, max)) sendEntry(server, client, e);
          client.numeric(RPL.ENDOFWHOWAS, nick, 'End of WHOWAS');
        }
      },
      help: ['WHOWAS <nick>[,<nick>...] [<count>]', 'Shows who recently used a nickname, newest first, up to <count> entries.'],
    },
  },
  init(server) {
    // Users of linked servers too, when they quit, are killed or leave with a netsplit.
    server.state.events.on('userQuit', ({ client, home }) => record(server, client, client.nick, home));
    server.state.events.on('nickChanged', ({ client, oldNick }) => {
      if (client.registered) record(server, client, oldNick, server.state.serverOf(client));
    });
  },
  hooks: {
    rehashed: (server, old) => {
      const size = server.config.limits.whowas;
      if (size === old.limits.whowas) return;
      const before = histories.delete(server);
      const after = newHistory(size);
      if (!after) return;
      // Oldest first, so the most recently used nicks survive a smaller history.
      if (before) for (const [key, entries] of [...before.entries()].reverse()) after.set(key, entries.slice(0, Math.min(PER_NICK, size)));
      histories.set(server, after);
    },
  },
};
