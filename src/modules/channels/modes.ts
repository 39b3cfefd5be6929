// MODE on a channel: query (324/329), list display (367/368, 348/349, 346/347) and changes,
// announced once per command as one normalised MODE line. In an auditorium (+u) a member given
// voice or more appears (JOIN) to those who could not see it, and one losing it disappears (PART).
// Spec: https://modern.ircdocs.horse/#mode-message · https://modern.ircdocs.horse/#channel-modes
import type { Message } from '../../protocol/message.js';
import { ERR, RPL } from '../../protocol/numerics.js';
import type { Channel, ModeChange } from '../../server/channel.js';
import type { User } from '../../server/user.js';
import { relay } from '../../server/outgoing.js';
import type { Server } from '../../server/server.js';
import { canSeeChannel } from './common.js';
import { sendJoin } from './join.js';
import { withoutLocked } from './mlock.js';
import { applyModeChanges, currentModes, formatModeChanges, parseModeString, type ApplyResult, type ModeError } from './modeparse.js';

/** Entry and end numerics of each list mode. */
const LIST_REPLIES: Record<string, [string, string, string]> = {
  b: [RPL.BANLIST, RPL.ENDOFBANLIST, 'End of channel ban list'],
  e: [RPL.EXCEPTLIST, RPL.ENDOFEXCEPTLIST, 'End of channel exception list'],
  I: [RPL.INVEXLIST, RPL.ENDOFINVEXLIST, 'End of channel invite exception list'],
};

function sendList(client: User, channel: Channel, letter: string): void {
  const [entry, end, text] = LIST_REPLIES[letter]!;
  for (const e of channel.lists.get(letter) ?? []) client.numeric(entry, channel.name, e.mask, e.setBy, String(e.setAt));
  client.numeric(end, channel.name, text);
}

export function handleChannelMode(server: Server, client: User, msg: Message): void {
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
  // The setter's numerics go ahead of the MODE line its change makes.
  applyChannelModes(server, channel, withoutLocked(server, client, channel, msg.params.slice(1)), client, (result) => {
    for (const letter of result.unknown) client.numeric(ERR.UNKNOWNMODE, letter, 'is unknown mode char to me');
    for (const letter of result.listQueries) sendList(client, channel, letter);
    for (const e of result.errors) client.numeric(e.code, ...e.params);
  });
}

/** What a mode change did: the changes applied, the errors, the list queries and the unknown letters. */
export type ModeChangeResult = ApplyResult & { unknown: string[] };

/**
 * Applies a mode string and its arguments ("+o-v", "nick", "nick") to a channel through State,
 * whose event shows the changes made as one MODE line to its members: from a member under the
 * rank rules (MODE), or from the server or a service, which may set every mode (the API,
 * ChanServ). `answer` runs before the MODE line goes out. `origin` names who set list entries and
 * when, for entries that come with their history (a linked server's EBMASK).
 */
export function applyChannelModes(
  server: Server,
  channel: Channel,
  args: readonly string[],
  setter: User | undefined,
  answer?: (result: ModeChangeResult) => void,
  origin?: { setBy: string; setAt: number },
): ModeChangeResult {
  const { changes, unknown } = parseModeString(server.prefixes.modes, args, server.config.limits.modes_per_line);
  // A service (ChanServ) sets modes with the server's authority, under its own name.
  const member = setter && !server.state.isService(setter) ? setter : undefined;
  return server.state.changeChannelModes(channel, setter, (writes) => {
    const result = applyModeChanges(channel, changes, {
      fold: server.state.fold,
      prefixes: server.prefixes,
      // The server holds every prefix: no rank check refuses it.
      setterHeld: member ? (channel.members.get(member) ?? '') : server.prefixes.modes,
      findNick: (nick) => {
        const c = server.state.findNick(nick);
        return c?.registered ? c : undefined;
      },
      writes,
      listLimit: server.config.limits.list_entries,
      setBy: origin?.setBy ?? setter?.mask ?? server.name,
      now: origin?.setAt ?? Math.floor(Date.now() / 1000),
      forwardTarget: (name) => forwardTarget(server, member, channel, name),
    });
    const done = { ...result, unknown };
    answer?.(done);
    return done;
  });
}

/** What one command changed, as one normalised MODE line to every member (State's channelModeChanged). */
export function announceModeChanges(server: Server, channel: Channel, by: User | undefined, changes: readonly ModeChange[]): void {
  const msg = { source: by?.mask ?? server.name, command: 'MODE', params: [channel.name, ...formatModeChanges(changes)] };
  const seen = channel.flags.has('u') ? auditoriumChanges(server, channel, changes) : undefined;
  for (const [subject, viewers] of seen?.appear ?? []) sendJoin(subject, channel, viewers);
  channel.broadcast(relay(by, msg));
  for (const [subject, viewers] of seen?.vanish ?? []) {
    const part = relay(subject, { source: subject.mask, command: 'PART', params: [channel.name] });
    for (const v of viewers) v.sendOutgoing(part);
  }
}

/** +f needs an existing channel where the setter is an operator (the server may name any). */
function forwardTarget(server: Server, setter: User | undefined, channel: Channel, name: string): { name: string } | ModeError {
  const target = server.state.findChannel(name);
  if (!target || (setter && !canSeeChannel(setter, target)))
    return { code: ERR.INVALIDMODEPARAM, params: [channel.name, 'f', name, 'No such channel to forward to'] };
  if (setter && !server.prefixes.holdsRank(target.members.get(setter), 'op'))
    return { code: ERR.CHANOPRIVSNEEDED, params: [target.name, 'You must be a channel operator in the channel you forward to'] };
  return { name: target.name };
}

/**
 * In an auditorium, the members whose prefixes the changes altered and who now show to members
 * that could not see them (appear), or no longer do (vanish), with those members. The prefixes
 * before are the present ones with the changes undone.
 */
function auditoriumChanges(server: Server, channel: Channel, changes: readonly ModeChange[]) {
  const undone = new Map<User, string>();
  for (const c of [...changes].reverse()) {
    const subject = server.prefixes.modes.includes(c.mode) ? server.state.findNick(c.param!) : undefined;
    const held = subject && (undone.get(subject) ?? channel.members.get(subject));
    if (held === undefined || !subject) continue;
    undone.set(subject, c.add ? held.replace(c.mode, '') : held + c.mode);
  }
  const before = (m: User) => undone.get(m) ?? channel.members.get(m);
  const appear = new Map<User, User[]>();
  const vanish = new Map<User, User[]>();
  for (const subject of undone.keys()) {
    const wasShown = !!before(subject);
    const isShown = !!channel.members.get(subject);
    if (wasShown === isShown) continue;
    // Members without a prefix themselves (before and now) are the ones whose view changes.
    const viewers = [...channel.members.keys()].filter((v) => v !== subject && !before(v) && !channel.members.get(v));
    if (viewers.length > 0) (isShown ? appear : vanish).set(subject, viewers);
  }
  return { appear, vanish };
}
