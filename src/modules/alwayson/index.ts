// Always-on users: a logged-in user whose account is always-on stays when its last connection
// closes (nick held, channels kept, no QUIT seen), is marked away after a delay, keeps getting
// messages (history keeps them), survives restarts (restored from the store before the listeners
// open), and takes back a connection that logs in to its account (SASL at registration, NickServ
// IDENTIFY or REGISTER after it), which gets its channels and the messages it missed. It quits for
// real on KILL, a ban, GHOST, logging out, its account's drop, or expiry.
// Spec: none (a server feature, as Ergo's always-on clients): https://ergo.chat/manual.html#always-on
import { formatDuration } from '../../protocol/duration.js';
import type { Module } from '../../server/module.js';
import type { Server } from '../../server/server.js';
import { runAsSession, type User } from '../../server/user.js';
import { AlwaysOnStore, type StoredAlwaysOn } from '../../store/alwayson.js';
import { defaultModes } from '../channels/join.js';
import { attach } from '../multiclient.js';
import { accountIsAlwaysOn, alwaysOnUnder, alwaysOnUserOf, flush, forget, infos, makeAlwaysOn, runtimes, touch, type AlwaysOnInfo } from './core.js';
import { replayMissed } from './replay.js';

/** How often detached users are checked for their automatic away and their expiry. */
const SWEEP_MS = 1000;

/** Sets or clears the automatic away message, which is not the user's own (not stored, not kept by a change of it). */
function setAutoAway(server: Server, user: User, info: AlwaysOnInfo, on: boolean): void {
  const rt = runtimes.require(server);
  info.autoAway = on;
  rt.settingAway = true;
  try {
    server.state.setAway(user, on ? server.config.always_on.away_message : undefined);
  } finally {
    rt.settingAway = false;
  }
}

/** Marks away the detached users whose delay passed, and lets go those idle past expire_after. */
function sweep(server: Server): void {
  const cfg = server.config.always_on;
  const now = Date.now();
  for (const user of [...runtimes.require(server).users.values()]) {
    const info = infos.get(user);
    if (!info || info.detachedAt === undefined || user.sessions.length > 0) continue;
    if (cfg.expire_after > 0 && now - info.detachedAt >= cfg.expire_after * 1000) {
      server.log.info({ user: user.id, nick: user.nick, account: user.account }, 'always-on user expired');
      server.disconnect(user, { kind: 'other', text: `Always-on user expired: no connection for ${formatDuration(cfg.expire_after)}` });
      continue;
    }
    if (autoAwayDue(server, user, info, now)) setAutoAway(server, user, info, true);
  }
}

/** Runs work of a timer: a failure is logged, never the end of the process. */
function guarded(server: Server, what: string, work: () => void): void {
  try {
    work();
  } catch (err) {
    server.log.error({ module: 'always-on', what, err: err instanceof Error ? err.stack : String(err) }, 'always-on work failed');
  }
}

/** Whether a detached user is to be marked away now. */
function autoAwayDue(server: Server, user: User, info: AlwaysOnInfo, now: number): boolean {
  const cfg = server.config.always_on;
  return cfg.auto_away && !info.autoAway && user.away === undefined && info.detachedAt !== undefined && now - info.detachedAt >= cfg.away_after * 1000;
}

/**
 * Attaches `client`'s connection to its account's always-on user: the user comes back from its
 * automatic away, the session gets the user's channels and, when the user had no session, the
 * messages it missed.
 */
function resume(server: Server, client: User, user: User, welcome: ((user: User) => void) | undefined): void {
  const info = infos.get(user)!;
  const since = info.detachedAt;
  info.detachedAt = undefined;
  if (info.autoAway) setAutoAway(server, user, info, false);
  touch(server, user);
  const session = attach(server, client, user, welcome);
  if (since !== undefined) runAsSession(session, () => replayMissed(server, user, since));
}

/** The account's always-on user, when `client` (logged in to that account) may attach to it. */
function attachable(server: Server, client: User): User | undefined {
  if (client.account === undefined || server.state.serverOf(client) !== server.state.me) return undefined;
  const user = alwaysOnUserOf(server, client.account);
  if (!user || user === client || user.sessions.length >= server.config.accounts.max_sessions) return undefined;
  return user;
}

/** A user logged in or out: an always-on user that left its account stops being one; a login may attach or make one. */
function accountChanged(server: Server, client: User): void {
  const info = infos.get(client);
  if (info && (client.account === undefined || server.state.fold(client.account) !== info.account)) {
    forget(server, client);
    // Without a session it was only kept for the account.
    if (client.sessions.length === 0 && server.state.serverOf(client) === server.state.me)
      server.disconnect(client, { kind: 'other', text: 'Logged out of its account' });
  }
  if (!client.registered || client.account === undefined || client.sessions.length !== 1) return;
  if (!attachable(server, client)) {
    makeAlwaysOn(server, client);
    return;
  }
  // Logged in after registering (NickServ IDENTIFY): the command answers first, then the
  // connection moves to the always-on user.
  setImmediate(() =>
    guarded(server, 'attach', () => {
      const user = attachable(server, client);
      if (!user || !client.registered || client.sessions.length !== 1 || client.session.conn.closed) return;
      resume(server, client, user, undefined);
    }),
  );
}

/**
 * Brings back one stored always-on user with its channels (no prefixes: see docs/always-on.md);
 * the user when its row is to be written again.
 */
function restoreUser(server: Server, row: StoredAlwaysOn): User | undefined {
  const rt = runtimes.require(server);
  if (!alwaysOnUnder(server.config, row.enabled === null ? undefined : row.enabled === 1)) {
    server.log.info({ nick: row.nick, account: row.name }, 'always-on user not restored: its account is no longer always-on');
    rt.forgotten.add(row.account);
    return;
  }
  if (server.state.findNick(row.nick) || server.state.findLookalike(row.nick)) {
    server.log.warn({ nick: row.nick, account: row.name }, 'always-on user not restored: its nick is taken');
    rt.forgotten.add(row.account);
    return;
  }
  if (rt.users.size >= server.config.always_on.max_users) {
    server.log.warn({ nick: row.nick, account: row.name }, 'always-on user not restored: max_users reached');
    return;
  }
  const identity = { nick: row.nick, user: row.user, host: row.host, realHost: row.real_host, realname: row.realname, ip: row.ip };
  const info: AlwaysOnInfo = { account: row.account, detachedAt: row.detached_at ?? Date.now(), autoAway: false };
  const user = server.introduceSessionlessUser(identity, server.state.me, (client) => {
    infos.set(client, info);
    server.state.setAccount(client, row.name);
  });
  rt.users.set(row.account, user);
  // Away before the joins: nobody is there yet to be told.
  if (row.away !== null) server.state.setAway(user, row.away);
  else if (autoAwayDue(server, user, info, Date.now())) setAutoAway(server, user, info, true);
  const flags = defaultModes(server.config.channels.default_modes);
  for (const name of row.channels.slice(0, server.config.limits.channels_per_user)) {
    const { channel } = server.state.getOrCreateChannel(name, flags);
    if (channel.members.has(user)) continue;
    server.state.addMember(channel, user, '');
    server.emit('joined', user, channel);
  }
  // A restart is not a new detach: what was written before it stands (detached_at of a user that
  // had a session at the crash becomes now).
  return row.detached_at === null ? user : undefined;
}

/** After a REHASH: users whose account is no longer always-on (policy, multiclient) stop being it; those without a connection quit. */
function rehashed(server: Server): void {
  for (const user of [...runtimes.require(server).users.values()]) {
    const info = infos.get(user)!;
    if (accountIsAlwaysOn(server, info.account)) continue;
    forget(server, user);
    if (user.sessions.length === 0) server.disconnect(user, { kind: 'other', text: 'Always-on was turned off' });
  }
}

export const alwaysOn: Module = {
  name: 'always-on',
  hooks: { rehashed },
  init(server) {
    runtimes.set(server, {
      store: new AlwaysOnStore(server.db),
      users: new Map(),
      dirty: new Set(),
      forgotten: new Set(),
      flushing: undefined,
      stoppedIn: new Map(),
      sweep: undefined,
      settingAway: false,
    });
    server.stats.alwaysOn = () => {
      let detached = 0;
      const users = runtimes.require(server).users;
      for (const u of users.values()) if (u.sessions.length === 0) detached++;
      return { attached: users.size - detached, detached };
    };
    const events = server.state.events;
    events.on('userIntroduced', ({ client }) => {
      if (client.account !== undefined && !infos.get(client)) makeAlwaysOn(server, client);
    });
    events.on('accountChanged', ({ client }) => accountChanged(server, client));
    for (const name of ['nickChanged', 'realnameChanged', 'hostChanged', 'joined', 'parted', 'kicked'] as const)
      events.on(name, ({ client }) => touch(server, client));
    events.on('awayChanged', ({ client }) => {
      const info = infos.get(client);
      if (!info) return;
      // The automatic message is not stored; the user's own AWAY replaces it (and is); its "back" ends both.
      if (runtimes.require(server).settingAway) return;
      info.autoAway = false;
      touch(server, client);
    });
    events.on('channelRenamed', ({ channel }) => {
      for (const member of channel.members.keys()) touch(server, member);
    });
    events.on('userQuit', ({ client, channels }) => {
      if (!server.stopping) return forget(server, client);
      // Stopping is no quit: the user comes back at the next start, in the channels it had, even
      // when a change of it (a detach in the same turn) is written after State let go of it.
      if (infos.get(client)) runtimes.require(server).stoppedIn.set(client, [...channels.keys()].map((c) => c.name));
    });
  },
  restore(server) {
    const rt = runtimes.require(server);
    const started = Date.now();
    const changed = rt.store.all().flatMap((row) => restoreUser(server, row) ?? []);
    // The joins above asked for every row to be written again: only those that changed need it.
    rt.dirty = new Set(changed);
    flush(server);
    const cfg = server.config.always_on;
    server.log.info({ users: rt.users.size, policy: cfg.policy, ms: Date.now() - started }, 'always-on users restored');
    rt.sweep = setInterval(() => guarded(server, 'sweep', () => sweep(server)), SWEEP_MS).unref();
    sweep(server);
  },
  keepsUser(server, client, reason) {
    const info = infos.get(client);
    // KILL, a ban and GHOST end the user; a closed connection (QUIT included) only detaches it.
    if (!info || reason.kind === 'kill' || reason.kind === 'ban') return false;
    info.detachedAt = Date.now();
    touch(server, client);
    // With no delay, away at once (not for a shutdown: the start after it decides).
    if (reason.kind !== 'shutdown' && autoAwayDue(server, client, info, info.detachedAt)) setAutoAway(server, client, info, true);
    return true;
  },
  attachesAtRegistration(server, client, welcome) {
    const user = attachable(server, client);
    if (!user) return false;
    resume(server, client, user, welcome);
    return true;
  },
  close(server) {
    const rt = runtimes.get(server);
    if (!rt) return;
    clearInterval(rt.sweep);
    flush(server);
    runtimes.delete(server);
    server.stats.alwaysOn = undefined;
  },
};
