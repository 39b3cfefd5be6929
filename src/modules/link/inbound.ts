// What a linked server tells us, applied to State: servers (SID, SQUIT), users (EUID, UID, NICK,
// SAVE, QUIT, KILL, AWAY, MODE, CHGHOST), channels (SJOIN, BMASK, EBMASK, JOIN, PART, KICK, TMODE,
// TOPIC, TB; INVITE is invites.ts's) and messages (PRIVMSG, NOTICE, TAGMSG), after dialect.ts put them in our terms; ENCAP
// and MLOCK are services.ts's. Local clients see each change through State's events, as they see
// a local user's; the link module's subscribers pass it on to the other links.
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md
import { isChannelTarget, validChannelName } from '../../protocol/channelname.js';
import { globMatch } from '../../protocol/mask.js';
import type { Message, Tags } from '../../protocol/message.js';
import type { Channel } from '../../server/channel.js';
import { relay, newMsgid } from '../../server/outgoing.js';
import type { ServerEntry } from '../../server/state.js';
import type { User } from '../../server/user.js';
import { setChannelTopic } from '../channels/info.js';
import { applyChannelModes } from '../channels/modes.js';
import { LIST_MODES } from '../channels/modeparse.js';
import { sendResolved, splitStatusPrefix, type MessageTarget } from '../messaging.js';
import { burstDone } from './events.js';
import { validNick } from '../registration.js';
import { arrivedTags } from './tags.js';
import { malformed } from './wellformed.js';
import { handleSave, killBack, resolveCollision } from './collisions.js';
import { applyInvite } from './invites.js';
import { handleEbmask } from './lists.js';
import { channelTs, MAX_REMOTE_SERVERS, MAX_REMOTE_USERS, SID_RE, UID_RE, userIds } from './ids.js';
import type { Link, Network } from './network.js';
import { applyOpsLine, applyUserPing, routeUserPong } from './remote.js';
import { applyEncap, applyMlock, clashesWithOwnService, isServicesServer, serverMessage } from './services.js';

/** Applies one line from a link that is up. Lines naming unknown users or channels are dropped (they crossed a change). */
export function applyLine(net: Network, link: Link, msg: Message): void {
  const p = msg.params;
  const server = net.server;
  const state = server.state;
  const user = msg.source ? net.byUid.get(msg.source) : undefined;
  // A line comes from the direction of its source, a user or a server behind the link: anything
  // else (ours, another link's, one unknown here) crossed a change, or is a forgery.
  if (msg.source !== undefined && !(user ? net.linkOfUser(user) === link : net.linkToward(net.bySid.get(msg.source)) === link))
    return ignored(net, link, msg, user || net.bySid.has(msg.source) ? 'its source is not behind this link' : 'its source is unknown (gone, or never introduced)');
  const why = malformed(msg);
  if (why) return ignored(net, link, msg, why);
  switch (msg.command) {
    case 'PING':
      // A user's PING names a server (link/remote.ts); a server's is answered by this server.
      if (user) return applyUserPing(net, link, msg, user);
      return net.send(link, { source: net.sid, command: 'PONG', params: [server.name, msg.source ?? p[0] ?? ''] });
    case 'PONG':
      if (UID_RE.test(p[1] ?? '')) return routeUserPong(net, link, msg);
      if (link.bursting && msg.source === link.theirSid) burstDone(net, link);
      return;
    case 'ERROR':
      server.log.warn({ link: link.name, error: p[0] }, 'server link error from peer');
      return;
    case 'SID':
      return introduceServer(net, link, msg);
    case 'SQUIT': {
      const gone = net.bySid.get(p[0] ?? '') ?? state.findServer(p[0] ?? '');
      // Of this server or of the peer itself: the link ends (the split follows its close).
      if (!gone || gone === state.me || gone === link.peer) return net.drop(link, p[1] ?? 'SQUIT');
      if (net.linkToward(gone) !== link) return;
      return net.split(gone, `${gone.uplink?.name ?? server.name} ${gone.name}`);
    }
    case 'EUID':
      return introduceUser(net, link, msg);
    case 'UID':
      // UID nick hops ts umodes user host ip uid :realname: an EUID without real host and account (ENCAP REALHOST and LOGIN follow).
      if (p.length < 9) return;
      return introduceUser(net, link, { ...msg, params: [...p.slice(0, 8), '*', '*', p[8]!] });
    case 'SAVE':
      return handleSave(net, msg);
    case 'NICK': {
      if (!user || p.length < 1) return;
      // A saved user's nick is its UID (SAVE), which no client could choose.
      if (p[0] !== msg.source && !validNick(server.config, p[0]!)) return killBack(net, link, net.uid(user), 'Bad nickname', user);
      const ts = Number(p[1]) || Math.floor(Date.now() / 1000);
      const got = resolveCollision(net, link, p[0]!, ts, net.uid(user), net.ids(user).home!, user);
      if (!got) return;
      userIds.get(user)!.ts = got.ts;
      state.setNick(user, got.nick);
      return;
    }
    case 'QUIT':
      if (user) state.removeClient(user, p[0] ?? '');
      return;
    case 'KILL': {
      const victim = net.byUid.get(p[0] ?? '');
      if (!victim) return;
      // "<path> (<reason>)": the path names the killer (its last "!" part), the reason is in parentheses.
      const m = /^(\S+) \((.*)\)$/s.exec(p[1] ?? '');
      const reason = m ? m[2]! : p[1] || 'Killed';
      const by = user?.nick ?? m?.[1]!.split('!').pop() ?? net.bySid.get(msg.source ?? '')?.name ?? link.name!;
      victim.send({ source: user?.mask ?? by, command: 'KILL', params: [victim.nick, `${by} (${reason})`] });
      server.disconnect(victim, { kind: 'kill', text: `Killed (${by} (${reason}))` });
      return;
    }
    case 'AWAY':
      if (user) state.setAway(user, p[0] || undefined);
      return;
    case 'MODE':
      // User modes: ":<uid> MODE <uid> :+iw".
      if (user && p[0] === msg.source && p[1]) applyUserModes(net, user, p[1]);
      return;
    case 'CHGHOST': {
      const target = net.byUid.get(p[0] ?? '');
      if (target && p[1]) state.setHost(target, p[1]);
      return;
    }
    case 'SJOIN':
      return sjoin(net, link, msg);
    case 'JOIN': {
      // ":<uid> JOIN <ts> <channel> +"
      if (!user || p.length < 2) return;
      joinRemote(net, user, p[1]!, Number(p[0]));
      return;
    }
    case 'PART': {
      const channel = state.findChannel(p[0] ?? '');
      if (user && channel?.members.has(user)) state.part(channel, user, p[1]);
      return;
    }
    case 'KICK': {
      const channel = state.findChannel(p[0] ?? '');
      const target = net.byUid.get(p[1] ?? '');
      if (channel && target && channel.members.has(target)) state.kick(channel, target, user, p[2] ?? target.nick);
      return;
    }
    case 'TMODE': {
      // ":<source> TMODE <ts> <channel> <modes> [args]": dropped when the channel is younger here.
      const channel = state.findChannel(p[1] ?? '');
      if (!channel || !(Number(p[0]) <= net.channelTs(channel)) || !p[2]) return;
      applyChannelModes(server, channel, modeArgsToNicks(net, p.slice(2)), user);
      return;
    }
    case 'TOPIC': {
      const channel = state.findChannel(p[0] ?? '');
      if (user && channel) setChannelTopic(server, channel, p[1] ?? '', user);
      return;
    }
    case 'TB': {
      // ":<sid> TB <channel> <topicTS> [<setter>] :<topic>": kept when we have none or an older one.
      const channel = state.findChannel(p[0] ?? '');
      if (!channel || p.length < 3) return;
      const setAt = Number(p[1]);
      const text = p[p.length - 1]!;
      const setBy = p.length >= 4 ? p[2]! : (net.bySid.get(msg.source ?? '')?.name ?? link.name!);
      if (channel.topic && channel.topic.setAt <= setAt) return;
      if (text) state.setTopic(channel, { text, setBy, setAt });
      return;
    }
    case 'BMASK': {
      // ":<sid> BMASK <ts> <channel> <letter> :<masks>": list entries of the burst, kept unless our channel is older.
      const channel = state.findChannel(p[1] ?? '');
      const letter = p[2] ?? '';
      if (!channel || !(Number(p[0]) <= net.channelTs(channel)) || letter.length !== 1 || !LIST_MODES.includes(letter)) return;
      const masks = (p[3] ?? '').split(' ').filter(Boolean);
      const perLine = server.config.limits.modes_per_line;
      for (let i = 0; i < masks.length; i += perLine) {
        const some = masks.slice(i, i + perLine);
        applyChannelModes(server, channel, ['+' + letter.repeat(some.length), ...some], undefined);
      }
      return;
    }
    case 'EBMASK':
      return handleEbmask(net, msg);
    case 'PRIVMSG':
    case 'NOTICE':
      if (user && p.length >= 2) relayMessage(net, user, msg.command, p[0]!, p[1]!, msg.tags);
      else if (!user) serverMessage(net, link, msg);
      return;
    case 'TAGMSG':
      if (user && p.length >= 1) relayMessage(net, user, msg.command, p[0]!, '', msg.tags);
      return;
    case 'INVITE':
      return applyInvite(net, link, msg, user);
    case 'ENCAP':
      return applyEncap(net, link, msg);
    case 'MLOCK':
      return applyMlock(net, link, msg);
    default:
      // Queries and replies across the network, and what is not known: ignored, as TS6 servers ignore unknown commands.
      return applyOpsLine(net, link, msg, user);
  }
}

/** A line not applied is logged (the first, then at each power of two: a bound on a peer's flood of them). */
function ignored(net: Network, link: Link, msg: Message, why: string): void {
  const count = ++link.ignored;
  if ((count & (count - 1)) === 0) net.server.log.warn({ link: link.name, command: msg.command, why, ignored: count }, 'server link line ignored');
}

function introduceServer(net: Network, link: Link, msg: Message): void {
  const [name, , sid, description] = msg.params;
  const uplink = net.bySid.get(msg.source ?? '');
  const state = net.server.state;
  if (!name || !sid || !uplink || !SID_RE.test(sid) || net.linkToward(uplink) !== link) return;
  if (!link.cfg!.hub) return net.refuse(link, `${link.name} is a leaf and may not introduce ${name}`);
  // Every server behind the link, however far, must match the block's hub_mask (as Solanum's).
  const masks = link.cfg!.hub_mask ?? ['*'];
  if (!masks.some((m) => globMatch(m.toLowerCase(), name.toLowerCase())))
    return net.refuse(link, `${link.name} may not introduce ${name}: it matches no hub_mask of its [[link]] block`);
  if (state.findServer(name) || net.bySid.has(sid) || sid === net.sid) return net.drop(link, `Server ${name} (${sid}) already exists`);
  if (net.bySid.size >= MAX_REMOTE_SERVERS) return net.drop(link, 'Too many servers');
  const entry = state.linkServer({ name, sid, description: description ?? '' }, uplink);
  net.bySid.set(sid, entry);
}

function introduceUser(net: Network, link: Link, msg: Message): void {
  // EUID nick hops ts umodes user host ip uid realhost account :realname
  const p = msg.params;
  const home = net.bySid.get(msg.source ?? '');
  if (!home || p.length < 11 || net.linkToward(home) !== link) return;
  const [nick, , tsText, umodes, username, host, ip, uid, realHost, account, realname] = p as [string, string, string, string, string, string, string, string, string, string, string];
  if (!UID_RE.test(uid) || !uid.startsWith(home.sid!) || net.byUid.has(uid)) return net.drop(link, `UID ${uid} is invalid or already used`);
  if (net.byUid.size >= MAX_REMOTE_USERS) return net.drop(link, 'Too many users');
  // A nick this server would refuse is refused for all: the user is killed where it came from.
  if (nick !== uid && !validNick(net.server.config, nick)) return killBack(net, link, uid, 'Bad nickname');
  if (clashesWithOwnService(net, link, nick)) return;
  const got = resolveCollision(net, link, nick, Number(tsText) || Math.floor(Date.now() / 1000), uid, home, undefined, `${username}@${host}`);
  if (!got) return;
  const ts = got.ts;
  const state = net.server.state;
  // A services server's +S users are network services.
  const service = umodes.includes('S') && isServicesServer(net.server, home);
  net.server.introduceSessionlessUser(
    { nick: got.nick, user: username, host, realHost: realHost === '*' ? host : realHost, realname, ip: ip === '0' ? '255.255.255.255' : ip, service },
    home as ServerEntry,
    (u) => {
      userIds.set(u, { uid, ts, home });
      net.byUid.set(uid, u);
      // A service keeps +S only: its +i and +o (Atheme's) would count it in LUSERS.
      for (const letter of umodes.slice(1)) if (!service || letter === 'S') state.setUserMode(u, letter, true);
      if (account !== '*' && account !== '0') state.setAccount(u, account);
    },
  );
}

/** Kills a user of the link's side that broke a rule here: the link hears the KILL, the others the quit. */
function applyUserModes(net: Network, user: User, modes: string): void {
  let add = true;
  for (const c of modes) {
    if (c === '+' || c === '-') add = c === '+';
    else net.server.state.setUserMode(user, c, add);
  }
}

/** Prefix-mode arguments name users by UID on links; State's mode code looks them up by nick. */
function modeArgsToNicks(net: Network, args: readonly string[]): string[] {
  return args.map((a, i) => (i > 0 && UID_RE.test(a) ? (net.byUid.get(a)?.nick ?? a) : a));
}

/** The channel, made when new with the TS given; an older TS given is the channel's from now on. */
function channelFor(net: Network, name: string, ts: number, flags: string[] = []): { channel: Channel; created: boolean } | undefined {
  const server = net.server;
  if (!validChannelName(name, server.config.channels.types, server.config.limits.channellen)) return undefined;
  const got = server.state.getOrCreateChannel(name, flags);
  if (got.created || (ts > 0 && ts < net.channelTs(got.channel))) channelTs.set(got.channel, { ts: ts > 0 ? ts : net.channelTs(got.channel) });
  return got;
}

function joinRemote(net: Network, user: User, name: string, ts: number): void {
  const got = channelFor(net, name, ts);
  if (got && !got.channel.members.has(user)) net.server.state.addMember(got.channel, user, '');
}

/**
 * ":<sid> SJOIN <ts> <channel> <modes> [args] :<members>": members join, then their prefixes and
 * the channel's modes are set as the server's MODE, as a netjoin shows. The modes and prefixes
 * of the side with the younger channel are dropped (ts6.md "Channel TS rules"); an older TS
 * arriving does not yet take ours away (see docs/linking.md).
 */
function sjoin(net: Network, link: Link, msg: Message): void {
  const p = msg.params;
  if (p.length < 4) return;
  const server = net.server;
  const ts = Number(p[0]);
  const existing = server.state.findChannel(p[1]!);
  const keep = !existing || !(ts > net.channelTs(existing));
  const modeArgs = p.slice(2, -1);
  const prefixes = server.prefixes;
  // Members known here, from the direction of the link (a channel no one joins is not made).
  const joining: Array<[User, string]> = [];
  for (const item of p[p.length - 1]!.split(' ')) {
    let i = 0;
    while (i < item.length && prefixes.symbols.includes(item[i]!)) i++;
    const member = net.byUid.get(item.slice(i));
    if (member && net.linkOfUser(member) === link && !existing?.members.has(member)) joining.push([member, item.slice(0, i)]);
  }
  if (joining.length === 0 && !existing) return;
  // Ours is the younger channel: our modes and prefixes go, theirs stay.
  if (existing && ts > 0 && ts < net.channelTs(existing)) clearModes(net, existing);
  const got = channelFor(net, p[1]!, ts);
  if (!got) return;
  const { channel } = got;
  const prefixModes: string[] = [];
  const prefixNicks: string[] = [];
  for (const [member, symbols] of joining) {
    if (channel.members.has(member)) continue;
    server.state.addMember(channel, member, '');
    if (!keep) continue;
    for (const symbol of symbols) {
      prefixModes.push(prefixes.modes[prefixes.symbols.indexOf(symbol)]!);
      prefixNicks.push(member.nick);
    }
  }
  if (!keep) return;
  if (modeArgs[0] && modeArgs[0] !== '+') applyChannelModes(server, channel, modeArgs, undefined);
  const perLine = server.config.limits.modes_per_line;
  for (let i = 0; i < prefixModes.length; i += perLine)
    applyChannelModes(server, channel, ['+' + prefixModes.slice(i, i + perLine).join(''), ...prefixNicks.slice(i, i + perLine)], undefined);
}

/**
 * Takes a channel's simple modes and every member's prefixes away, as the server (shown as MODE
 * lines): what a side whose channel turned out younger does (ts6.md "Channel TS rules"). List
 * modes (bans, exceptions, invite exceptions) stay.
 */
function clearModes(net: Network, channel: Channel): void {
  const server = net.server;
  const items: Array<[string, string | undefined]> = [...channel.flags].map((f) => [f, undefined]);
  if (channel.key !== undefined) items.push(['k', channel.key]);
  if (channel.limit !== undefined) items.push(['l', undefined]);
  if (channel.forward !== undefined) items.push(['f', undefined]);
  for (const [member, held] of channel.members) for (const letter of held) items.push([letter, member.nick]);
  // The younger side's ban, exception and invite-exception lists go too (ts6.md "SJOIN"); the older side's come in its burst.
  for (const letter of LIST_MODES) for (const entry of channel.list(letter)) items.push([letter, entry.mask]);
  const perLine = server.config.limits.modes_per_line;
  let modes = '-';
  let args: string[] = [];
  const flush = () => {
    if (modes.length > 1) applyChannelModes(server, channel, [modes, ...args], undefined);
    modes = '-';
    args = [];
  };
  for (const [letter, arg] of items) {
    if (arg !== undefined && args.length === perLine) flush();
    modes += letter;
    if (arg !== undefined) args.push(arg);
  }
  flush();
}

/**
 * A remote user's PRIVMSG, NOTICE or TAGMSG, delivered here as the messaging module delivers a
 * local one's, with the msgid, time and client-only tags it crossed the link with (tags.ts).
 */
function relayMessage(net: Network, sender: User, command: string, target: string, text: string, tags: Tags | undefined): void {
  const server = net.server;
  const { msgid, at, clientTags } = arrivedTags(tags);
  const tagOnly = command === 'TAGMSG';
  if (tagOnly && !clientTags) return;
  const { status, name } = splitStatusPrefix(server, target);
  let resolved: MessageTarget;
  let shown: string;
  if (isChannelTarget(name, server.config.channels.types)) {
    const channel = server.state.findChannel(name);
    if (!channel) return;
    const minRank = status ? server.prefixes.rankOfSymbol(status[status.length - 1]!) : undefined;
    // +U: a member without voice reaches the operators only, as on the sender's server.
    const opsOnly = channel.flags.has('U') && !channel.members.get(sender);
    const recipients: User[] = [];
    for (const [member, held] of channel.members)
      if (member !== sender && (minRank === undefined || server.prefixes.atLeast(held, minRank)) && (!opsOnly || server.prefixes.holdsRank(held, 'op'))) recipients.push(member);
    resolved = { to: channel, recipients, opsOnly };
    shown = status + channel.name;
  } else {
    const recipient = net.byUid.get(target);
    if (!recipient) return;
    resolved = { to: recipient, recipients: [recipient] };
    shown = recipient.nick;
  }
  const out = relay(sender, { source: sender.mask, command, params: tagOnly ? [shown] : [shown, text] }, { msgid: msgid ?? newMsgid(), clientTags, at });
  sendResolved(server, sender, resolved, out, tagOnly);
}
