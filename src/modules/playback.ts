// znc.in/playback, for clients of the bouncer era (they attach to an always-on user the way they
// attached to ZNC): `PRIVMSG *playback :PLAY <buffers> [<from> [<to>]]` replays the stored
// messages of the channels and conversations matching <buffers> (comma-separated globs, "*" for
// all) between two Unix times in seconds, with server-time; `LIST` names the buffers with
// messages. Answers come as PRIVMSG from *playback. It reads chat history, so it is offered
// while history is on.
// Spec: https://wiki.znc.in/Playback (the module and its capability)
import { globMatch } from '../protocol/mask.js';
import type { User } from '../server/user.js';
import type { Module } from '../server/module.js';
import type { Server } from '../server/server.js';
import { sendStored, storedFor } from './alwayson/replay.js';
import { historyStore } from './history.js';
import type { HistoryQuery } from './history/query.js';
import { addPseudoTarget } from './messaging.js';

const NICK = '*playback';
const SOURCE = '*playback!znc@znc.in';

function answer(client: User, text: string): void {
  client.send({ source: SOURCE, command: 'PRIVMSG', params: [client.nick, text] });
}

/** A time given in Unix seconds (a fraction allowed) as ms, or undefined when it is not one. */
export function playbackTime(text: string): number | undefined {
  if (!/^\d{1,12}(\.\d{1,9})?$/.test(text)) return undefined;
  return Math.round(Number(text) * 1000);
}

function play(server: Server, client: User, params: string[]): void {
  const [buffers, fromText = '0', toText] = params;
  if (!buffers) return answer(client, 'Usage: PLAY <buffer[,buffer...]|*> [<from> [<to>]] (Unix times in seconds)');
  const from = playbackTime(fromText);
  const to = toText === undefined ? undefined : playbackTime(toText);
  if (from === undefined || (toText !== undefined && to === undefined)) return answer(client, 'Times are Unix timestamps in seconds, such as 1700000000.5');
  const globs = buffers.split(',').filter(Boolean).map((b) => server.state.fold(b));
  const limit = server.config.history.query_limit;
  // The newest `limit` of each buffer in the window, oldest first.
  const query: HistoryQuery =
    to === undefined ? { kind: 'LATEST', after: { at: from }, limit } : { kind: 'BETWEEN', from: { at: to }, to: { at: from }, limit };
  for (const item of storedFor(server, client, (name) => globs.some((g) => globMatch(g, name)), query)) sendStored(server, client, item);
}

function list(server: Server, client: User): void {
  const store = historyStore(server)!;
  const found = store.directTargets(client);
  for (const channel of server.state.channelsOf(client)) {
    const conv = store.ofChannel(channel);
    const at = conv && store.latestAt(conv);
    if (at !== undefined) found.push({ name: channel.name, at });
  }
  for (const t of found.sort((a, b) => a.at - b.at)) answer(client, `${t.name} ${(t.at / 1000).toFixed(3)}`);
}

function command(server: Server, client: User, text: string): void {
  if (!historyStore(server)) return answer(client, 'Chat history is disabled on this server');
  const [name = '', ...params] = text.trim().split(/\s+/);
  switch (name.toUpperCase()) {
    case 'PLAY':
      return play(server, client, params);
    case 'LIST':
      return list(server, client);
    default:
      return answer(client, 'Commands: PLAY <buffer[,buffer...]|*> [<from> [<to>]], LIST');
  }
}

export const playback: Module = {
  name: 'playback',
  caps: [{ name: 'znc.in/playback', offered: (server) => server.config.history.enabled }],
  init(server) {
    addPseudoTarget(server, NICK, (client, text) => {
      // A client makes several requests at once on connect (one per buffer): each costs a little.
      client.session.conn.charge(1);
      command(server, client, text);
    });
  },
};
