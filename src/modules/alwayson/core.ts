// Always-on users, the part other modules use: which account is always-on (the server's policy and
// the account's own setting), which user is an account's always-on user, and the store rows kept
// true on every change. The module itself (index.ts) detaches, restores, attaches and expires.
// Spec: none (a server feature, as Ergo's always-on clients): https://ergo.chat/manual.html#always-on
import type { Config } from '../../config/schema.js';
import type { User } from '../../server/user.js';
import type { Server } from '../../server/server.js';
import { serverSlot, userSlot } from '../../server/slots.js';
import { AlwaysOnStore } from '../../store/alwayson.js';

/** What the module keeps per server. */
export interface AlwaysOnRuntime {
  store: AlwaysOnStore;
  /** Casefolded account → its always-on user (at most one per account; max_users in all). */
  users: Map<string, User>;
  /** Users whose row is to be written, and accounts whose row is to be deleted, at the end of the tick. */
  dirty: Set<User>;
  forgotten: Set<string>;
  flushing: NodeJS.Immediate | undefined;
  /** Channels of users State let go of while the server stops, for their rows still to write. */
  stoppedIn: Map<User, string[]>;
  /** The timer that marks detached users away and expires them. */
  sweep: NodeJS.Timeout | undefined;
  /** True while the module itself sets or clears an automatic away message. */
  settingAway: boolean;
}

/** An always-on user's own state. */
export interface AlwaysOnInfo {
  /** Its casefolded account (the key of its row). */
  account: string;
  /** When its last session closed (ms); undefined while one is attached. */
  detachedAt: number | undefined;
  /** Whether its away message is the automatic one (never stored: it is set again after a restart). */
  autoAway: boolean;
}

export const runtimes = serverSlot<AlwaysOnRuntime>('always-on');
export const infos = userSlot<AlwaysOnInfo>();

/** Whether an account whose own setting is `own` (undefined: none) is always-on under the config. */
export function alwaysOnUnder(cfg: Config, own: boolean | undefined): boolean {
  const policy = cfg.always_on.policy;
  if (policy === 'disabled' || !cfg.accounts.multiclient) return false;
  if (policy === 'mandatory') return true;
  return policy === 'opt-out' ? own !== false : own === true;
}

/** Whether an account (casefolded) is always-on under the policy and its own setting. */
export function accountIsAlwaysOn(server: Server, folded: string): boolean {
  return alwaysOnUnder(server.config, runtimes.require(server).store.setting(folded));
}

/** The always-on user of an account (any casing), if it has one. */
export function alwaysOnUserOf(server: Server, account: string): User | undefined {
  return runtimes.get(server)?.users.get(server.state.fold(account));
}

/** Writes the pending changes in one transaction (the end of the tick, or the server stopping). */
export function flush(server: Server): void {
  const rt = runtimes.get(server);
  if (!rt) return;
  clearImmediate(rt.flushing);
  rt.flushing = undefined;
  if (rt.dirty.size === 0 && rt.forgotten.size === 0) return;
  const saved = [...rt.dirty].flatMap((user) => {
    const info = infos.get(user);
    if (!info) return [];
    return [
      {
        account: info.account,
        nick: user.nick,
        user: user.user,
        host: user.host,
        real_host: user.realHost,
        ip: user.ip,
        realname: user.realname,
        away: info.autoAway ? null : (user.away ?? null),
        detached_at: info.detachedAt ?? null,
        channels: rt.stoppedIn.get(user) ?? [...server.state.channelsOf(user)].map((c) => c.name),
      },
    ];
  });
  const forgotten = [...rt.forgotten];
  rt.dirty.clear();
  rt.forgotten.clear();
  try {
    rt.store.write(saved, forgotten);
  } catch (err) {
    server.log.error({ err: (err as Error).message }, 'always-on users could not be written to the store');
  }
}

/** Notes that an always-on user changed: its row is written at the end of the tick. */
export function touch(server: Server, user: User): void {
  if (!infos.get(user)) return;
  const rt = runtimes.require(server);
  rt.dirty.add(user);
  rt.flushing ??= setImmediate(() => flush(server));
}

/**
 * Makes a logged-in local user its account's always-on user, when the account is always-on, has
 * none yet and max_users leaves room. Returns why not, or undefined when it is (or already was).
 */
export function makeAlwaysOn(server: Server, user: User): string | undefined {
  if (infos.get(user)) return undefined;
  const rt = runtimes.require(server);
  if (user.account === undefined || !user.registered || server.state.isService(user) || server.state.serverOf(user) !== server.state.me)
    return 'only a logged-in user of this server can be always-on';
  const folded = server.state.fold(user.account);
  if (!accountIsAlwaysOn(server, folded)) return 'the account is not always-on';
  const holder = rt.users.get(folded);
  if (holder) return `the account's always-on user is ${holder.nick}`;
  if (rt.users.size >= server.config.always_on.max_users) return 'the server keeps as many always-on users as it may';
  infos.set(user, { account: folded, detachedAt: user.sessions.length === 0 ? Date.now() : undefined, autoAway: false });
  rt.users.set(folded, user);
  rt.forgotten.delete(folded);
  touch(server, user);
  server.log.info({ user: user.id, nick: user.nick, account: user.account }, 'always-on');
  return undefined;
}

/** The user is no longer always-on (logged out, setting off, quit): its row goes; the user itself stays if it has sessions. */
export function forget(server: Server, user: User): AlwaysOnInfo | undefined {
  const info = infos.delete(user);
  if (!info) return undefined;
  const rt = runtimes.require(server);
  if (rt.users.get(info.account) === user) rt.users.delete(info.account);
  rt.dirty.delete(user);
  rt.forgotten.add(info.account);
  rt.flushing ??= setImmediate(() => flush(server));
  return info;
}

/**
 * NickServ SET ALWAYS-ON: the account's own setting ("on", "off" or "default": the policy's), and
 * the user asking made always-on or not at once. Returns the text to answer with.
 */
export function setAlwaysOn(server: Server, client: User, account: string, value: string): string {
  const cfg: Config['always_on'] = server.config.always_on;
  const v = value.toLowerCase();
  const setting = ['on', 'true', 'yes'].includes(v) ? true : ['off', 'false', 'no'].includes(v) ? false : v === 'default' ? undefined : null;
  if (setting === null) return `Unknown value ${value}: use ON, OFF or DEFAULT.`;
  if (cfg.policy === 'disabled' || !server.config.accounts.multiclient) return 'Always-on is disabled on this server.';
  if (cfg.policy === 'mandatory') return 'Always-on is mandatory on this server: every account is always-on.';
  const rt = runtimes.require(server);
  const folded = server.state.fold(account);
  rt.store.setSetting(folded, setting);
  const on = accountIsAlwaysOn(server, folded);
  const holder = rt.users.get(folded);
  if (!on && holder) {
    forget(server, holder);
    // Asked from another user of the account: the always-on one, without a connection, goes.
    if (holder.sessions.length === 0) server.disconnect(holder, { kind: 'other', text: 'Always-on was turned off' });
  }
  if (on && !holder) {
    const why = makeAlwaysOn(server, client);
    if (why) return `Always-on is now on for ${account}, but you are not always-on: ${why}.`;
  }
  return on ? `Always-on is now on for ${account}: you stay online when your last connection closes.` : `Always-on is now off for ${account}.`;
}
