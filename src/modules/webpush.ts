// Push notifications (IRCv3 draft/webpush, https://github.com/ircv3/ircv3-specifications/pull/471,
// as Ergo implements it): WEBPUSH REGISTER and UNREGISTER keep a logged-in user's subscriptions
// (one per device) in the store under its account; a user of that account with no session (no
// connection: see Server.introduceSessionlessUser) gets its direct messages and the channel
// messages that mention its nick pushed, encrypted for the device (RFC 8291) and signed with the
// server's VAPID key (RFC 8292), announced as ISUPPORT VAPID. The files under webpush/ hold the
// cryptography, the endpoint checks and the bounded delivery. docs/push.md is the operator's guide.
import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { type Cidr, parseCidr } from '../protocol/mask.js';
import { serializeMessage, type Tags } from '../protocol/message.js';
import { Channel } from '../server/channel.js';
import type { User } from '../server/user.js';
import { derivedFrom } from '../server/derived.js';
import { bySubcommand, type Module } from '../server/module.js';
import type { Outgoing } from '../server/outgoing.js';
import type { Server } from '../server/server.js';
import { serverSlot } from '../server/slots.js';
import { type PushSubscription, WebPushStore } from '../store/webpush.js';
import { splitStatusPrefix } from './messaging.js';
import { decodeSubscriptionKeys, encryptPayload, MAX_PAYLOAD, Vapid } from './webpush/crypto.js';
import { postPush, PushQueue } from './webpush/deliver.js';
import { endpointProblem, resolveDestination, type Destination } from './webpush/endpoint.js';
import { mentions } from './webpush/highlight.js';

interface WebPushRuntime {
  store: WebPushStore;
  vapid: Vapid;
  queue: PushQueue;
  /** The config's CA file and allowed ranges, read again when REHASH replaces the config. */
  settings: () => { ca: string | undefined; allowed: Cidr[] };
  sweep: NodeJS.Timeout;
}

const runtimes = serverSlot<WebPushRuntime>('webpush');

/** How often expired subscriptions are deleted (they are skipped at once when they expire). */
const SWEEP_MS = 3600_000;
/** The payload of the test push a new subscription gets (what Ergo sends). */
const TEST_PAYLOAD = Buffer.from('PING webpush');
/** Tags a pushed message keeps: a push payload is small, and the spec requires msgid. */
const PUSHED_TAGS = ['msgid', 'time', 'account'] as const;

type Outcome = { ok: true } | { ok: false; reason: string; gone?: boolean; full?: boolean };

function settingsOf(cfg: Config): { ca: string | undefined; allowed: Cidr[] } {
  return {
    ca: cfg.webpush.ca === undefined ? undefined : readFileSync(cfg.webpush.ca, 'utf8'),
    allowed: cfg.webpush.allow_destinations.map((c) => parseCidr(c)!),
  };
}

/** The name lookup within `ms`: a resolver that never answers must not hold a delivery slot. */
function resolveWithin(url: URL, allowed: Cidr[], ms: number): Promise<Destination> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Destination>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, reason: `${url.hostname} did not resolve within ${ms} ms` }), ms);
  });
  return Promise.race([resolveDestination(url, allowed), late]).finally(() => clearTimeout(timer));
}

/** Encrypts and posts one payload to one subscription, checking where it goes first; all within [webpush] timeout. */
async function deliver(server: Server, rt: WebPushRuntime, sub: PushSubscription, payload: Buffer, urgency: 'normal' | 'high'): Promise<Outcome> {
  const cfg = server.config.webpush;
  const started = Date.now();
  try {
    const { ca, allowed } = rt.settings();
    const url = new URL(sub.endpoint);
    const destination = await resolveWithin(url, allowed, cfg.timeout * 1000);
    if (!destination.ok) return { ok: false, reason: destination.reason };
    const body = encryptPayload(payload, sub);
    const authorization = rt.vapid.authorization(url, cfg.subscriber, Date.now());
    const left = Math.max(1, cfg.timeout * 1000 - (Date.now() - started));
    const status = await postPush({ url, address: destination.address, body, authorization, ttl: cfg.ttl, urgency }, left, ca);
    if (status >= 200 && status < 300) return { ok: true };
    // RFC 8030 section 7.3: a subscription that is gone answers 404 or 410.
    return { ok: false, reason: `the push service answered ${status}`, gone: status === 404 || status === 410 };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

/** Runs a delivery through the bounded queue; a full queue is an outcome too. */
function queued(server: Server, rt: WebPushRuntime, sub: PushSubscription, payload: Buffer, urgency: 'normal' | 'high'): Promise<Outcome> {
  return new Promise((resolve) => {
    const accepted = rt.queue.add(() => deliver(server, rt, sub, payload, urgency).then(resolve));
    if (!accepted) resolve({ ok: false, reason: 'too many push messages are waiting', full: true });
  });
}

/** Pushes one message to every live subscription of a user's account; a gone one is deleted. */
function pushTo(server: Server, user: User, payload: Buffer): void {
  const rt = runtimes.require(server);
  const account = server.state.fold(user.account!);
  const since = Date.now() - server.config.webpush.expiration * 1000;
  for (const sub of rt.store.subscriptionsOf(account, since)) {
    void queued(server, rt, sub, payload, 'high').then((outcome) => {
      if (outcome.ok) return;
      if (outcome.full) {
        // Once, then every thousandth: a full queue under a flood would otherwise flood the log.
        if (rt.queue.dropped === 1 || rt.queue.dropped % 1000 === 0) server.log.warn({ dropped: rt.queue.dropped }, 'push queue full; pushes dropped');
        return;
      }
      if (outcome.gone) rt.store.unsubscribe(account, sub.endpoint);
      // The origin only: the whole endpoint is a capability URL (whoever has it can push).
      const service = new URL(sub.endpoint).origin;
      server.log.info({ account, service, reason: outcome.reason, removed: outcome.gone === true }, 'push not delivered');
    });
  }
}

/** The message as a push payload: the line without CRLF, keeping only msgid, time and account. */
function pushPayload(out: Outgoing): Buffer | undefined {
  const tags: Tags = {};
  for (const key of PUSHED_TAGS) if (out.tags[key] !== undefined) tags[key] = out.tags[key]!;
  const line = Buffer.from(serializeMessage({ ...out.msg, tags }));
  return line.length <= MAX_PAYLOAD ? line : undefined;
}

/** Whom a relayed message is pushed to: the user addressed, or the channel's members it mentions; only users with no session. */
function onRelayed(server: Server, sender: User, target: Channel | User, out: Outgoing): void {
  if (!server.config.webpush.enabled || out.msg.command === 'TAGMSG') return;
  const wanted = (user: User) => user !== sender && user.sessions.length === 0 && user.account !== undefined;
  let payload: Buffer | undefined;
  const push = (user: User) => {
    payload ??= pushPayload(out);
    if (payload) pushTo(server, user, payload);
  };
  if (!(target instanceof Channel)) {
    if (wanted(target)) push(target);
    return;
  }
  const text = out.msg.params[1] ?? '';
  // A STATUSMSG ("@#chan") reached only members at or above its rank.
  const { status } = splitStatusPrefix(server, out.msg.params[0]!);
  const minRank = status ? server.prefixes.rankOfSymbol(status[status.length - 1]!) : undefined;
  for (const [member, prefixes] of target.members) {
    if (!wanted(member) || (minRank !== undefined && !server.prefixes.atLeast(prefixes, minRank))) continue;
    if (mentions(text, member.nick, server.state.fold)) push(member);
  }
}

/** A parameter safe to echo in a FAIL: an endpoint with a space or leading ":" would break the line. */
function echoable(param: string): string {
  return param === '' || param.includes(' ') || param.startsWith(':') ? '*' : param;
}

async function handleRegister(server: Server, client: User, endpoint: string, keysText: string): Promise<void> {
  const fail = (code: string, text: string) => client.standardReply('FAIL', 'WEBPUSH', code, 'REGISTER', echoable(endpoint), text);
  const cfg = server.config.webpush;
  if (!cfg.enabled) return fail('FORBIDDEN', 'Push notifications are disabled on this server');
  if (client.account === undefined) return fail('FORBIDDEN', 'You must be logged in to receive push notifications');
  // Subscriptions belong to an account of this server's store; services' accounts have none here.
  if (!server.config.accounts.enabled) return fail('FORBIDDEN', 'Push notifications need an account of this server; accounts here are the services\'');
  const problem = endpointProblem(endpoint);
  if (problem) return fail('INVALID_PARAMS', `Invalid push endpoint: ${problem}`);
  const keys = decodeSubscriptionKeys(keysText);
  if (typeof keys === 'string') return fail('INVALID_PARAMS', `Invalid subscription keys: ${keys}`);
  const rt = runtimes.require(server);
  const account = server.state.fold(client.account);
  const sub = { endpoint, ...keys };
  // A new endpoint must take a test push first, so a mistyped or unreachable one is refused now.
  if (!rt.store.has(account, endpoint)) {
    // The router runs this client's next command only after this one: one test push per client at a time.
    const outcome = await queued(server, rt, sub, TEST_PAYLOAD, 'normal');
    if (client.session.conn.closed) return;
    if (!outcome.ok) return fail('INVALID_PARAMS', `The test push failed: ${outcome.reason}`);
    if (client.account === undefined || server.state.fold(client.account) !== account) return fail('FORBIDDEN', 'You logged out meanwhile');
  }
  if (rt.store.subscribe(account, sub, cfg.max_subscriptions, Date.now()) === 'full')
    return fail('MAX_REGISTRATIONS', `An account may hold ${cfg.max_subscriptions} push subscriptions; unregister one first`);
  client.fromServer('WEBPUSH', ['REGISTER', endpoint, keysText]);
}

function handleUnregister(server: Server, client: User, endpoint: string): void {
  if (!server.config.webpush.enabled || client.account === undefined) {
    const text = client.account === undefined ? 'You must be logged in to manage push notifications' : 'Push notifications are disabled on this server';
    return client.standardReply('FAIL', 'WEBPUSH', 'FORBIDDEN', 'UNREGISTER', echoable(endpoint), text);
  }
  // The spec: unregistering what is not registered is not an error.
  runtimes.require(server).store.unsubscribe(server.state.fold(client.account), endpoint);
  client.fromServer('WEBPUSH', ['UNREGISTER', endpoint]);
}

export const webpush: Module = {
  name: 'webpush',
  commands: {
    WEBPUSH: {
      minParams: bySubcommand(0, { REGISTER: 3, UNREGISTER: 2 }, 1),
      // Registering makes a test push: an HTTPS request on the server's side.
      penalty: (params) => (params[0]?.toUpperCase() === 'REGISTER' ? 5 : 0),
      handler: (server, client, msg) => {
        const sub = msg.params[0]!.toUpperCase();
        if (sub === 'REGISTER') return handleRegister(server, client, msg.params[1]!, msg.params[2]!);
        if (sub === 'UNREGISTER') return handleUnregister(server, client, msg.params[1]!);
        client.standardReply('FAIL', 'WEBPUSH', 'INVALID_PARAMS', echoable(msg.params[0]!), '*', 'Unknown WEBPUSH subcommand, use REGISTER or UNREGISTER');
      },
      help: [
        'WEBPUSH REGISTER <endpoint> <keys> | WEBPUSH UNREGISTER <endpoint>',
        'Subscribes this device to push notifications of your account (direct messages and',
        'highlights while none of your connections is open), or unsubscribes it. <keys> holds',
        'p256dh and auth as message tags. You must be logged in.',
      ],
    },
  },
  caps: [{ name: 'draft/webpush', offered: (server) => server.config.webpush.enabled }],
  isupport: (cfg, server): Record<string, string> => {
    const rt = runtimes.get(server);
    return cfg.webpush.enabled && rt ? { VAPID: rt.vapid.publicKeyText } : {};
  },
  hooks: {
    messageRelayed: onRelayed,
  },
  init(server) {
    const store = new WebPushStore(server.db);
    const settings = derivedFrom(() => server.config, settingsOf);
    settings(); // an unreadable CA file fails the start, naming the file
    const sweep = setInterval(() => store.expire(Date.now() - server.config.webpush.expiration * 1000), SWEEP_MS).unref();
    runtimes.set(server, {
      store,
      vapid: new Vapid(store.vapidKeys()),
      queue: new PushQueue(() => ({ concurrency: server.config.webpush.concurrency, capacity: server.config.webpush.queue })),
      settings,
      sweep,
    });
  },
  close(server) {
    const rt = runtimes.delete(server);
    if (rt) {
      clearInterval(rt.sweep);
      rt.queue.clear();
    }
  },
};
