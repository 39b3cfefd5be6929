// ChanServ: registered channels. A logged-in channel operator registers a channel; its founder,
// access list (accounts given a prefix on join), topic, modes and lists are kept in the store,
// written on each change, and the channel comes back as it was when it is next joined (after a
// restart, or once it has emptied), so nobody takes it over by joining it first. Opers with the
// "override" privilege act on any channel, each time in the audit log.
// Spec: none (Atheme ChanServ and Ergo ChanServ are the models): https://ergo.chat/manual.html#chanserv
import { isChannelTarget } from '../../protocol/channelname.js';
import { truncateUtf8 } from '../../protocol/text.js';
import type { Channel, ModeChange } from '../../server/channel.js';
import type { User } from '../../server/user.js';
import type { Server } from '../../server/server.js';
import { channelSlot, serverSlot } from '../../server/slots.js';
import { ChannelRegistry, type KeptModes, type RegisteredChannel } from '../../store/channels.js';
import { accountStore } from '../accounts.js';
import { setChannelTopic } from '../channels/info.js';
import { applyChannelModes } from '../channels/modes.js';
import { audit } from '../oper.js';
import { serviceNotice, type ServiceBot, type ServiceDef } from './service.js';

/** Entries one channel's access list may hold. */
const ACCESS_MAX = 100;
const OVERRIDE = 'override';

interface ChanServState {
  registry: ChannelRegistry;
  /** ChanServ's pseudo-user; undefined with [services] enabled = false (registrations are kept, not used). */
  bot: ServiceBot | undefined;
}

const runtime = serverSlot<ChanServState>('chanserv');
/** Channels in memory that are registered (restored, or registered while in use). */
const registered = channelSlot<true>();

/** What a command needs of the client in the channel's access list: founder, operator, half-operator or voice. */
type Level = 'founder' | 'op' | 'halfop' | 'voice';

/** Rank of a level, 0 highest, in the server's prefix table (founder above every prefix). */
function levelRank(server: Server, level: Level): number {
  if (level === 'founder') return -1;
  // Voice: any entry of the access list (the lowest prefix is voice where v is configured).
  if (level === 'voice') return server.prefixes.modes.length - 1;
  return server.prefixes.opRanks()[level];
}

/** A level as the notices name it (half-operator only where h is configured: otherwise it is the operator's). */
function levelName(server: Server, level: Level): string {
  if (level === 'halfop') return server.prefixes.modes.includes('h') ? 'half-operator' : 'operator';
  return level === 'op' ? 'operator' : level;
}

/** The prefix letters the access list may give: channel operator and below (o, h, v). */
function grantable(server: Server): string {
  const modes = server.prefixes.modes;
  return modes.slice(Math.max(0, modes.indexOf('o')));
}

/** Rank of what the client holds in the registration: founder -1, an access entry its letter's rank, else Infinity. */
function clientRank(server: Server, reg: RegisteredChannel, folded: string, client: User): number {
  if (client.account === undefined) return Infinity;
  const account = server.state.fold(client.account);
  if (account === reg.founder) return -1;
  const mode = runtime.require(server).registry.accessOf(folded, account);
  return mode === undefined ? Infinity : server.prefixes.bestRank(mode);
}

/** The account's name as registered, for display (the folded name when it is gone). */
function accountName(server: Server, folded: string): string {
  return accountStore(server).get(folded)?.name ?? folded;
}

/** The channel's modes and lists as the registry keeps them. */
function modesOf(channel: Channel): KeptModes {
  return { flags: [...channel.flags].sort().join(''), key: channel.key, limit: channel.limit, forward: channel.forward, lists: channel.lists };
}

interface Found {
  folded: string;
  reg: RegisteredChannel;
  /** The channel, when it is in memory (someone is in it). */
  channel: Channel | undefined;
}

/**
 * The registration of the channel named, when the client holds `needed` in it; otherwise answers
 * why and returns undefined. An oper with the override privilege passes, and it is audited.
 */
function authorized(server: Server, client: User, bot: ServiceBot, name: string, needed: Level, command: string): Found | undefined {
  const folded = server.state.fold(name);
  const reg = runtime.require(server).registry.get(folded);
  if (!reg) {
    serviceNotice(client, bot, `${name} is not registered.`);
    return undefined;
  }
  const found = { folded, reg, channel: server.state.findChannel(name) };
  if (clientRank(server, reg, folded, client) <= levelRank(server, needed)) return found;
  if (server.hasPrivilege(client, OVERRIDE)) {
    audit(server, client, 'chanserv override', { command, channel: reg.name });
    return found;
  }
  if (client.account === undefined) serviceNotice(client, bot, `You must be logged in to use ${command} on ${reg.name}.`);
  else if (needed === 'founder') serviceNotice(client, bot, `Only the founder of ${reg.name} may use ${command} on it.`);
  else serviceNotice(client, bot, `You do not have enough access to ${reg.name} to use ${command} (${levelName(server, needed)} access or above needed).`);
  return undefined;
}

/** False after telling the client that `name` is no channel name. */
function channelName(server: Server, client: User, bot: ServiceBot, name: string): boolean {
  if (isChannelTarget(name, server.config.channels.types)) return true;
  serviceNotice(client, bot, `${name} is not a channel name.`);
  return false;
}

function register(server: Server, client: User, bot: ServiceBot, [name]: string[]): void {
  if (client.account === undefined) return serviceNotice(client, bot, `You must be logged in to register a channel: /msg ${server.config.services.nickserv} IDENTIFY <password>`);
  if (!channelName(server, client, bot, name!)) return;
  const channel = server.state.findChannel(name!);
  const { registry } = runtime.require(server);
  if (!channel) return serviceNotice(client, bot, `${name} does not exist: join it first.`);
  if (registry.has(channel.folded)) return serviceNotice(client, bot, `${channel.name} is already registered.`);
  if (!server.prefixes.holdsRank(channel.members.get(client), 'op'))
    return serviceNotice(client, bot, `You must be a channel operator in ${channel.name} to register it.`);
  const founder = server.state.fold(client.account);
  const limit = server.config.services.channels_per_account;
  if (registry.foundedBy(founder).length >= limit) return serviceNotice(client, bot, `An account may found at most ${limit} channels; you have that many.`);
  registry.register(channel.folded, { name: channel.name, founder, registeredAt: Date.now(), topic: channel.topic, ...modesOf(channel) });
  registered.set(channel, true);
  server.log.info({ conn: client.id, account: client.account, channel: channel.name }, 'channel registered');
  serviceNotice(client, bot, `${channel.name} is now registered to ${client.account}.`);
}

/** OP, DEOP, VOICE and DEVOICE: one prefix given or taken, from the client or a member it names. */
function prefixCommand(command: string, add: boolean, mode: 'o' | 'v') {
  return (server: Server, client: User, bot: ServiceBot, [name, nick]: string[]): void => {
    if (!channelName(server, client, bot, name!)) return;
    const target = nick === undefined ? client : server.state.findNick(nick);
    // Taking your own prefix needs no access; giving one needs that rank, and acting on others an operator's.
    const self = target === client;
    const needed: Level = mode === 'o' ? 'op' : self ? 'voice' : 'halfop';
    const found = self && !add ? registration(server, client, bot, name!) : authorized(server, client, bot, name!, needed, command);
    if (!found) return;
    const channel = found.channel;
    if (!target?.registered || !channel?.members.has(target)) return serviceNotice(client, bot, `${nick ?? client.nick} is not on ${found.reg.name}.`);
    const sign = add ? '+' : '-';
    const { applied } = applyChannelModes(server, channel, [sign + mode, target.nick], bot.client);
    if (applied.length === 0) serviceNotice(client, bot, `${target.nick} ${add ? 'already has' : 'does not have'} ${sign}${mode} on ${channel.name}.`);
    else serviceNotice(client, bot, `${sign}${mode} ${target.nick} on ${channel.name}.`);
  };
}

/** The registration of the channel named (no access needed), or undefined after saying it is not registered. */
function registration(server: Server, client: User, bot: ServiceBot, name: string): Found | undefined {
  const folded = server.state.fold(name);
  const reg = runtime.require(server).registry.get(folded);
  if (!reg) serviceNotice(client, bot, `${name} is not registered.`);
  return reg && { folded, reg, channel: server.state.findChannel(name) };
}

function amode(server: Server, client: User, bot: ServiceBot, [name, change, account]: string[]): void {
  if (!channelName(server, client, bot, name!)) return;
  const { registry } = runtime.require(server);
  if (change === undefined) {
    const found = authorized(server, client, bot, name!, 'voice', 'AMODE');
    if (!found) return;
    const entries = registry.access(found.folded);
    serviceNotice(client, bot, `Access list of ${found.reg.name} (founder: ${accountName(server, found.reg.founder)}):`);
    for (const e of entries) serviceNotice(client, bot, `  +${e.mode} ${accountName(server, e.account)} (set by ${e.setBy} on ${new Date(e.setAt).toISOString()})`);
    return serviceNotice(client, bot, `End of the access list of ${found.reg.name} (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}).`);
  }
  const letters = grantable(server);
  const m = /^([+-])(.)$/.exec(change);
  if (!m || !letters.includes(m[2]!))
    return serviceNotice(client, bot, `Unknown mode ${change}: AMODE takes + or - and one of ${[...letters].join(', ')}.`);
  if (account === undefined) return serviceNotice(client, bot, `Syntax: AMODE ${name} ${change} <account>`);
  const [, sign, mode] = m as unknown as [string, string, string];
  const target = accountStore(server).get(account);
  if (!target) return serviceNotice(client, bot, `No account is named ${account}.`);
  const folded = server.state.fold(name!);
  const targetFolded = server.state.fold(target.name);
  const current = registry.accessOf(folded, targetFolded);
  // Operators manage the entries below their own; operator entries are the founder's to manage.
  const needed: Level = mode === 'o' || current === 'o' ? 'founder' : 'op';
  const found = authorized(server, client, bot, name!, needed, 'AMODE');
  if (!found) return;
  if (targetFolded === found.reg.founder) return serviceNotice(client, bot, `${target.name} is the founder of ${found.reg.name}; TRANSFER changes the founder.`);
  if (sign === '-') {
    if (current !== mode) return serviceNotice(client, bot, `${target.name} does not have +${mode} in the access list of ${found.reg.name}.`);
    registry.removeAccess(folded, targetFolded);
    return serviceNotice(client, bot, `${target.name} removed from the access list of ${found.reg.name}.`);
  }
  if (current === undefined && registry.accessCount(folded) >= ACCESS_MAX)
    return serviceNotice(client, bot, `The access list of ${found.reg.name} is full (${ACCESS_MAX} entries).`);
  registry.setAccess(folded, { account: targetFolded, mode, setBy: client.account ?? client.nick, setAt: Date.now() });
  serviceNotice(client, bot, `${target.name} now gets +${mode} on joining ${found.reg.name}.`);
  // Members logged in to the account get it now.
  if (found.channel) for (const member of server.state.withAccount(target.name)) giveJoinMode(server, found.channel, member);
}

function topic(server: Server, client: User, bot: ServiceBot, [name, ...words]: string[]): void {
  if (!channelName(server, client, bot, name!)) return;
  const found = authorized(server, client, bot, name!, 'halfop', 'TOPIC');
  if (!found) return;
  const text = words.join(' ');
  if (found.channel) setChannelTopic(server, found.channel, text, bot.client);
  else {
    const cut = truncateUtf8(text, server.config.limits.topiclen);
    runtime.require(server).registry.saveTopic(found.folded, cut ? { text: cut, setBy: bot.client.mask, setAt: Math.floor(Date.now() / 1000) } : undefined);
  }
  serviceNotice(client, bot, text ? `Topic of ${found.reg.name} set.` : `Topic of ${found.reg.name} cleared.`);
}

const CLEARABLE = ['BANS', 'USERS', 'ACCESS'];

function clear(server: Server, client: User, bot: ServiceBot, [name, what]: string[]): void {
  if (!channelName(server, client, bot, name!)) return;
  const target = what!.toUpperCase();
  if (!CLEARABLE.includes(target)) return serviceNotice(client, bot, `Unknown target ${what}: CLEAR clears ${CLEARABLE.join(', ')}.`);
  const found = authorized(server, client, bot, name!, 'founder', 'CLEAR');
  if (!found) return;
  const { registry } = runtime.require(server);
  const { channel, reg } = found;
  if (target === 'ACCESS') {
    const n = registry.clearAccess(found.folded);
    return serviceNotice(client, bot, `Access list of ${reg.name} cleared (${n} entr${n === 1 ? 'y' : 'ies'}).`);
  }
  if (target === 'USERS') {
    let kicked = 0;
    for (const member of [...(channel?.members.keys() ?? [])]) {
      if (member === client) continue;
      server.state.kick(channel!, member, bot.client, `Cleared by ${client.nick}`);
      kicked++;
    }
    return serviceNotice(client, bot, `${kicked} user${kicked === 1 ? '' : 's'} kicked from ${reg.name}.`);
  }
  // BANS: bans, ban exceptions and invite exceptions, in MODE lines of at most [limits] modes_per_line each.
  if (!channel) {
    registry.saveModes(found.folded, { ...reg, lists: new Map() });
    return serviceNotice(client, bot, `Bans and exceptions of ${reg.name} cleared.`);
  }
  const perLine = server.config.limits.modes_per_line;
  const pending: ModeChange[] = [];
  for (const [letter, entries] of channel.lists) for (const e of entries) pending.push({ add: false, mode: letter, param: e.mask });
  for (let i = 0; i < pending.length; i += perLine) {
    const chunk = pending.slice(i, i + perLine);
    applyChannelModes(server, channel, ['-' + chunk.map((c) => c.mode).join(''), ...chunk.map((c) => c.param!)], bot.client);
  }
  serviceNotice(client, bot, `Bans and exceptions of ${reg.name} cleared (${pending.length}).`);
}

function transfer(server: Server, client: User, bot: ServiceBot, [name, account]: string[]): void {
  if (!channelName(server, client, bot, name!)) return;
  const found = authorized(server, client, bot, name!, 'founder', 'TRANSFER');
  if (!found) return;
  const target = accountStore(server).get(account!);
  if (!target) return serviceNotice(client, bot, `No account is named ${account}.`);
  const folded = server.state.fold(target.name);
  if (folded === found.reg.founder) return serviceNotice(client, bot, `${target.name} is already the founder of ${found.reg.name}.`);
  const { registry } = runtime.require(server);
  const limit = server.config.services.channels_per_account;
  if (registry.foundedBy(folded).length >= limit) return serviceNotice(client, bot, `${target.name} already founds ${limit} channels, the most an account may.`);
  registry.setFounder(found.folded, folded);
  server.log.info({ conn: client.id, channel: found.reg.name, from: found.reg.founder, to: folded }, 'channel transferred');
  serviceNotice(client, bot, `${found.reg.name} now belongs to ${target.name}.`);
}

function drop(server: Server, client: User, bot: ServiceBot, [name]: string[]): void {
  if (!channelName(server, client, bot, name!)) return;
  const found = authorized(server, client, bot, name!, 'founder', 'DROP');
  if (!found) return;
  unregister(server, found.folded);
  server.log.info({ conn: client.id, channel: found.reg.name }, 'channel registration dropped');
  serviceNotice(client, bot, `${found.reg.name} is no longer registered.`);
}

/** Forgets a registration; the channel, if in use, stays as it is. */
function unregister(server: Server, folded: string): void {
  runtime.require(server).registry.drop(folded);
  const channel = server.state.channels.get(folded);
  if (channel) registered.delete(channel);
}

function info(server: Server, client: User, bot: ServiceBot, [name]: string[]): void {
  if (!channelName(server, client, bot, name!)) return;
  const found = registration(server, client, bot, name!);
  if (!found) return;
  const { reg, folded } = found;
  serviceNotice(client, bot, `Information on ${reg.name}:`);
  serviceNotice(client, bot, `Founder: ${accountName(server, reg.founder)}`);
  serviceNotice(client, bot, `Registered: ${new Date(reg.registeredAt).toISOString()}`);
  serviceNotice(client, bot, `Access entries: ${runtime.require(server).registry.accessCount(folded)}`);
  const modes = reg.flags + (reg.key !== undefined ? 'k' : '') + (reg.limit !== undefined ? 'l' : '') + (reg.forward !== undefined ? 'f' : '');
  serviceNotice(client, bot, `Kept modes: ${modes ? '+' + modes : 'none'}`);
  serviceNotice(client, bot, `End of information on ${reg.name}.`);
}

/** Gives a member of a registered channel the mode its account's entry (or founding) gives, if it lacks it. */
function giveJoinMode(server: Server, channel: Channel, member: User): void {
  const s = runtime.get(server);
  if (!s?.bot || !registered.get(channel) || member.account === undefined) return;
  const account = server.state.fold(member.account);
  const mode = s.registry.joinModeOf(channel.folded, account);
  const held = channel.members.get(member);
  if (mode === undefined || held === undefined || held.includes(mode)) return;
  applyChannelModes(server, channel, ['+' + mode, member.nick], s.bot.client);
}

/** A channel just made: a registered one gets back its modes, lists and topic (before anyone is in it, so nobody is told). */
function restore(server: Server, channel: Channel): void {
  const s = runtime.require(server);
  const reg = s.registry.get(channel.folded);
  if (!reg) return;
  server.state.changeChannelModes(channel, s.bot?.client, (writes) => {
    for (const letter of [...channel.flags]) if (!reg.flags.includes(letter)) writes.setChannelFlag(channel, letter, false);
    for (const letter of reg.flags) writes.setChannelFlag(channel, letter, true);
    writes.setChannelKey(channel, reg.key);
    writes.setChannelLimit(channel, reg.limit);
    writes.setChannelForward(channel, reg.forward);
    for (const [letter, entries] of reg.lists) for (const e of entries) writes.addListEntry(channel, letter, { ...e });
    return { applied: [] };
  });
  if (reg.topic) server.state.setTopic(channel, reg.topic);
  registered.set(channel, true);
}

/**
 * An account that founded channels was dropped: each goes to its oldest operator (+o) in the
 * access list, or is dropped when it has none. (The account's own access entries went with it.)
 */
function founderGone(server: Server, founder: string): void {
  const { registry } = runtime.require(server);
  for (const folded of registry.foundedBy(founder)) {
    const successor = registry.access(folded).find((e) => e.mode === 'o');
    if (successor) {
      registry.setFounder(folded, successor.account);
      server.log.info({ channel: folded, from: founder, to: successor.account }, 'channel passed to its successor: the founder account was dropped');
    } else {
      unregister(server, folded);
      server.log.info({ channel: folded, founder }, 'channel registration dropped with its founder account');
    }
  }
}

/**
 * Opens the registry (always: its tables are part of the store, and founders' account drops are
 * followed even with [services] enabled = false) and, with ChanServ introduced, keeps registered
 * channels: restored when made, written on each change.
 */
export function startChanServ(server: Server, bot: ServiceBot | undefined): void {
  const registry = new ChannelRegistry(server.db);
  runtime.set(server, { registry, bot });
  if (!bot) return;
  const events = server.state.events;
  events.on('channelCreated', ({ channel }) => restore(server, channel));
  events.on('channelModeChanged', ({ channel, changes }) => {
    if (registered.get(channel) && changes.some((c) => !server.prefixes.modes.includes(c.mode))) registry.saveModes(channel.folded, modesOf(channel));
  });
  events.on('topicChanged', ({ channel }) => {
    if (registered.get(channel)) registry.saveTopic(channel.folded, channel.topic);
  });
  // Logging in after joining (a classic client identifies to NickServ once its channels are joined) gives the modes too.
  events.on('accountChanged', ({ client }) => {
    for (const channel of server.state.channelsOf(client)) giveJoinMode(server, channel, client);
  });
  events.on('channelRenamed', ({ channel, oldName }) => {
    if (registered.get(channel) && !registry.rename(server.state.fold(oldName), channel.folded, channel.name)) registered.delete(channel);
  });
}

export function stopChanServ(server: Server): void {
  runtime.delete(server);
}

/** Module.restoreChannel: a registered channel not in memory is made, empty, as it was kept. */
export function restoreRegisteredChannel(server: Server, name: string): void {
  const s = runtime.get(server);
  if (!s?.bot) return;
  const registeredName = s.registry.nameOf(server.state.fold(name));
  if (registeredName !== undefined) server.state.getOrCreateChannel(registeredName);
}

/** The joined hook: founders and accounts in the access list get their mode. */
export function chanservJoined(server: Server, client: User, channel: Channel): void {
  giveJoinMode(server, channel, client);
}

/** The accountDropped hook. */
export function chanservAccountDropped(server: Server, folded: string): void {
  if (runtime.get(server)) founderGone(server, folded);
}

export const chanserv: ServiceDef = {
  key: 'chanserv',
  realname: 'Channel Services',
  aliases: ['CS', 'CHANSERV'],
  commands: {
    REGISTER: {
      minParams: 1,
      handler: register,
      help: ['REGISTER <channel>', 'Registers a channel you are an operator of to your account: its access list, topic, modes and lists are kept, and you get ops on joining it.'],
    },
    OP: {
      minParams: 1,
      handler: prefixCommand('OP', true, 'o'),
      help: ['OP <channel> [<nick>]', 'Gives you (or a member) channel operator status; needs operator access.'],
    },
    DEOP: {
      minParams: 1,
      handler: prefixCommand('DEOP', false, 'o'),
      help: ['DEOP <channel> [<nick>]', 'Takes channel operator status from you (or, with operator access, from a member).'],
    },
    VOICE: {
      minParams: 1,
      handler: prefixCommand('VOICE', true, 'v'),
      help: ['VOICE <channel> [<nick>]', 'Gives you voice (with voice access), or a member (with half-operator access or above).'],
    },
    DEVOICE: {
      minParams: 1,
      handler: prefixCommand('DEVOICE', false, 'v'),
      help: ['DEVOICE <channel> [<nick>]', 'Takes voice from you (or, with half-operator access or above, from a member).'],
    },
    AMODE: {
      minParams: 1,
      handler: amode,
      help: [
        'AMODE <channel> [+<mode>|-<mode> <account>]',
        'Lists the access list, or gives an account a mode (o, v; h when configured) on joining, or takes it away.',
        'Operator entries are the founder\'s to change; operators change the others.',
      ],
    },
    TOPIC: {
      minParams: 1,
      handler: topic,
      help: ['TOPIC <channel> [<text>]', 'Sets (or with no text clears) the topic; needs half-operator access or above.'],
    },
    CLEAR: {
      minParams: 2,
      // Kicks or unbans a whole channel, in up to hundreds of lines.
      penalty: 4,
      handler: clear,
      help: ['CLEAR <channel> BANS|USERS|ACCESS', 'Founder only: removes every ban and exception, kicks everyone but you, or empties the access list.'],
    },
    TRANSFER: {
      minParams: 2,
      handler: transfer,
      help: ['TRANSFER <channel> <account>', 'Founder only: makes another account the founder.'],
    },
    DROP: {
      minParams: 1,
      handler: drop,
      help: ['DROP <channel>', 'Founder only: unregisters the channel; it stays as it is until it empties.'],
    },
    INFO: {
      minParams: 1,
      handler: info,
      help: ['INFO <channel>', 'Shows who founded a registered channel, when, and what is kept of it.'],
    },
  },
};
