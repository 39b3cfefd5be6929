// Commands with a "hunted" server parameter (WHOIS <server> <nick>, MOTD <server>, STATS l
// <server>...): the parameter names a server (a mask: the first server it matches) or a user
// standing for the server it is on. Naming another server passes the command there, over the
// link that set `Server.forwardQuery`; its answer comes back from there.
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md ("hunted server")
import { globMatch } from '../protocol/mask.js';
import type { Message } from '../protocol/message.js';
import { ERR } from '../protocol/numerics.js';
import type { Server } from './server.js';
import type { ServerEntry } from './state.js';
import type { User } from './user.js';

/** The server a hunted parameter names: by name, by mask, or the server of a user; undefined when none. */
export function huntedServer(server: Server, given: string): ServerEntry | undefined {
  const state = server.state;
  const named = state.findServer(given);
  if (named) return named;
  const nick = state.findNick(given);
  if (nick?.registered) return state.serverOf(nick);
  if (!/[*?]/.test(given)) return undefined;
  const mask = given.toLowerCase();
  for (const s of state.servers.values()) if (globMatch(mask, s.name.toLowerCase())) return s;
  return undefined;
}

/**
 * Where a command whose parameter `at` is hunted is answered: 'here' (absent, or this server),
 * 'forwarded' (passed to the server named), or 'unknown' (no such server: the caller answers 402).
 */
export function hunt(server: Server, client: User, msg: Message, at: number): 'here' | 'forwarded' | 'unknown' {
  const given = msg.params[at];
  if (given === undefined || given === '') return 'here';
  const target = huntedServer(server, given);
  if (!target) return 'unknown';
  if (target === server.state.me || !server.forwardQuery) return 'here';
  server.forwardQuery(client, target, msg, at);
  return 'forwarded';
}

/** `hunt`, answering 402 for an unknown server: true when the caller has nothing left to do. */
export function answeredElsewhere(server: Server, client: User, msg: Message, at: number): boolean {
  const where = hunt(server, client, msg, at);
  if (where === 'unknown') client.numeric(ERR.NOSUCHSERVER, msg.params[at]!, 'No such server');
  return where !== 'here';
}
