// TOPIC, NAMES and LIST (Modern IRC "TOPIC", "NAMES", "LIST"; ISUPPORT ELIST).
// Spec: https://modern.ircdocs.horse/#topic-message · https://modern.ircdocs.horse/#names-message · https://modern.ircdocs.horse/#list-message
import { globMatch } from '../../protocol/mask.js';
import type { Message } from '../../protocol/message.js';
import { ERR, RPL } from '../../protocol/numerics.js';
import { truncateUtf8 } from '../../protocol/text.js';
import type { Channel } from '../../server/channel.js';
import type { User } from '../../server/user.js';
import { newMsgid, relay } from '../../server/outgoing.js';
import type { Server } from '../../server/server.js';
import { canSeeChannel, isHalfopOrAbove, sendNames, sendTopic } from './common.js';

/** ELIST tokens we understand: C (creation time), M (mask), N (negated mask), T (topic time), U (user count). */
export const ELIST = 'CMNTU';

export function handleTopic(server: Server, client: User, msg: Message): void {
  const channel = server.state.findChannel(msg.params[0]!);
  if (!channel || !canSeeChannel(client, channel)) {
    client.numeric(ERR.NOSUCHCHANNEL, msg.params[0]!, 'No such channel');
    return;
  }
  const text = msg.params[1];
  if (text === undefined) {
    sendTopic(client, channel, true);
    return;
  }
  if (!channel.members.has(client)) {
    client.numeric(ERR.NOTONCHANNEL, channel.name, "You're not on that channel");
    return;
  }
  if (channel.flags.has('t') && !isHalfopOrAbove(server, channel, client)) {
    client.numeric(ERR.CHANOPRIVSNEEDED, channel.name, "You're not channel operator");
    return;
  }
  setChannelTopic(server, channel, text, client);
}

/**
 * Sets (or, with "", clears) a channel's topic and shows the TOPIC line to its members, from a
 * member (TOPIC) or from the server (the API). The text is cut to limits.topiclen; returns it.
 */
export function setChannelTopic(server: Server, channel: Channel, text: string, setter: User | undefined): string {
  const topic = truncateUtf8(text, server.config.limits.topiclen);
  const source = setter?.mask ?? server.name;
  server.state.setTopic(channel, topic ? { text: topic, setBy: source, setAt: Math.floor(Date.now() / 1000) } : undefined, setter);
  return topic;
}

/** State's `topicChanged`: members see the new topic (empty when cleared); a user's change goes to history. */
export function announceTopic(server: Server, channel: Channel, by: User | undefined): void {
  // A msgid lets history replay topic changes to clients with draft/event-playback.
  const params = [channel.name, channel.topic?.text ?? ''];
  const out = relay(by, { source: by?.mask ?? server.name, command: 'TOPIC', params }, { msgid: newMsgid() });
  channel.broadcast(out);
  if (by) server.emit('messageRelayed', by, channel, out);
}

export function handleNames(server: Server, client: User, msg: Message): void {
  const names = msg.params[0];
  // Listing every channel at once is optional in Modern IRC and costly; only the end is sent.
  if (!names) {
    client.numeric(RPL.ENDOFNAMES, '*', 'End of /NAMES list');
    return;
  }
  const targets = names.split(',').filter(Boolean);
  // Several channels share one 366 that names them all, as RFC 2812 and Modern IRC show it.
  const single = targets.length === 1;
  for (const name of targets) {
    const channel = server.state.findChannel(name);
    if (channel && canSeeChannel(client, channel)) sendNames(server, client, channel, single);
    else if (single) client.numeric(RPL.ENDOFNAMES, name, 'End of /NAMES list');
  }
  if (!single) client.numeric(RPL.ENDOFNAMES, names, 'End of /NAMES list');
}

/** "C<n" / "T>n": the channel was created (C) or its topic set (T) less / more than n minutes ago. */
interface AgeFilter {
  of: 'C' | 'T';
  newer: boolean;
  seconds: number;
}

interface ListFilter {
  /** Exact channel names asked for (folded); empty means all channels. */
  names: Set<string>;
  masks: string[];
  notMasks: string[];
  moreThan: number;
  lessThan: number;
  ages: AgeFilter[];
}

/** Parses "LIST #a,#b" and the ELIST filters ">n", "<n", "C<n", "T>n", "mask*", "!mask*" (comma-separated). */
function parseListFilter(server: Server, arg: string | undefined): ListFilter {
  const fold = server.state.fold;
  const f: ListFilter = { names: new Set(), masks: [], notMasks: [], moreThan: -1, lessThan: Infinity, ages: [] };
  for (const item of (arg ?? '').split(',')) {
    if (!item) continue;
    const age = /^([CT])([<>])(\d{1,9})$/.exec(item);
    if (age) f.ages.push({ of: age[1] as 'C' | 'T', newer: age[2] === '<', seconds: Number(age[3]) * 60 });
    else if (/^>\d+$/.test(item)) f.moreThan = Math.max(f.moreThan, Number(item.slice(1)));
    else if (/^<\d+$/.test(item)) f.lessThan = Math.min(f.lessThan, Number(item.slice(1)));
    else if (item.startsWith('!')) f.notMasks.push(fold(item.slice(1)));
    else if (/[*?]/.test(item)) f.masks.push(fold(item));
    else f.names.add(fold(item));
  }
  return f;
}

function listMatches(f: ListFilter, channel: Channel, now: number): boolean {
  const n = channel.members.size;
  if (n <= f.moreThan || n >= f.lessThan) return false;
  for (const a of f.ages) {
    const at = a.of === 'C' ? channel.createdAt : channel.topic?.setAt;
    if (at === undefined) return false;
    if (a.newer ? now - at >= a.seconds : now - at <= a.seconds) return false;
  }
  if (f.masks.length && !f.masks.some((m) => globMatch(m, channel.folded))) return false;
  return !f.notMasks.some((m) => globMatch(m, channel.folded));
}

export function handleList(server: Server, client: User, msg: Message): void {
  const filter = parseListFilter(server, msg.params[0]);
  const candidates = filter.names.size
    ? [...filter.names].map((n) => server.state.channels.get(n)).filter((c): c is Channel => c !== undefined)
    : server.state.channels.values();
  const now = Math.floor(Date.now() / 1000);
  client.numeric(RPL.LISTSTART, 'Channel', 'Users  Name');
  for (const channel of candidates) {
    if (!canSeeChannel(client, channel) || !listMatches(filter, channel, now)) continue;
    // A private channel is listed, but only its members see its topic.
    const showTopic = !channel.flags.has('p') || channel.members.has(client);
    client.numeric(RPL.LIST, channel.name, String(channel.members.size), (showTopic && channel.topic?.text) || '');
  }
  client.numeric(RPL.LISTEND, 'End of /LIST');
}
