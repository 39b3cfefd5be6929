// Messages over links with their tags (TS6 capability STAG): a PRIVMSG, NOTICE or TAGMSG crosses
// with its msgid, its server-time and the sender's client-only tags ("+draft/reply", "+typing"),
// so every server shows, stores in chat history and redacts it under the same id and time. Without
// STAG on both sides a line goes without tags, and TAGMSG does not go at all (ts6.md: "no tags
// portion unless both sides of the link have the STAG capability").
// Between this daemon's servers, ENCAP carries what TS6 has no command for: REDACT (a message
// deleted from history everywhere) and REALNAME (SETNAME). Servers that do not know them ignore
// them, as they ignore every unknown ENCAP.
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md ("STAG", "TAGMSG", "ENCAP")
import { isChannelTarget } from '../../protocol/channelname.js';
import type { Tags } from '../../protocol/message.js';
import { truncateUtf8 } from '../../protocol/text.js';
import type { Channel } from '../../server/channel.js';
import type { MultilinePart } from '../../server/module.js';
import type { Outgoing } from '../../server/outgoing.js';
import type { User } from '../../server/user.js';
import { historyStore } from '../history.js';
import { redactStored } from '../redact.js';
import type { Link, Network } from './network.js';

/** The most tags a server line may carry (ts6.md). */
const MAX_TAGS = 30;
/** A msgid as it may be stored and shown: no spaces or tag separators, bounded. */
const MSGID = /^[^\s;,]{1,100}$/;

/** Whether the peer said STAG in its CAPAB. */
export function hasStag(link: Link): boolean {
  return link.caps.has('STAG');
}

/** The tags of a relayed message that go over a link: msgid, time and the client-only tags. */
export function wireTags(out: Outgoing): Tags {
  const tags: Tags = {};
  let n = 0;
  for (const key of out.tagKeys) {
    if ((key === 'msgid' || key === 'time' || key.startsWith('+')) && n++ < MAX_TAGS) tags[key] = out.tags[key]!;
  }
  return tags;
}

/** What a message that arrived over a link keeps of its tags; what is missing or malformed is made anew here. */
export function arrivedTags(tags: Tags | undefined): { msgid?: string; at?: number; clientTags?: Tags } {
  if (!tags) return {};
  const out: { msgid?: string; at?: number; clientTags?: Tags } = {};
  const msgid = tags.msgid;
  if (msgid !== undefined && MSGID.test(msgid)) out.msgid = msgid;
  const at = tags.time === undefined ? NaN : Date.parse(tags.time);
  // A time is kept when it is a real one, not from the future (a clock a little ahead is allowed).
  if (Number.isFinite(at) && at <= Date.now() + 60000) out.at = at;
  let n = 0;
  for (const key in tags) if (key.startsWith('+') && n++ < MAX_TAGS) (out.clientTags ??= {})[key] = tags[key]!;
  return out;
}

/**
 * A PRIVMSG, NOTICE or TAGMSG relayed here goes to the links behind which its recipients are: one
 * link for a user, each link with members for a channel, never back to the link it came from.
 */
export function relayToLinks(net: Network, sender: User, target: Channel | User, out: Outgoing, multiline?: readonly MultilinePart[], held = false): void {
  const command = out.msg.command;
  if (net.links.size === 0 || (command !== 'PRIVMSG' && command !== 'NOTICE' && command !== 'TAGMSG')) return;
  const vias = new Set<Link | undefined>();
  let to: string;
  if ('sessions' in target) {
    vias.add(net.linkOfUser(target));
    to = net.uid(target);
  } else {
    // A message held by +U goes only where operators of the channel are.
    for (const [member, prefixes] of target.members) if (!held || net.server.prefixes.holdsRank(prefixes, 'op')) vias.add(net.linkOfUser(member));
    to = out.msg.params[0]!;
  }
  const tagOnly = command === 'TAGMSG';
  // A multiline message goes as its non-blank lines, as to clients without the capability: the
  // first with the msgid (TS6 has no batches between servers).
  const texts = tagOnly ? [] : multiline ? multiline.map((l) => l.text).filter((t) => t !== '') : [out.msg.params[1] ?? ''];
  let tags: Tags | undefined;
  let laterTags: Tags | undefined;
  for (const via of vias) {
    if (!via || via === net.from || via.phase !== 'up') continue;
    const stag = hasStag(via);
    if (tagOnly) {
      if (stag) net.send(via, { tags: (tags ??= wireTags(out)), source: net.uid(sender), command, params: [to] });
      continue;
    }
    if (stag && !tags) {
      tags = wireTags(out);
      laterTags = { ...tags };
      delete laterTags.msgid;
    }
    texts.forEach((text, i) => net.send(via, { tags: stag ? (i === 0 ? tags : laterTags) : undefined, source: net.uid(sender), command, params: [to, text] }));
  }
}

/** SETNAME here goes to the other servers as ENCAP * REALNAME (applied there by applyEncap). */
export function subscribeRealname(net: Network): void {
  net.server.state.events.on('realnameChanged', ({ client }) => {
    if (client.registered && net.links.size > 0) net.broadcast({ source: net.uid(client), command: 'ENCAP', params: ['*', 'REALNAME', client.realname] });
  });
}

/** A REDACT here (or passed on from a link) goes to the other servers as ENCAP * REDACT: the channel, or the UID of the other user. */
export function redactToLinks(net: Network, by: User, to: Channel | User, msgid: string, reason: string | undefined): void {
  if (net.links.size === 0) return;
  const target = 'sessions' in to ? net.uid(to) : to.name;
  net.broadcast({ source: net.uid(by), command: 'ENCAP', params: ['*', 'REDACT', target, msgid, ...(reason ? [reason] : [])] });
}

/**
 * ENCAP REALNAME and ENCAP REDACT from a user of the link's side: ":<uid> ENCAP * REALNAME
 * :<realname>", ":<uid> ENCAP * REDACT <channel or uid> <msgid> [:<reason>]". The server where the
 * redaction was asked checked that it was allowed; here the message leaves history and the
 * members that understand REDACT see it go. Passed on either way: servers further on may hold it.
 */
export function applyMessageEncap(net: Network, user: User | undefined, p: readonly string[]): void {
  const server = net.server;
  if (!user) return;
  if (p[1] === 'REALNAME' && p[2] !== undefined) return server.state.setRealname(user, truncateUtf8(p[2], server.config.limits.realnamelen));
  if (p[1] !== 'REDACT' || !p[2] || !p[3]) return;
  const [, , target, msgid, reason] = p as [string, string, string, string, string | undefined];
  const store = historyStore(server);
  let to: Channel | User | undefined;
  let conv: object | undefined;
  let recipients: User[];
  if (isChannelTarget(target, server.config.channels.types)) {
    to = server.state.findChannel(target);
    if (!to) return;
    conv = store?.ofChannel(to);
    recipients = [...to.members.keys()];
  } else {
    to = net.byUid.get(target);
    if (!to) return;
    conv = store?.directWith(to, user.nick);
    recipients = [to];
  }
  const shown = 'sessions' in to ? to.nick : to.name;
  if (!conv || !redactStored(server, user, to, conv, msgid, shown, recipients, reason || undefined)) server.emit('messageRedacted', user, to, msgid, reason || undefined);
}
