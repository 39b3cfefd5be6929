// MODE on a channel: query (324/329), list display (367/368, 348/349, 346/347) and changes,
// broadcast once per command as one normalised MODE line. In an auditorium (+u) a member given
// voice or more appears (JOIN) to those who could not see it, and one losing it disappears (PART).
import type { Message } from '../../protocol/message.js';
import { ERR, RPL } from '../../protocol/numerics.js';
import type { Channel } from '../../server/channel.js';
import type { Client } from '../../server/client.js';
import { relay } from '../../server/outgoing.js';
import type { Server } from '../../server/server.js';
import { canSeeChannel } from './common.js';
import { sendJoin } from './join.js';
import { applyModeChanges, currentModes, formatModeChanges, parseModeString, type ModeError } from './modeparse.js';

/** Entry and end numerics of each list mode. */
const LIST_REPLIES: Record<string, [string, string, string]> = {
  b: [RPL.BANLIST, RPL.ENDOFBANLIST, 'End of channel ban list'],
  e: [RPL.EXCEPTLIST, RPL.ENDOFEXCEPTLIST, 'End of channel exception list'],
  I: [RPL.INVEXLIST, RPL.ENDOFINVEXLIST, 'End of channel invite exception list'],
};

function sendList(client: Client, channel: Channel, letter: string): void {
  const [entry, end, text] = LIST_REPLIES[letter]!;
  for (const e of channel.lists.get(letter) ?? []) client.numeric(entry, channel.name, e.mask, e.setBy, String(e.setAt));
  client.numeric(end, channel.name, text);
}

export function handleChannelMode(server: Server, client: Client, msg: Message): void {
  const channel = server.state.findChannel(msg.params[0]!);
  if (!channel || !canSeeChannel(client, channel)) {
    client.numeric(ERR.NOSUCHCHANNEL, msg.params[0]!, 'No such channel');
    return;
  }
  const member = channel.members.get(client);
  if (msg.params.length < 2) {
    client.numeric(RPL.CHANNELMODEIS, channel.name, ...currentModes(channel, member !== undefined));
    client.numeric(RPL.CREATIONTIME, channel.name, String(channel.createdAt));
    return;
  }
  const { changes, unknown } = parseModeString(server.prefixes.modes, msg.params.slice(1), server.config.limits.modes_per_line);
  for (const letter of unknown) client.numeric(ERR.UNKNOWNMODE, letter, 'is unknown mode char to me');
  // Who could see whom before, for an auditorium's prefix changes.
  const before = channel.flags.has('u') ? new Map(channel.members) : undefined;
  const result = applyModeChanges(channel, changes, {
    fold: server.state.fold,
    prefixes: server.prefixes,
    setterHeld: member ?? '',
    findNick: (nick) => {
      const c = server.state.findNick(nick);
      return c?.registered ? c : undefined;
    },
    state: server.state,
    listLimit: server.config.limits.list_entries,
    setBy: client.mask,
    now: Math.floor(Date.now() / 1000),
    forwardTarget: (name) => forwardTarget(server, client, channel, name),
  });
  for (const letter of result.listQueries) sendList(client, channel, letter);
  for (const e of result.errors) client.numeric(e.code, ...e.params);
  if (result.applied.length === 0) return;
  const params = [channel.name, ...formatModeChanges(result.applied)];
  const seen = before && auditoriumChanges(server, channel, before, result.applied);
  for (const [subject, viewers] of seen?.appear ?? []) sendJoin(subject, channel, viewers);
  channel.broadcast(relay(client, { source: client.mask, command: 'MODE', params }));
  for (const [subject, viewers] of seen?.vanish ?? []) {
    const part = relay(subject, { source: subject.mask, command: 'PART', params: [channel.name] });
    for (const v of viewers) v.sendOutgoing(part);
  }
}

/** +f needs an existing channel where the setter is an operator. */
function forwardTarget(server: Server, client: Client, channel: Channel, name: string): { name: string } | ModeError {
  const target = server.state.findChannel(name);
  if (!target || !canSeeChannel(client, target))
    return { code: ERR.INVALIDMODEPARAM, params: [channel.name, 'f', name, 'No such channel to forward to'] };
  if (!server.prefixes.holdsRank(target.members.get(client), 'op'))
    return { code: ERR.CHANOPRIVSNEEDED, params: [target.name, 'You must be a channel operator in the channel you forward to'] };
  return { name: target.name };
}

/**
 * In an auditorium, the members whose prefixes changed and who now show to members that could
 * not see them (appear), or no longer do (vanish), with those members.
 */
function auditoriumChanges(server: Server, channel: Channel, before: ReadonlyMap<Client, string>, applied: ReadonlyArray<{ mode: string; param?: string }>) {
  const appear = new Map<Client, Client[]>();
  const vanish = new Map<Client, Client[]>();
  const subjects = new Set<Client>();
  for (const c of applied) {
    const subject = server.prefixes.modes.includes(c.mode) ? server.state.findNick(c.param!) : undefined;
    if (subject && channel.members.has(subject)) subjects.add(subject);
  }
  for (const subject of subjects) {
    const wasShown = !!before.get(subject);
    const isShown = !!channel.members.get(subject);
    if (wasShown === isShown) continue;
    // Members without a prefix themselves (before and now) are the ones whose view changes.
    const viewers = [...channel.members.keys()].filter((v) => v !== subject && !before.get(v) && !channel.members.get(v));
    if (viewers.length > 0) (isShown ? appear : vanish).set(subject, viewers);
  }
  return { appear, vanish };
}
