// The API's endpoints. Each one does what an oper's IRC command does, through the same functions
// (KILL, KLINE/DLINE/XLINE, ACCOUNT, REHASH, WALLOPS, TOPIC, MODE, KICK), so the checks, the
// State changes, the lines members see and the opers' notices are the same; the API is the
// server acting, as services would. docs/api.md describes each route with an example.
import { z } from 'zod';
import { parseDuration } from '../../protocol/duration.js';
import { truncateUtf8 } from '../../protocol/text.js';
import type { Channel } from '../../server/channel.js';
import type { User } from '../../server/user.js';
import type { Server } from '../../server/server.js';
import { describeRestartNeeded } from '../../server/rehash.js';
import type { BanKind, ServerBan } from '../../store/ban-index.js';
import { accountStore, createAccount, dropAccount, resetPassword } from '../accounts.js';
import { addServerBan, bansOf, removeServerBan } from '../bans.js';
import { setChannelTopic } from '../channels/info.js';
import { currentModes, formatModeChanges } from '../channels/modeparse.js';
import { applyChannelModes } from '../channels/modes.js';
import { killReason, killUser, rehashErrorLines, rehashConfig, sendWallops, serverNotice } from '../oper.js';
import { userModeString } from '../usermodes.js';
import { ApiError, route, type Caller, type Route } from './route.js';
import type { Sample } from './samples.js';

// ---- shapes of answers (documentation; built by the views below) --------------------------------

const userSchema = z.object({
  nick: z.string(),
  user: z.string().describe('ident'),
  host: z.string().describe('the host others see (a cloak when cloaking is on)'),
  real_host: z.string().optional().describe('only for tokens with see_hidden'),
  ip: z.string().optional().describe('only for tokens with see_hidden'),
  realname: z.string(),
  account: z.string().nullable(),
  modes: z.string(),
  oper: z.string().nullable().describe('the oper block name'),
  away: z.string().nullable(),
  channels: z.array(z.string()),
  idle_seconds: z.number().int(),
  signon: z.number().int().describe('epoch seconds'),
  sessions: z.number().int().describe('connections of this user (more than one with multiclient)'),
});

const listEntrySchema = z.object({ mask: z.string(), set_by: z.string(), set_at: z.number().int() });

const channelSummarySchema = z.object({
  name: z.string(),
  users: z.number().int(),
  modes: z.string(),
  topic: z.string().nullable(),
});

const channelSchema = z.object({
  name: z.string(),
  created_at: z.number().int().describe('epoch seconds'),
  modes: z.string(),
  mode_args: z.array(z.string()).describe('key (shown with see_hidden, else "*") and limit'),
  topic: z.object({ text: z.string(), set_by: z.string(), set_at: z.number().int() }).nullable(),
  members: z.array(z.object({ nick: z.string(), prefixes: z.string().describe('prefix mode letters, e.g. "o"'), account: z.string().nullable() })),
  lists: z.object({ b: z.array(listEntrySchema), e: z.array(listEntrySchema), I: z.array(listEntrySchema) }),
});

const banSchema = z.object({
  kind: z.enum(['K', 'D', 'X']),
  mask: z.string(),
  reason: z.string(),
  set_by: z.string(),
  set_at: z.string().describe('ISO 8601'),
  expires_at: z.string().nullable().describe('ISO 8601; null: permanent'),
});

const accountSchema = z.object({ name: z.string(), email: z.string().nullable(), registered_at: z.string().describe('ISO 8601') });

const okSchema = z.object({ ok: z.literal(true) });

/** Text that ends up in an IRC line: one line, so nothing given here can add a line of its own. */
const oneLine = (max: number) => z.string().max(max).refine((t) => !/[\0\r\n]/.test(t), 'no NUL, CR or LF');
const textBody = z.strictObject({ text: oneLine(400).min(1) });
const listQuery = z.strictObject({
  q: z.string().max(200).optional().describe('case-insensitive text to find in the names (and realname, host, account for users)'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

// ---- views -------------------------------------------------------------------------------------

function userView(server: Server, c: User, caller: Caller): z.infer<typeof userSchema> {
  const hidden = caller.privileges.has('see_hidden') ? { real_host: c.realHost, ip: c.ip } : {};
  return {
    nick: c.nick,
    user: c.user,
    host: c.host,
    ...hidden,
    realname: c.realname,
    account: c.account ?? null,
    modes: userModeString(c),
    oper: c.oper?.name ?? null,
    away: c.away ?? null,
    channels: [...server.state.channelsOf(c)].map((ch) => ch.name),
    idle_seconds: Math.floor((Date.now() - c.lastActiveAt) / 1000),
    signon: Math.floor(c.signonAt / 1000),
    sessions: c.sessions.length,
  };
}

function channelView(channel: Channel, caller: Caller): z.infer<typeof channelSchema> {
  const [modes, ...modeArgs] = currentModes(channel, caller.privileges.has('see_hidden'));
  const list = (letter: string) => channel.list(letter).map((e) => ({ mask: e.mask, set_by: e.setBy, set_at: e.setAt }));
  return {
    name: channel.name,
    created_at: channel.createdAt,
    modes: modes!,
    mode_args: modeArgs,
    topic: channel.topic ? { text: channel.topic.text, set_by: channel.topic.setBy, set_at: channel.topic.setAt } : null,
    members: [...channel.members].map(([m, prefixes]) => ({ nick: m.nick, prefixes, account: m.account ?? null })),
    lists: { b: list('b'), e: list('e'), I: list('I') },
  };
}

function banView(ban: ServerBan): z.infer<typeof banSchema> {
  return {
    kind: ban.kind,
    mask: ban.mask,
    reason: ban.reason,
    set_by: ban.setBy,
    set_at: new Date(ban.setAt).toISOString(),
    expires_at: ban.expiresAt === undefined ? null : new Date(ban.expiresAt).toISOString(),
  };
}

/** "API token NAME": how the opers' notices name who acted. */
function byToken(caller: Caller): string {
  return `API token ${caller.name}`;
}

function findUser(server: Server, nick: string): User {
  const c = server.state.findNick(nick);
  if (!c?.registered) throw new ApiError(404, 'NO_SUCH_NICK', `no user is using the nick "${nick}"`);
  return c;
}

function findChannel(server: Server, name: string): Channel {
  const channel = server.state.findChannel(name);
  if (!channel) throw new ApiError(404, 'NO_SUCH_CHANNEL', `no channel is named "${name}"`);
  return channel;
}

/** The first `limit` of `items` (sorted by `key`) that `matches`, with the total. */
function page<T>(items: Iterable<T>, matches: (t: T) => boolean, key: (t: T) => string, limit: number): { found: T[]; total: number } {
  const found = [...items].filter(matches).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return { found: found.slice(0, limit), total: found.length };
}

function contains(needle: string | undefined, ...haystack: Array<string | undefined>): boolean {
  if (!needle) return true;
  const n = needle.toLowerCase();
  return haystack.some((h) => h !== undefined && h.toLowerCase().includes(n));
}

/** The running count of messages the graph shows (PRIVMSG and NOTICE handled). */
export function messagesTotal(server: Server): number {
  return (server.router.usage.get('PRIVMSG') ?? 0) + (server.router.usage.get('NOTICE') ?? 0);
}

// ---- the routes ----------------------------------------------------------------------------------

const nickParam = z.strictObject({ nick: oneLine(64).min(1) });
const channelParam = z.strictObject({ channel: oneLine(200).min(1).describe('the channel name, URL-encoded (%23 for #)') });
const accountParam = z.strictObject({ name: oneLine(64).min(1) });
const banKind = z.enum(['K', 'D', 'X']).describe('K: user@host, D: IP or CIDR range, X: realname');
const duration = z
  .string()
  .max(32)
  .refine((d) => parseDuration(d) !== undefined, 'a duration such as 90, 30m, 1h30m, 7d or "perm"')
  .describe('90 (seconds), 30m, 1h30m, 7d; absent or "perm": permanent');

export function apiRoutes(activity: (server: Server) => Sample[]): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/status',
      summary: 'Server status and live counts',
      response: z.object({
        name: z.string(),
        network: z.string(),
        version: z.string(),
        uptime_seconds: z.number().int(),
        users: z.number().int(),
        max_clients: z.number().int(),
        connections: z.number().int(),
        opers: z.number().int(),
        channels: z.number().int(),
        server_bans: z.number().int(),
        messages_total: z.number().int(),
      }),
      handler: ({ server }) => ({
        body: {
          name: server.name,
          network: server.config.server.network,
          version: server.version,
          uptime_seconds: Math.floor((Date.now() - server.startedAt) / 1000),
          users: server.state.registeredCount,
          max_clients: server.config.server.max_clients,
          connections: server.connectionCount,
          opers: server.state.withMode('o').size,
          channels: server.state.channels.size,
          server_bans: bansOf(server).size,
          messages_total: messagesTotal(server),
        },
      }),
    }),
    route({
      method: 'GET',
      path: '/api/activity',
      summary: 'Users and messages per minute over the last hour',
      response: z.object({
        interval_seconds: z.number().int(),
        samples: z.array(z.object({ at: z.string().describe('ISO 8601'), users: z.number().int(), messages: z.number().int() })),
      }),
      handler: ({ server }) => ({
        body: { interval_seconds: 60, samples: activity(server).map((s) => ({ at: new Date(s.at).toISOString(), users: s.users, messages: s.messages })) },
      }),
    }),
    route({
      method: 'GET',
      path: '/api/whoami',
      summary: 'The token used: its name and privileges',
      response: z.object({ name: z.string(), privileges: z.array(z.string()) }),
      handler: ({ caller }) => ({ body: { name: caller.name, privileges: [...caller.privileges].sort() } }),
    }),
    route({
      method: 'GET',
      path: '/api/users',
      summary: 'List or search users',
      query: listQuery,
      response: z.object({ users: z.array(userSchema), total: z.number().int() }),
      handler: ({ server, caller, query }) => {
        const seeHidden = caller.privileges.has('see_hidden');
        const { found, total } = page(
          server.registeredClients(),
          (c) => contains(query.q, c.nick, c.user, c.host, c.realname, c.account, seeHidden ? c.realHost : undefined, seeHidden ? c.ip : undefined),
          (c) => c.nickKey,
          query.limit,
        );
        return { body: { users: found.map((c) => userView(server, c, caller)), total } };
      },
    }),
    route({
      method: 'GET',
      path: '/api/users/{nick}',
      summary: 'One user',
      params: nickParam,
      response: userSchema,
      errors: { NO_SUCH_NICK: 404 },
      handler: ({ server, caller, params }) => ({ body: userView(server, findUser(server, params.nick), caller) }),
    }),
    route({
      method: 'POST',
      path: '/api/users/{nick}/kill',
      summary: 'Disconnect a user (KILL)',
      privilege: 'kill',
      changes: true,
      params: nickParam,
      body: z.strictObject({ reason: oneLine(400).optional() }),
      response: okSchema,
      errors: { NO_SUCH_NICK: 404, IS_SERVICE: 409 },
      handler: ({ server, caller, params, body }) => {
        const victim = findUser(server, params.nick);
        if (server.state.isService(victim)) throw new ApiError(409, 'IS_SERVICE', `${victim.nick} is a network service and cannot be killed`);
        killUser(server, victim, server.name, byToken(caller), killReason(server, body.reason));
        return { body: { ok: true } };
      },
    }),
    route({
      method: 'GET',
      path: '/api/channels',
      summary: 'List or search channels',
      query: listQuery,
      response: z.object({ channels: z.array(channelSummarySchema), total: z.number().int() }),
      handler: ({ server, query }) => {
        const { found, total } = page(server.state.channels.values(), (ch) => contains(query.q, ch.name, ch.topic?.text), (ch) => ch.folded, query.limit);
        const channels = found.map((ch) => ({ name: ch.name, users: ch.members.size, modes: currentModes(ch, false)[0]!, topic: ch.topic?.text ?? null }));
        return { body: { channels, total } };
      },
    }),
    route({
      method: 'GET',
      path: '/api/channels/{channel}',
      summary: 'One channel: modes, topic, members, lists',
      params: channelParam,
      response: channelSchema,
      errors: { NO_SUCH_CHANNEL: 404 },
      handler: ({ server, caller, params }) => ({ body: channelView(findChannel(server, params.channel), caller) }),
    }),
    route({
      method: 'PUT',
      path: '/api/channels/{channel}/topic',
      summary: 'Set or clear (with "") the topic; members see a TOPIC from the server',
      privilege: 'override',
      changes: true,
      params: channelParam,
      body: z.strictObject({ topic: oneLine(1000) }),
      response: z.object({ topic: z.string().describe('as set, cut to limits.topiclen') }),
      errors: { NO_SUCH_CHANNEL: 404 },
      handler: ({ server, params, body }) => ({ body: { topic: setChannelTopic(server, findChannel(server, params.channel), body.topic, undefined) } }),
    }),
    route({
      method: 'POST',
      path: '/api/channels/{channel}/modes',
      summary: 'Change channel modes as MODE does; members see a MODE from the server',
      privilege: 'override',
      changes: true,
      params: channelParam,
      body: z.strictObject({
        modes: z.string().regex(/^[+-][A-Za-z+-]{0,40}$/, 'a mode string such as "+nt" or "+b-o"'),
        args: z.array(z.string().min(1).max(300).regex(/^[^\s,\0]+$/, 'one word')).max(20).default([]),
      }),
      response: z.object({
        applied: z.array(z.string()).describe('the MODE line members saw: mode string and arguments; empty when nothing changed'),
        errors: z.array(z.object({ numeric: z.string(), params: z.array(z.string()) })),
        unknown: z.array(z.string()),
      }),
      errors: { NO_SUCH_CHANNEL: 404 },
      handler: ({ server, params, body }) => {
        const channel = findChannel(server, params.channel);
        const result = applyChannelModes(server, channel, [body.modes, ...body.args], undefined);
        const applied = result.applied.length === 0 ? [] : formatModeChanges(result.applied);
        return { body: { applied, errors: result.errors.map((e) => ({ numeric: e.code, params: e.params })), unknown: result.unknown } };
      },
    }),
    route({
      method: 'POST',
      path: '/api/channels/{channel}/kick',
      summary: 'Kick a member; the channel sees a KICK from the server',
      privilege: 'override',
      changes: true,
      params: channelParam,
      body: z.strictObject({ nick: oneLine(64).min(1), reason: oneLine(400).optional() }),
      response: okSchema,
      errors: { NO_SUCH_CHANNEL: 404, NO_SUCH_NICK: 404, NOT_ON_CHANNEL: 409 },
      handler: ({ server, caller, params, body }) => {
        const channel = findChannel(server, params.channel);
        const target = findUser(server, body.nick);
        if (!channel.members.has(target)) throw new ApiError(409, 'NOT_ON_CHANNEL', `${target.nick} is not on ${channel.name}`);
        server.state.kick(channel, target, undefined, truncateUtf8(body.reason || byToken(caller), server.config.limits.kicklen));
        return { body: { ok: true } };
      },
    }),
    route({
      method: 'GET',
      path: '/api/bans',
      summary: 'Server bans (K-, D- and X-lines)',
      privilege: 'ban',
      query: z.strictObject({ kind: banKind.optional() }),
      response: z.object({ bans: z.array(banSchema) }),
      handler: ({ server, query }) => {
        const kinds: BanKind[] = query.kind ? [query.kind] : ['K', 'D', 'X'];
        return { body: { bans: kinds.flatMap((k) => bansOf(server).list(k)).map(banView) } };
      },
    }),
    route({
      method: 'POST',
      path: '/api/bans',
      summary: 'Add a server ban, checked as KLINE/DLINE/XLINE check it; users it covers are disconnected',
      privilege: 'ban',
      changes: true,
      body: z.strictObject({
        kind: banKind,
        mask: oneLine(300).min(1).describe('user@host (K), IP or CIDR (D), realname glob (X); a nick online stands for its host or IP'),
        duration: duration.optional(),
        reason: oneLine(400).optional(),
      }),
      success: 201,
      response: banSchema,
      errors: { INVALID_BAN: 400, LIMIT_REACHED: 409 },
      handler: ({ server, caller, body }) => {
        const seconds = body.duration === undefined ? 0 : parseDuration(body.duration)!;
        const result = addServerBan(server, { kind: body.kind, given: body.mask, seconds, reason: body.reason, setBy: `api:${caller.name}`, by: byToken(caller) });
        if (result.ok) return { status: 201, body: banView(result.ban) };
        if (result.code === 'LIMIT_REACHED') throw new ApiError(409, 'LIMIT_REACHED', result.error);
        throw new ApiError(400, 'INVALID_BAN', result.error);
      },
    }),
    route({
      method: 'DELETE',
      path: '/api/bans/{kind}/{mask}',
      summary: 'Remove a server ban (the mask URL-encoded: %2F for the / of a CIDR)',
      privilege: 'ban',
      changes: true,
      params: z.strictObject({ kind: banKind, mask: oneLine(300).min(1) }),
      response: okSchema,
      errors: { NO_SUCH_BAN: 404 },
      handler: ({ server, caller, params }) => {
        const { mask, removed } = removeServerBan(server, params.kind, params.mask, byToken(caller));
        if (!removed) throw new ApiError(404, 'NO_SUCH_BAN', `no ${params.kind}-Line for [${mask}]`);
        return { body: { ok: true } };
      },
    }),
    route({
      method: 'GET',
      path: '/api/accounts',
      summary: 'List accounts matching a glob (at most accounts.list_max)',
      privilege: 'accounts',
      query: z.strictObject({ mask: z.string().min(1).max(100).default('*') }),
      response: z.object({ accounts: z.array(accountSchema), more: z.boolean() }),
      handler: ({ server, query }) => {
        const { accounts, more } = accountStore(server).list(query.mask, server.config.accounts.list_max);
        return { body: { accounts: accounts.map((a) => ({ name: a.name, email: a.email ?? null, registered_at: new Date(a.registeredAt).toISOString() })), more } };
      },
    }),
    route({
      method: 'POST',
      path: '/api/accounts',
      summary: 'Create an account (as ACCOUNT CREATE)',
      privilege: 'accounts',
      changes: true,
      body: z.strictObject({ name: oneLine(64).min(1), password: z.string().min(1).max(1024), email: oneLine(254).optional() }),
      success: 201,
      response: okSchema,
      errors: { BAD_ACCOUNT_NAME: 400, INVALID_EMAIL: 400, WEAK_PASSWORD: 400, UNACCEPTABLE_PASSWORD: 400, ACCOUNT_EXISTS: 409 },
      handler: async ({ server, body }) => {
        const problem = await createAccount(server, body.name, body.password, body.email);
        if (problem) throw new ApiError(problem.code === 'ACCOUNT_EXISTS' ? 409 : 400, problem.code, problem.text);
        return { status: 201, body: { ok: true } };
      },
    }),
    route({
      method: 'PUT',
      path: '/api/accounts/{name}/password',
      summary: 'Set an account password (as ACCOUNT RESETPASS)',
      privilege: 'accounts',
      changes: true,
      params: accountParam,
      body: z.strictObject({ password: z.string().min(1).max(1024) }),
      response: okSchema,
      errors: { NO_SUCH_ACCOUNT: 404, WEAK_PASSWORD: 400, UNACCEPTABLE_PASSWORD: 400 },
      handler: async ({ server, params, body }) => {
        const result = await resetPassword(server, params.name, body.password);
        if ('code' in result) throw new ApiError(result.code === 'NO_SUCH_ACCOUNT' ? 404 : 400, result.code, result.text);
        return { body: { ok: true } };
      },
    }),
    route({
      method: 'DELETE',
      path: '/api/accounts/{name}',
      summary: 'Drop an account; its users are logged out (as ACCOUNT DROP)',
      privilege: 'accounts',
      changes: true,
      params: accountParam,
      response: okSchema,
      errors: { NO_SUCH_ACCOUNT: 404 },
      handler: ({ server, params }) => {
        if (!dropAccount(server, params.name)) throw new ApiError(404, 'NO_SUCH_ACCOUNT', `no account is named "${params.name}"`);
        return { body: { ok: true } };
      },
    }),
    route({
      method: 'POST',
      path: '/api/rehash',
      summary: 'Reload the configuration file (as REHASH); a file that does not validate changes nothing',
      privilege: 'rehash',
      changes: true,
      response: z.object({
        ok: z.literal(true),
        needs_restart: z.array(z.string()).describe('keys changed in the file that apply only at a restart'),
        message: z.string(),
      }),
      errors: { CONFIG_INVALID: 422 },
      handler: async ({ server, caller }) => {
        const result = await rehashConfig(server, `API token ${caller.name}`, byToken(caller));
        if (!result.ok) throw new ApiError(422, 'CONFIG_INVALID', 'the configuration is invalid; nothing changed', rehashErrorLines(result.error));
        const message = result.needsRestart.length ? `Reloaded; ${describeRestartNeeded(result.needsRestart)}` : 'Reloaded';
        return { body: { ok: true, needs_restart: result.needsRestart, message } };
      },
    }),
    route({
      method: 'POST',
      path: '/api/notice',
      summary: 'Send a NOTICE from the server to every user',
      privilege: 'wallops',
      changes: true,
      body: textBody,
      response: z.object({ recipients: z.number().int() }),
      handler: ({ server, body }) => {
        let recipients = 0;
        for (const c of server.registeredClients()) {
          c.fromServer('NOTICE', [c.nick, body.text]);
          recipients++;
        }
        return { body: { recipients } };
      },
    }),
    route({
      method: 'POST',
      path: '/api/wallops',
      summary: 'Send a WALLOPS from the server (to users with +w)',
      privilege: 'wallops',
      changes: true,
      body: textBody,
      response: okSchema,
      handler: ({ server, caller, body }) => {
        sendWallops(server, undefined, body.text);
        serverNotice(server, 'o', `${byToken(caller)} sent a WALLOPS`);
        return { body: { ok: true } };
      },
    }),
  ];
}
