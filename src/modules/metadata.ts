// IRCv3 metadata, as the draft/metadata-3 capability (ircv3-specifications extensions/metadata.md
// and its update in PR #613, which irctest's metadata_3.py checks): METADATA GET/LIST/SET/CLEAR on
// users and channels, SUB/UNSUB/SUBS for the keys a connection wants to hear about, and SYNC.
//
// metadata-3 differs from the published draft/metadata-2 text in ways clients can see: changes
// reach subscribers as 761/766 numerics (first parameter "*", so one serialization serves every
// recipient) instead of a METADATA command, CLEAR answers with 766 per key, and a rejected value is
// FAIL INVALID_VALUE. Everything else (KEY_INVALID, KEY_NO_PERMISSION, KEY_NOT_SET, LIMIT_REACHED,
// TOO_MANY_SUBS, INVALID_TARGET, SUBCOMMAND_INVALID) follows the published text.
//
// Who sees what: user keys are public; channel keys are shown to members (and see_hidden opers);
// users edit their own keys, channel operators their channel's. Nothing is durable: a user's keys
// live on the User and a channel's beside the Channel object, so they end with them.
// Spec: https://ircv3.net/specs/extensions/metadata
import { isChannelTarget } from '../protocol/channelname.js';
import type { Message } from '../protocol/message.js';
import { RPL } from '../protocol/numerics.js';
import { packLines } from '../protocol/text.js';
import { CAP } from '../server/caps.js';
import type { Channel } from '../server/channel.js';
import type { User } from '../server/user.js';
import { bySubcommand, type Handler, type Module } from '../server/module.js';
import { relay } from '../server/outgoing.js';
import { replyTo } from '../server/reply.js';
import type { Server } from '../server/server.js';
import { channelSlot, userSlot } from '../server/slots.js';

const METADATA_CAP = CAP['draft/metadata-3'];
const SEE_HIDDEN = 'see_hidden';

/**
 * Key names: a-z, 0-9 and "_./-", never empty (spec "Keys and Values"). The 64-byte bound keeps a
 * 761 line (nick, target, key and a max_value_bytes value) within 512 bytes with the defaults.
 */
const KEY_RE = /^[a-z0-9_./-]{1,64}$/;

/** Most keys in one 770/771/772 line: a message has at most 15 parameters, the nick is one. */
const KEYS_PER_LINE = 14;

/** A connection's own keys and the keys it subscribed to. */
interface UserMetadata {
  values: Map<string, string>;
  subs: Set<string>;
}

/**
 * Channel keys sit beside the Channel object rather than in an index by name: when the last member
 * leaves, the channel is dropped from the state and its keys go with it, and a new channel of the
 * same name starts empty. A RENAME keeps the object, so the keys follow the new name.
 */
const channelValues = channelSlot<Map<string, string>>();
/** A user's own keys and the keys it subscribed to. */
const userValues = userSlot<UserMetadata>();

type Target =
  | { kind: 'user'; name: string; client: User }
  | { kind: 'channel'; name: string; channel: Channel };

function userMetadata(client: User): UserMetadata {
  return userValues.getOrCreate(client, () => ({ values: new Map(), subs: new Set() }));
}

function peekUser(client: User): UserMetadata | undefined {
  return userValues.get(client);
}

function subsOf(client: User): ReadonlySet<string> {
  return peekUser(client)?.subs ?? NO_KEYS;
}

function valuesOf(target: Target): ReadonlyMap<string, string> {
  return (target.kind === 'user' ? peekUser(target.client)?.values : channelValues.get(target.channel)) ?? NO_VALUES;
}

function writableValues(target: Target): Map<string, string> {
  if (target.kind === 'user') return userMetadata(target.client).values;
  return channelValues.getOrCreate(target.channel, () => new Map());
}

/** The name a client is known by in replies: "*" until it has registered (spec: before-connect). */
function selfName(client: User): string {
  return client.registered ? client.nick : '*';
}

/** A client's word echoed as a middle parameter of a FAIL: "*" when it could not be one (empty, spaces, leading ":"). */
function echoed(param: string): string {
  return param === '' || param.includes(' ') || param.startsWith(':') ? '*' : param;
}

function fail(client: User, code: string, ...params: string[]): void {
  client.standardReply('FAIL', 'METADATA', code, ...params);
}

function failLine(server: Server, code: string, ...params: string[]): Message {
  return { source: server.name, command: 'FAIL', params: ['METADATA', code, ...params] };
}

function numericLine(server: Server, client: User, code: string, ...params: string[]): Message {
  return { source: server.name, command: code, params: [client.nick, ...params] };
}

/** 770/771/772 with the keys as separate parameters, as many lines as the line length needs. */
function sendKeyLists(server: Server, client: User, code: string, keys: Iterable<string>): Message[] {
  // The space in front of the first key is part of the fixed text; the others separate the keys.
  const budget = server.config.limits.line_length - 2 - Buffer.byteLength(`:${server.name} ${code} ${client.nick} `);
  return packLines(keys, budget, KEYS_PER_LINE).map((line) => numericLine(server, client, code, ...line));
}

/** Resolves "*", a nick or a channel; answers FAIL INVALID_TARGET when there is no such target to show. */
function resolveTarget(server: Server, client: User, name: string): Target | undefined {
  if (name === '*') return { kind: 'user', name: selfName(client), client };
  if (client.registered) {
    if (isChannelTarget(name, server.config.channels.types)) {
      const channel = server.state.findChannel(name);
      // A secret channel does not exist for outsiders, as in NAMES and LIST.
      if (channel && (!channel.flags.has('s') || channel.members.has(client) || server.hasPrivilege(client, SEE_HIDDEN)))
        return { kind: 'channel', name: channel.name, channel };
    } else {
      const user = server.state.findNick(name);
      if (user?.registered) return { kind: 'user', name: user.nick, client: user };
    }
  }
  // Before registration only "*" names anyone (spec: METADATA client command).
  fail(client, 'INVALID_TARGET', echoed(name), 'Invalid metadata target');
  return undefined;
}

function canRead(server: Server, client: User, target: Target): boolean {
  if (target.kind === 'user') return true;
  return target.channel.members.has(client) || server.hasPrivilege(client, SEE_HIDDEN);
}

function canEdit(server: Server, client: User, target: Target): boolean {
  if (target.kind === 'user') return target.client === client;
  return server.prefixes.holdsRank(target.channel.members.get(client), 'op');
}

/**
 * Tells subscribers a key changed (value undefined: removed): for a channel its members, for a user
 * everyone sharing a channel with them and everyone monitoring them. The client that made the
 * change already has its reply.
 */
function notifyChange(server: Server, origin: User, target: Target, key: string, value: string | undefined): void {
  const msg =
    value === undefined
      ? { source: server.name, command: RPL.KEYNOTSET, params: ['*', target.name, key, 'Key not set'] }
      : { source: server.name, command: RPL.KEYVALUE, params: ['*', target.name, key, '*', value] };
  const out = relay(undefined, msg);
  const recipients =
    target.kind === 'channel'
      ? target.channel.members.keys()
      : new Set([...server.state.peersOf(target.client), ...server.state.watchersOf(target.client.nick)]);
  for (const r of recipients) {
    if (r !== origin && r.hasCap(METADATA_CAP) && subsOf(r).has(key)) r.sendOutgoing(out);
  }
}

// ---- subcommands ------------------------------------------------------------------------------

function handleSet(server: Server, client: User, target: Target, key: string, value: string | undefined): void {
  if (!KEY_RE.test(key)) return fail(client, 'KEY_INVALID', echoed(key), 'Invalid key');
  if (!canEdit(server, client, target))
    return fail(client, 'KEY_NO_PERMISSION', target.name, key, `You do not have permission to set '${key}' on '${target.name}'`);
  const cfg = server.config.metadata;
  if (value === undefined) {
    const values = valuesOf(target);
    if (!values.has(key)) return fail(client, 'KEY_NOT_SET', target.name, key, 'Key not set');
    writableValues(target).delete(key);
    client.numeric(RPL.KEYNOTSET, target.name, key, 'Key not set');
    notifyChange(server, client, target, key, undefined);
    return;
  }
  if (Buffer.byteLength(value) > cfg.max_value_bytes)
    return fail(client, 'INVALID_VALUE', key, `Value is longer than ${cfg.max_value_bytes} bytes`);
  const values = writableValues(target);
  if (!values.has(key) && values.size >= cfg.max_keys) return fail(client, 'LIMIT_REACHED', target.name, 'Metadata limit reached');
  const changed = values.get(key) !== value;
  values.set(key, value);
  client.numeric(RPL.KEYVALUE, target.name, key, '*', value);
  if (changed) notifyChange(server, client, target, key, value);
}

function handleGet(server: Server, client: User, target: Target, keys: string[]): void {
  if (!canRead(server, client, target)) return fail(client, 'KEY_NO_PERMISSION', target.name, '*', 'You may not see this metadata');
  const values = valuesOf(target);
  const lines = keys.map((key) => {
    if (!KEY_RE.test(key)) return failLine(server, 'KEY_INVALID', echoed(key), 'Invalid key');
    const value = values.get(key);
    return value === undefined
      ? numericLine(server, client, RPL.KEYNOTSET, target.name, key, 'Key not set')
      : numericLine(server, client, RPL.KEYVALUE, target.name, key, '*', value);
  });
  replyTo(client).batch('metadata', [target.name], lines);
}

function handleList(server: Server, client: User, target: Target): void {
  if (!canRead(server, client, target)) return fail(client, 'KEY_NO_PERMISSION', target.name, '*', 'You may not see this metadata');
  const lines = [...valuesOf(target)].map(([key, value]) => numericLine(server, client, RPL.KEYVALUE, target.name, key, '*', value));
  replyTo(client).batch('metadata', [target.name], lines);
}

function handleClear(server: Server, client: User, target: Target): void {
  if (!canEdit(server, client, target))
    return fail(client, 'KEY_NO_PERMISSION', target.name, '*', `You do not have permission to clear '${target.name}'`);
  const keys = [...valuesOf(target).keys()];
  if (keys.length) writableValues(target).clear();
  replyTo(client).batch('metadata', [target.name], keys.map((key) => numericLine(server, client, RPL.KEYNOTSET, target.name, key, 'Key not set')));
  for (const key of keys) notifyChange(server, client, target, key, undefined);
}

/** 761 lines for the keys of `of` that `client` subscribed to, at most `max` (more means the caller defers). */
function subscribedValues(server: Server, client: User, of: Target, into: Message[], max = Infinity): void {
  const subs = subsOf(client);
  for (const [key, value] of valuesOf(of)) {
    if (into.length > max) return;
    if (subs.has(key)) into.push(numericLine(server, client, RPL.KEYVALUE, of.name, key, '*', value));
  }
}

/**
 * The subscribed values of a channel and of its other members, or undefined when there are more
 * than `max` (the caller then answers RPL_METADATASYNCLATER).
 */
function channelSync(server: Server, client: User, channel: Channel, max: number): Message[] | undefined {
  const lines: Message[] = [];
  subscribedValues(server, client, { kind: 'channel', name: channel.name, channel }, lines, max);
  for (const member of channel.members.keys()) {
    if (lines.length > max) break;
    if (member !== client) subscribedValues(server, client, { kind: 'user', name: member.nick, client: member }, lines, max);
  }
  return lines.length > max ? undefined : lines;
}

function handleSync(server: Server, client: User, target: Target): void {
  if (!canRead(server, client, target)) return fail(client, 'KEY_NO_PERMISSION', target.name, '*', 'You may not see this metadata');
  let lines: Message[] = [];
  if (target.kind === 'channel') lines = channelSync(server, client, target.channel, Infinity)!;
  else subscribedValues(server, client, target, lines);
  replyTo(client).batch('metadata', [target.name], lines);
}

/**
 * SUB and UNSUB: invalid keys get KEY_INVALID, `apply` takes each valid one (a returned FAIL line
 * stops the rest), and the keys taken are confirmed with `numeric` before the failures.
 */
function changeSubscriptions(
  server: Server,
  client: User,
  keys: string[],
  numeric: string,
  apply: (key: string) => Message | undefined,
): void {
  const ok: string[] = [];
  const out: Message[] = [];
  for (const key of keys) {
    if (!KEY_RE.test(key)) {
      out.push(failLine(server, 'KEY_INVALID', echoed(key), 'Invalid key'));
      continue;
    }
    const refused = apply(key);
    if (refused) {
      out.push(refused);
      break;
    }
    if (!ok.includes(key)) ok.push(key);
  }
  for (const line of [...sendKeyLists(server, client, numeric, ok), ...out]) client.send(line);
}

function handleSub(server: Server, client: User, keys: string[]): void {
  const max = server.config.metadata.max_subscriptions;
  const subs = userMetadata(client).subs;
  changeSubscriptions(server, client, keys, RPL.METADATASUBOK, (key) => {
    if (subs.has(key)) return undefined;
    // The first key over the limit is named, and the rest are not processed (spec: METADATA SUB).
    if (subs.size >= max) return failLine(server, 'TOO_MANY_SUBS', key, `At most ${max} subscriptions`);
    subs.add(key);
    return undefined;
  });
}

function handleUnsub(server: Server, client: User, keys: string[]): void {
  const subs = peekUser(client)?.subs;
  changeSubscriptions(server, client, keys, RPL.METADATAUNSUBOK, (key) => {
    subs?.delete(key);
    return undefined;
  });
}

const handleMetadata: Handler = (server, client, msg) => {
  const [targetName, rawSub, ...args] = msg.params as [string, string, ...string[]];
  const sub = rawSub.toUpperCase();
  if (sub === 'SUB' || sub === 'UNSUB' || sub === 'SUBS') {
    // Subscriptions belong to the connection: the target can only be the client itself.
    if (targetName !== '*' && server.state.findNick(targetName) !== client)
      return fail(client, 'INVALID_TARGET', echoed(targetName), 'Subscriptions can only be managed for yourself (use *)');
    if (sub === 'SUB') return handleSub(server, client, args);
    if (sub === 'UNSUB') return handleUnsub(server, client, args);
    return replyTo(client).batch('metadata-subs', [], sendKeyLists(server, client, RPL.METADATASUBS, subsOf(client)));
  }
  if (!['GET', 'LIST', 'SET', 'CLEAR', 'SYNC'].includes(sub)) return fail(client, 'SUBCOMMAND_INVALID', echoed(rawSub), 'Invalid subcommand');
  const target = resolveTarget(server, client, targetName);
  if (!target) return;
  switch (sub) {
    case 'GET':
      return handleGet(server, client, target, args);
    case 'LIST':
      return handleList(server, client, target);
    case 'SET':
      return handleSet(server, client, target, args[0]!, args[1]);
    case 'CLEAR':
      return handleClear(server, client, target);
    default:
      return handleSync(server, client, target);
  }
};

// ---- hooks ------------------------------------------------------------------------------------

/** Registration burst: the client's own keys in a metadata batch, empty when it has none (spec: Notifications). */
function sendOwnMetadata(server: Server, client: User): void {
  if (!client.hasCap(METADATA_CAP)) return;
  const self: Target = { kind: 'user', name: client.nick, client };
  const lines = [...valuesOf(self)].map(([key, value]) => numericLine(server, client, RPL.KEYVALUE, client.nick, key, '*', value));
  replyTo(client).batch('metadata', [client.nick], lines);
}

/**
 * After a JOIN: the joiner gets the subscribed values of the channel and its members (or 774 when
 * there are too many to send at once), and members subscribed to the joiner's keys get those.
 */
function syncOnJoin(server: Server, client: User, channel: Channel): void {
  if (client.hasCap(METADATA_CAP) && subsOf(client).size > 0) {
    const lines = channelSync(server, client, channel, server.config.metadata.join_sync_lines);
    if (!lines) client.numeric(RPL.METADATASYNCLATER, channel.name);
    else if (lines.length) replyTo(client).batch('metadata', [channel.name], lines);
  }
  const own = valuesOf({ kind: 'user', name: client.nick, client });
  if (own.size === 0) return;
  for (const [key, value] of own) {
    const out = relay(undefined, { source: server.name, command: RPL.KEYVALUE, params: ['*', client.nick, key, '*', value] });
    for (const member of channel.members.keys()) {
      if (member !== client && member.hasCap(METADATA_CAP) && subsOf(member).has(key)) member.sendOutgoing(out);
    }
  }
}

/** RPL_WHOISKEYVALUE (760) for each key of the target, to viewers with the capability. */
function whoisMetadata(_server: Server, viewer: User, target: User): void {
  if (!viewer.hasCap(METADATA_CAP)) return;
  for (const [key, value] of peekUser(target)?.values ?? NO_VALUES) viewer.numeric(RPL.WHOISKEYVALUE, target.nick, key, '*', value);
}

const NO_KEYS: ReadonlySet<string> = new Set();
const NO_VALUES: ReadonlyMap<string, string> = new Map();

export const metadata: Module = {
  name: 'metadata',
  commands: {
    METADATA: {
      internal: true,
      minParams: bySubcommand(1, { GET: 3, SET: 3, SUB: 3, UNSUB: 3 }, 2),
      // Before registration METADATA is for clients that negotiated the cap, when before-connect is offered.
      preRegistration: (server, client) => server.config.metadata.before_connect && client.hasCap(METADATA_CAP),
      handler: handleMetadata,
      help: [
        'METADATA <target> GET|LIST|SET|CLEAR|SUB|UNSUB|SUBS|SYNC [<key> [<value>]...]',
        'Reads and sets key-value metadata on users and channels ("*" is yourself): GET <keys>, LIST,',
        'SET <key> [:<value>] (no value removes the key), CLEAR. SUB/UNSUB <keys> choose the keys whose',
        'changes you are sent, SUBS lists them; SYNC sends the subscribed values of a target.',
      ],
    },
  },
  caps: [
    {
      name: 'draft/metadata-3',
      value: (server) => {
        const cfg = server.config.metadata;
        const limits = `max-subs=${cfg.max_subscriptions},max-keys=${cfg.max_keys},max-value-bytes=${cfg.max_value_bytes}`;
        return cfg.before_connect ? `before-connect,${limits}` : limits;
      },
    },
  ],
  hooks: {
    welcomeBurst: sendOwnMetadata,
    joined: syncOnJoin,
    whois: whoisMetadata,
  },
};
