// Accounts: registration from IRC (IRCv3 draft/account-registration REGISTER/VERIFY), the oper
// ACCOUNT command, certificate fingerprints for SASL EXTERNAL (CERTFP), logging in and out with
// account-notify, and nick reservation for account names. SASL itself is in sasl.ts.
// Spec: https://ircv3.net/specs/extensions/account-registration · https://ircv3.net/specs/extensions/account-notify · https://ircv3.net/specs/extensions/account-tag
import { AttemptCounter } from '../auth/attempts.js';
import { makeCredentials } from '../auth/scram.js';
import type { Config } from '../config/schema.js';
import { caseFolder } from '../protocol/casemap.js';
import { skeleton } from '../protocol/confusables.js';
import { checkNick } from '../protocol/nickname.js';
import { RPL } from '../protocol/numerics.js';
import { CAP } from '../server/caps.js';
import type { User } from '../server/user.js';
import { notifyInterested } from '../server/interested.js';
import { bySubcommand, type Module } from '../server/module.js';
import { relay } from '../server/outgoing.js';
import type { Server } from '../server/server.js';
import { serverSlot } from '../server/slots.js';
import { AccountStore, normalizeFingerprint } from '../store/accounts.js';
import { checkTables, openStore } from '../store/db.js';
import { validNick } from './registration.js';

/** Per-server state: a module object is shared by every Server in the process (tests run several). */
interface AccountsRuntime {
  store: AccountStore;
  /** REGISTER attempts per IP. */
  registrations: AttemptCounter;
  /** Unauthenticated users on a reserved nick → when they get renamed (enforce mode). */
  reservations: Map<User, number>;
  sweep: NodeJS.Timeout | undefined;
}

const runtimes = serverSlot<AccountsRuntime>('accounts');

function runtime(server: Server): AccountsRuntime {
  return runtimes.require(server);
}

export function accountStore(server: Server): AccountStore {
  return runtime(server).store;
}

/** Why a password may not be used, as an account-registration FAIL code and text; undefined when it is fine. */
export function passwordProblem(cfg: Config['accounts'], password: string): { code: string; text: string } | undefined {
  const len = Buffer.byteLength(password, 'utf8');
  if (len < cfg.password_min_length)
    return { code: 'WEAK_PASSWORD', text: `Passwords must be at least ${cfg.password_min_length} bytes long` };
  if (len > cfg.password_max_length)
    return { code: 'UNACCEPTABLE_PASSWORD', text: `Passwords must be at most ${cfg.password_max_length} bytes long` };
  return undefined;
}

/** Account names are valid nicks, so an account's owner can always use its name as a nick. */
export function validAccountName(cfg: Config, name: string): boolean {
  return validNick(cfg, name);
}

const EMAIL_RE = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/;

// ---- logging in and out ----------------------------------------------------------------------

/** State's `accountChanged`: ACCOUNT to the client itself, its peers and extended-monitor watchers with account-notify (once it is visible). */
function notifyAccount(server: Server, client: User): void {
  if (!client.registered) return;
  const out = relay(client, { source: client.mask, command: 'ACCOUNT', params: [client.account ?? '*'] });
  notifyInterested(server, client, out, CAP['account-notify'], { self: true });
}

/** Marks the client as logged in (900) and tells whoever follows account changes. */
export function logIn(server: Server, client: User, account: string): void {
  client.numeric(RPL.LOGGEDIN, client.mask, account, `You are now logged in as ${account}`);
  server.state.setAccount(client, account);
  server.log.info({ conn: client.id, nick: client.nick, account }, 'logged in');
  checkReservation(server, client);
}

export function logOut(server: Server, client: User): void {
  if (client.account === undefined) return;
  const account = client.account;
  client.numeric(RPL.LOGGEDOUT, client.mask, 'You are now logged out');
  server.state.setAccount(client, undefined);
  server.log.info({ conn: client.id, nick: client.nick, account }, 'logged out');
  checkReservation(server, client);
}

// ---- nick reservation ----------------------------------------------------------------------------

/** Warns (and in enforce mode schedules a rename of) a registered client using someone's account name as nick. */
function checkReservation(server: Server, client: User): void {
  const rt = runtime(server);
  const cfg = server.config.accounts;
  rt.reservations.delete(client);
  // A user of a linked server is its own server's to warn and rename.
  if (cfg.nick_reservation === 'off' || !client.registered || server.state.serverOf(client) !== server.state.me) return;
  const fold = server.state.fold;
  if (client.account !== undefined && fold(client.account) === client.nickKey) return;
  // Under utf8 a look-alike of an account's name (Cyrillic "а" for Latin "a") is reserved as well.
  const exact = rt.store.nameOf(client.nick);
  const owner = exact ?? rt.store.lookalikeOf(client.nick);
  if (owner === undefined || (client.account !== undefined && fold(client.account) === fold(owner))) return;
  const enforce = cfg.nick_reservation === 'enforce';
  const whose = exact !== undefined ? `belongs to the account ${owner}` : `looks like the account ${owner}`;
  const services = server.config.services;
  // Clients without SASL log in through NickServ, when it runs.
  const how = services.enabled ? ` To log in: /msg ${services.nickserv} IDENTIFY <password>` : '';
  const text = enforce
    ? `The nick ${client.nick} ${whose}. Log in to it within ${cfg.nick_grace} seconds or your nick will be changed.${how}`
    : `The nick ${client.nick} ${whose}. Please log in to it or choose another nick.${how}`;
  client.fromServer('NOTICE', [client.nick, text]);
  if (!enforce) return;
  rt.reservations.set(client, Date.now() + cfg.nick_grace * 1000);
  // One timer sweeps every pending rename; it stops when none are left.
  rt.sweep ??= setInterval(() => sweepReservations(server), 1000).unref();
}

function sweepReservations(server: Server): void {
  const rt = runtime(server);
  const now = Date.now();
  for (const [client, deadline] of rt.reservations) {
    if (deadline > now) continue;
    rt.reservations.delete(client);
    // A closing connection's user is leaving; an always-on user without connections is renamed too.
    if (!client.registered || client.sessions.some((s) => s.conn.closed)) continue;
    const guest = guestNick(server);
    if (!guest) continue;
    client.fromServer('NOTICE', [client.nick, `You did not log in to the account ${client.nick}; your nick is now ${guest}.`]);
    server.state.setNick(client, guest);
  }
  if (rt.reservations.size === 0) {
    clearInterval(rt.sweep);
    rt.sweep = undefined;
  }
}

/** A free "Guest<digits>" nick, or undefined when several random tries all collide. */
function guestNick(server: Server): string | undefined {
  for (let i = 0; i < 20; i++) {
    const nick = `Guest${Math.floor(10000 + Math.random() * 90000)}`;
    if (!server.state.findNick(nick)) return nick;
  }
  return undefined;
}

// ---- REGISTER / VERIFY ---------------------------------------------------------------------------

async function handleRegister(server: Server, client: User, requested: string, email: string, password: string): Promise<void> {
  const cfg = server.config.accounts;
  const fail = (code: string, account: string, text: string) => client.standardReply('FAIL', 'REGISTER', code, account, text);
  if (!cfg.registration || !cfg.enabled) return fail('TEMPORARILY_UNAVAILABLE', requested, 'Account registration is disabled on this server');
  // Registering early must not get around a server password: those clients register first.
  if (!client.registered && (!cfg.register_before_connect || server.admission.allowFor(client.ip, client.realHost)?.password))
    return fail('COMPLETE_CONNECTION_REQUIRED', requested, 'Complete connection registration before registering an account');
  // "*" names the current nick; before registration that is the nick last asked for, so a taken
  // nick is refused as ACCOUNT_EXISTS instead of being claimed from its holder later.
  const given = requested === '*' ? (client.registered ? client.nick : client.requestedNick) : requested;
  // Kept in the form a nick would be (NFC under utf8), so the name shows the same everywhere.
  const check = given === undefined ? undefined : checkNick(given, server.config.server.casemapping, server.config.limits.nicklen);
  const name = check?.ok ? check.nick : given;
  if (name === undefined) return fail('NEED_NICK', '*', 'Send NICK before registering an account named after it');
  const result = await registerAccount(server, client, name, email === '*' ? undefined : email, password);
  if (result === 'gone') return;
  if (result !== 'created') return fail(result.code, result.account, result.text);
  client.fromServer('REGISTER', ['SUCCESS', name, 'Account successfully registered']);
  logIn(server, client, name);
}

/**
 * Registration's checks and the account's creation, for REGISTER and NickServ REGISTER: the
 * client must not be logged in, the name must be free (no account, no other user's nick), be
 * the client's nick unless custom names are allowed, and follow the nick rules; the email and
 * password are checked and the per-address limit applies. 'created' when stored (the caller
 * answers and logs the client in), 'gone' when its connection closed meanwhile.
 */
export async function registerAccount(
  server: Server,
  client: User,
  name: string,
  email: string | undefined,
  password: string,
): Promise<(AccountProblem & { account: string }) | 'created' | 'gone'> {
  const cfg = server.config.accounts;
  const fail = (code: string, account: string, text: string) => ({ code, account, text });
  if (client.account !== undefined) return fail('ALREADY_AUTHENTICATED', client.account, 'You are already logged in');
  const rt = runtime(server);
  const holder = server.state.findNick(name) ?? server.state.findLookalike(name);
  if ((holder && holder !== client) || rt.store.get(name) || rt.store.lookalikeOf(name))
    return fail('ACCOUNT_EXISTS', name, 'That name is not available');
  if (!cfg.custom_account_name && server.state.fold(name) !== client.nickKey)
    return fail('ACCOUNT_NAME_MUST_BE_NICK', name, 'The account name must be your current nick');
  if (!validAccountName(server.config, name))
    return fail('BAD_ACCOUNT_NAME', name, `Account names follow the nick rules (at most ${server.config.limits.nicklen} characters)`);
  if (email !== undefined && (email.length > 254 || !EMAIL_RE.test(email))) return fail('INVALID_EMAIL', name, 'That is not an email address');
  const problem = passwordProblem(cfg, password);
  if (problem) return fail(problem.code, name, problem.text);
  const windowMs = cfg.register_window * 1000;
  if (rt.registrations.count(client.limitKey, windowMs) >= cfg.register_per_ip)
    return fail('TEMPORARILY_UNAVAILABLE', name, 'Too many accounts were registered from your address; try again later');
  // Under way until counted: REGISTERs from one address hashing in parallel see each other in the count.
  const created = await rt.registrations.underWay(client.limitKey, async () => {
    const credentials = await makeCredentials(password, cfg.pbkdf2_iterations);
    if (client.session.conn.closed || !rt.store.create(name, credentials, email)) return false;
    rt.registrations.hit(client.limitKey, windowMs);
    return true;
  });
  if (client.session.conn.closed) return 'gone';
  if (!created) return fail('ACCOUNT_EXISTS', name, 'That name is not available');
  server.log.info({ conn: client.id, ip: client.ip, account: name }, 'account registered');
  return 'created';
}

// Registration never asks for verification (there is no mail transport), so no code is ever valid.
function handleVerify(server: Server, client: User, account: string): void {
  const fail = (code: string, ...rest: string[]) => client.standardReply('FAIL', 'VERIFY', code, ...rest);
  if (!client.registered && !server.config.accounts.register_before_connect)
    return fail('COMPLETE_CONNECTION_REQUIRED', account, 'Complete connection registration first');
  if (client.account !== undefined) return fail('ALREADY_AUTHENTICATED', client.account, 'You are already logged in');
  fail('INVALID_CODE', account, 'No registration is waiting for verification');
}

// ---- ACCOUNT (operators) ---------------------------------------------------------------------------

function notice(client: User, text: string): void {
  client.fromServer('NOTICE', [client.nick, text]);
}

/** An account-management refusal: a FAIL code and its text. */
export interface AccountProblem {
  code: string;
  text: string;
}

/** ACCOUNT CREATE's work (and the API's): the name, email and password checked, the account stored. */
export async function createAccount(server: Server, account: string, password: string, email: string | undefined): Promise<AccountProblem | undefined> {
  const cfg = server.config.accounts;
  if (!validAccountName(server.config, account)) return { code: 'BAD_ACCOUNT_NAME', text: 'Account names follow the nick rules' };
  if (email !== undefined && (email.length > 254 || !EMAIL_RE.test(email))) return { code: 'INVALID_EMAIL', text: 'That is not an email address' };
  const problem = passwordProblem(cfg, password);
  if (problem) return problem;
  const credentials = await makeCredentials(password, cfg.pbkdf2_iterations);
  if (!runtime(server).store.create(account, credentials, email)) return { code: 'ACCOUNT_EXISTS', text: 'That account already exists' };
  return undefined;
}

/**
 * ACCOUNT DROP's work: the account removed, its users logged out and its direct-message history
 * deleted; its stored name, or undefined when there is none.
 */
export function dropAccount(server: Server, name: string): string | undefined {
  const store = runtime(server).store;
  const account = store.get(name);
  if (!account || !store.drop(account.name)) return undefined;
  for (const c of [...server.state.withAccount(account.name)]) logOut(server, c);
  server.emit('accountDropped', server.state.fold(account.name));
  return account.name;
}

/** ACCOUNT RESETPASS's work: the account's stored name, or why the password was not set. */
export async function resetPassword(server: Server, name: string, password: string): Promise<{ account: string } | (AccountProblem & { account: string })> {
  const store = runtime(server).store;
  const account = store.get(name);
  if (!account) return { account: name, code: 'NO_SUCH_ACCOUNT', text: 'No such account' };
  const problem = passwordProblem(server.config.accounts, password);
  if (problem) return { account: account.name, ...problem };
  store.setCredentials(account.name, await makeCredentials(password, server.config.accounts.pbkdf2_iterations));
  return { account: account.name };
}

async function handleAccount(server: Server, client: User, params: string[]): Promise<void> {
  const sub = params[0]!.toUpperCase();
  const name = params[1];
  const cfg = server.config.accounts;
  const rt = runtime(server);
  const fail = (code: string, ...rest: string[]) => client.standardReply('FAIL', 'ACCOUNT', code, ...rest);
  // The router checked each subcommand's parameter count (see minParams below).
  switch (sub) {
    case 'CREATE': {
      const [, account, password, email] = params as [string, string, string, string | undefined];
      const problem = await createAccount(server, account, password, email);
      if (problem) return fail(problem.code, account, problem.text);
      server.log.info({ oper: client.oper?.name, account }, 'account created by an operator');
      return notice(client, `Account ${account} created`);
    }
    case 'DROP': {
      const dropped = dropAccount(server, name!);
      if (!dropped) return fail('NO_SUCH_ACCOUNT', name!, 'No such account');
      server.log.info({ oper: client.oper?.name, account: dropped }, 'account dropped by an operator');
      return notice(client, `Account ${dropped} dropped`);
    }
    case 'RESETPASS': {
      const result = await resetPassword(server, name!, params[2]!);
      if ('code' in result) return fail(result.code, result.account, result.text);
      server.log.info({ oper: client.oper?.name, account: result.account }, 'account password reset by an operator');
      return notice(client, `Password of ${result.account} reset`);
    }
    case 'LIST': {
      const { accounts, more } = rt.store.list(name ?? '*', cfg.list_max);
      for (const a of accounts)
        notice(client, `${a.name} registered ${new Date(a.registeredAt).toISOString()}${a.email ? ` email ${a.email}` : ''}`);
      return notice(client, `End of account list (${accounts.length} shown${more ? `, more match; narrow the mask` : ''})`);
    }
    default:
      fail('UNKNOWN_SUBCOMMAND', params[0]!, 'Use CREATE, DROP, RESETPASS or LIST');
  }
}

// ---- CERTFP (the logged-in user's certificates for SASL EXTERNAL) -----------------------------------


function handleCertfp(server: Server, client: User, params: string[]): void {
  const fail = (code: string, ...rest: string[]) => client.standardReply('FAIL', 'CERTFP', code, ...rest);
  const account = client.account;
  if (account === undefined) return fail('ACCOUNT_REQUIRED', 'Log in to an account first');
  const store = runtime(server).store;
  const sub = (params[0] ?? 'LIST').toUpperCase();
  switch (sub) {
    case 'ADD': {
      const given = params[1];
      const fp = given === undefined ? client.session.conn.certFingerprint : normalizeFingerprint(given);
      if (!fp) return fail('INVALID_FINGERPRINT', given ?? '*', given ? 'Expected a SHA-256 fingerprint (64 hex digits)' : 'Your connection has no client certificate');
      if (store.fingerprints(account).length >= server.config.accounts.max_certfps)
        return fail('LIMIT_REACHED', fp, `An account holds at most ${server.config.accounts.max_certfps} fingerprints`);
      if (store.addFingerprint(account, fp) === 'taken') return fail('FINGERPRINT_TAKEN', fp, 'That fingerprint is already bound to an account');
      return notice(client, `Fingerprint ${fp} added to ${account}`);
    }
    case 'DEL': {
      const fp = normalizeFingerprint(params[1] ?? '');
      if (!fp || !store.removeFingerprint(account, fp)) return fail('NO_SUCH_FINGERPRINT', params[1] ?? '*', 'That fingerprint is not on your account');
      return notice(client, `Fingerprint ${fp} removed from ${account}`);
    }
    case 'LIST': {
      for (const fp of store.fingerprints(account)) notice(client, `${account} certfp ${fp}`);
      return notice(client, 'End of fingerprint list');
    }
    default:
      fail('UNKNOWN_SUBCOMMAND', params[0]!, 'Use ADD, DEL or LIST');
  }
}

/**
 * `ircd account create`: writes an account into the configured store, which may be in use by a
 * running server (SQLite WAL allows it). Throws with a message naming what is wrong.
 */
export async function createAccountFromCli(config: Config, requested: string, password: string): Promise<void> {
  const check = checkNick(requested, config.server.casemapping, config.limits.nicklen);
  if (!check.ok) throw new Error(`"${requested}" is not a valid account name (the nick rules apply: ${check.reason})`);
  const name = check.nick;
  const problem = passwordProblem(config.accounts, password);
  if (problem) throw new Error(problem.text);
  const db = openStore(config.store.path);
  try {
    const store = new AccountStore(db, caseFolder(config.server.casemapping), config.server.casemapping === 'utf8' ? skeleton : undefined);
    checkTables(db);
    if (!store.create(name, await makeCredentials(password, config.accounts.pbkdf2_iterations), undefined))
      throw new Error(`the account ${name} already exists`);
  } finally {
    db.close();
  }
}

// ---- the module ---------------------------------------------------------------------------------------

function registrationCapValue(server: Server): string | undefined {
  const cfg = server.config.accounts;
  const keys = [cfg.register_before_connect && 'before-connect', cfg.custom_account_name && 'custom-account-name'].filter(Boolean);
  return keys.join(',') || undefined;
}

export const accounts: Module = {
  name: 'accounts',
  commands: {
    REGISTER: {
      minParams: 3,
      // Hashing the password is the most CPU one line can ask for.
      penalty: 4,
      preRegistration: true,
      handler: (server, client, msg) => handleRegister(server, client, msg.params[0]!, msg.params[1]!, msg.params[2]!),
      help: [
        'REGISTER <account|*> <email|*> <password>',
        'Creates an account and logs you in to it. "*" as the account means your current nick.',
      ],
    },
    VERIFY: {
      minParams: 2,
      preRegistration: true,
      handler: (server, client, msg) => handleVerify(server, client, msg.params[0]!),
      help: ['VERIFY <account> <code>', 'Completes a registration that needed verification (this server never asks for one).'],
    },
    ACCOUNT: {
      minParams: bySubcommand(0, { CREATE: 3, DROP: 2, RESETPASS: 3 }, 1),
      privilege: 'accounts',
      handler: (server, client, msg) => handleAccount(server, client, msg.params),
      help: [
        'ACCOUNT CREATE <name> <password> [<email>] | DROP <name> | RESETPASS <name> <password> | LIST [<mask>]',
        'Manages accounts (operators with the "accounts" privilege). DROP logs out whoever uses the account.',
      ],
    },
    CERTFP: {
      handler: (server, client, msg) => handleCertfp(server, client, msg.params),
      help: [
        'CERTFP [ADD [<fingerprint>] | DEL <fingerprint> | LIST]',
        'Binds TLS client certificates to your account for SASL EXTERNAL. ADD alone adds the certificate of this connection.',
      ],
    },
  },
  caps: [
    { name: 'account-notify' },
    { name: 'account-tag' },
    {
      name: 'draft/account-registration',
      offered: (server) => server.config.accounts.registration && server.config.accounts.enabled,
      value: (server) => registrationCapValue(server),
    },
  ],
  // $a (any logged-in user) and $a:<account glob> in ban, exception and invite lists (IRCv3 account-extban).
  // EXTBAN itself is the channels module's (the ban lists'); $a is one of its types.
  isupport: () => ({ ACCOUNTEXTBAN: 'a' }),
  hooks: {
    registered: (server, client) => checkReservation(server, client),
    rehashed: (server) => {
      if (server.config.accounts.nick_reservation !== 'enforce') runtime(server).reservations.clear();
    },
  },
  init(server) {
    const events = server.state.events;
    events.on('accountChanged', ({ client }) => notifyAccount(server, client));
    events.on('nickChanged', ({ client }) => checkReservation(server, client));
    events.on('userQuit', ({ client }) => void runtime(server).reservations.delete(client));
    runtimes.set(server, {
      store: new AccountStore(server.db, server.state.fold, server.state.skeleton),
      registrations: new AttemptCounter(server.config.sasl.failure_tracking),
      reservations: new Map(),
      sweep: undefined,
    });
  },
  close(server) {
    const rt = runtimes.delete(server);
    if (rt) clearInterval(rt.sweep);
  },
};
