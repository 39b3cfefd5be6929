// What a connection attaching to an always-on user missed while the user had none: clients with
// draft/chathistory or znc.in/playback ask for it themselves; any other gets the newest
// [always_on] replay_lines messages of each channel and direct conversation since the user's last
// connection closed, as the lines were sent (with server-time when the client has it, else with
// the time in front of the text).
// Spec: https://ircv3.net/specs/extensions/server-time (the replayed lines' time tag)
import { truncateUtf8 } from '../../protocol/text.js';
import { CAP } from '../../server/caps.js';
import type { Server } from '../../server/server.js';
import type { User } from '../../server/user.js';
import type { Commands } from '../../store/history.js';
import { historyStore } from '../history.js';
import type { HistoryQuery } from '../history/query.js';
import type { HistoryItem } from '../history/store.js';

/** Only what was said is replayed (not TAGMSG or TOPIC, which the channel burst shows). */
const SAID: Commands = ['PRIVMSG', 'NOTICE', 'PRIVMSG', 'NOTICE'];

/** "[HH:MM:SS]" in UTC, with the date in front when it is not today's. */
export function stamp(at: number, now = Date.now()): string {
  const iso = new Date(at).toISOString();
  const time = iso.slice(11, 19);
  return iso.slice(0, 10) === new Date(now).toISOString().slice(0, 10) ? `[${time}]` : `[${iso.slice(0, 10)} ${time}]`;
}

/**
 * Sends one stored PRIVMSG or NOTICE to the acting session: as relayed, with its tags (time,
 * msgid, account) as the session's capabilities allow; without server-time, the time goes in
 * front of the text (cut so the line still fits).
 */
export function sendStored(server: Server, user: User, item: HistoryItem): void {
  const msg = item.msg;
  if (user.hasCap(CAP['server-time'])) return user.send({ ...msg, tags: item.tags });
  const [target = '', text = ''] = msg.params;
  const source = msg.source ?? server.name;
  const overhead = Buffer.byteLength(source) + Buffer.byteLength(target) + msg.command.length + 7;
  user.send({ source, command: msg.command, params: [target, truncateUtf8(`${stamp(item.at)} ${text}`, server.config.limits.line_length - overhead)] });
}

/**
 * The stored messages that `query` selects in each of the user's channels and direct
 * conversations whose casefolded name `wanted` accepts, oldest first per conversation.
 */
export function storedFor(server: Server, user: User, wanted: (folded: string) => boolean, query: HistoryQuery): HistoryItem[] {
  const store = historyStore(server);
  if (!store) return [];
  const items: HistoryItem[] = [];
  for (const channel of server.state.channelsOf(user)) {
    if (!wanted(channel.folded)) continue;
    const conv = store.ofChannel(channel);
    if (conv) items.push(...store.select(conv, query, SAID));
  }
  for (const { name } of store.directTargets(user)) {
    if (!wanted(server.state.fold(name))) continue;
    const conv = store.directWith(user, name);
    if (conv) items.push(...store.select(conv, query, SAID));
  }
  return items;
}

/** Replays to the acting session what the user missed since `since`, unless the session asks for it itself. */
export function replayMissed(server: Server, user: User, since: number): void {
  const limit = server.config.always_on.replay_lines;
  if (limit === 0 || user.hasCap(CAP['draft/chathistory']) || user.hasCap(CAP['znc.in/playback'])) return;
  const items = storedFor(server, user, () => true, { kind: 'LATEST', after: { at: since }, limit });
  if (items.length === 0) return;
  user.fromServer('NOTICE', [user.nick, `Replaying ${items.length} message${items.length === 1 ? '' : 's'} you missed since ${new Date(since).toISOString()}`]);
  for (const item of items) sendStored(server, user, item);
  user.fromServer('NOTICE', [user.nick, 'End of missed messages']);
}
