// NickServ: the classic services interface to the built-in accounts (Atheme's and Ergo's command
// names), over the same store and code paths as REGISTER, SASL and ACCOUNT: registration checks
// and limits, password verifiers, the SASL failure limits for IDENTIFY, GHOST and DROP, logIn/logOut.
// Spec: none (Atheme NickServ and Ergo NickServ are the models): https://ergo.chat/manual.html#nickserv
import type { User } from '../../server/user.js';
import type { Server } from '../../server/server.js';
import { accountStore, createAccount, dropAccount, logIn, registerAccount, resetPassword } from '../accounts.js';
import { accountIsAlwaysOn, setAlwaysOn } from '../alwayson/core.js';
import { checkPasswordLogin, passwordLoginFailed } from '../sasl.js';
import { serviceNotice, type ServiceBot, type ServiceDef } from './service.js';

const ACCOUNTS = 'accounts';
/** Flood tokens of a command that hashes a password. */
const HASHING = 4;

/** The client's account, or undefined after telling it to log in first. */
function loggedIn(client: User, bot: ServiceBot, command: string): string | undefined {
  if (client.account === undefined) serviceNotice(client, bot, `You must be logged in to use ${command}: /msg ${bot.client.nick} IDENTIFY <password>`);
  return client.account;
}

/** Checks the password of `name` under the SASL limits; a failure is counted and answered. */
async function passwordOk(server: Server, client: User, bot: ServiceBot, name: string, password: string, command: string): Promise<string | undefined> {
  const result = await checkPasswordLogin(server, client, name, password);
  if (result === undefined) return undefined;
  if (!('failure' in result)) return result.account;
  passwordLoginFailed(server, client, result, `${bot.client.nick} ${command}`);
  serviceNotice(client, bot, result.limited ? 'Too many failed logins; try again later.' : 'Invalid account or password.');
  return undefined;
}

async function register(server: Server, client: User, bot: ServiceBot, [password, email]: string[]): Promise<void> {
  if (!server.config.accounts.registration) return serviceNotice(client, bot, 'Account registration is disabled on this server.');
  const nick = client.nick;
  const result = await registerAccount(server, client, nick, email, password!);
  if (result === 'gone') return;
  if (result !== 'created') return serviceNotice(client, bot, `${nick} was not registered: ${result.text}.`);
  logIn(server, client, nick);
  serviceNotice(client, bot, `Account ${nick} registered; you are now logged in to it.`);
}

async function identify(server: Server, client: User, bot: ServiceBot, params: string[]): Promise<void> {
  const [name, password] = params.length >= 2 ? params : [client.nick, params[0]!];
  if (client.account !== undefined) return serviceNotice(client, bot, `You are already logged in as ${client.account}.`);
  const account = await passwordOk(server, client, bot, name!, password!, 'IDENTIFY');
  if (account === undefined || client.account !== undefined) return;
  logIn(server, client, account);
  serviceNotice(client, bot, `You are now identified as ${account}.`);
}

async function ghost(server: Server, client: User, bot: ServiceBot, [nick, password]: string[]): Promise<void> {
  const target = server.state.findNick(nick!);
  if (!target?.registered) return serviceNotice(client, bot, `No user is using the nick ${nick}.`);
  if (target === client) return serviceNotice(client, bot, 'You cannot ghost yourself.');
  if (server.state.isService(target)) return serviceNotice(client, bot, `${target.nick} is a network service.`);
  const fold = server.state.fold;
  let account = client.account;
  if (account === undefined) {
    // Not logged in: the password of the account the target uses, or is named after (Atheme's GHOST <nick> <password>).
    if (password === undefined) return serviceNotice(client, bot, `Log in first, or give the password: GHOST ${target.nick} <password>`);
    const claimed = target.account ?? accountStore(server).nameOf(target.nick);
    if (claimed === undefined) return serviceNotice(client, bot, `${target.nick} is neither logged in to an account nor named after one.`);
    account = await passwordOk(server, client, bot, claimed, password, 'GHOST');
    if (account === undefined) return;
    if (!target.registered || server.state.findNick(nick!) !== target) return serviceNotice(client, bot, `${nick} is gone already.`);
  }
  // Yours: logged in to your account, or using your account's name as nick (Atheme and Ergo both allow these).
  const owned = (target.account !== undefined && fold(target.account) === fold(account)) || target.nickKey === fold(account);
  if (!owned) return serviceNotice(client, bot, `${target.nick} is not yours: it is neither logged in to ${account} nor named after it.`);
  const gone = target.nick;
  server.log.info({ conn: client.id, account, target: target.realMask }, 'ghost disconnected');
  server.disconnect(target, { kind: 'kill', text: `GHOST command used by ${client.nick}` });
  serviceNotice(client, bot, `${gone} has been disconnected.`);
}

async function drop(server: Server, client: User, bot: ServiceBot, [password]: string[]): Promise<void> {
  const account = loggedIn(client, bot, 'DROP');
  if (account === undefined) return;
  if ((await passwordOk(server, client, bot, account, password!, 'DROP')) === undefined) return;
  const dropped = dropAccount(server, account);
  if (!dropped) return serviceNotice(client, bot, `The account ${account} no longer exists.`);
  server.log.info({ conn: client.id, account: dropped }, 'account dropped by its owner');
  serviceNotice(client, bot, `Account ${dropped} dropped.`);
}

async function set(server: Server, client: User, bot: ServiceBot, [setting, value]: string[]): Promise<void> {
  const which = setting!.toUpperCase();
  if (which === 'ALWAYS-ON' || which === 'ALWAYSON') {
    const account = loggedIn(client, bot, 'SET ALWAYS-ON');
    if (account !== undefined) serviceNotice(client, bot, setAlwaysOn(server, client, account, value!));
    return;
  }
  if (which !== 'PASSWORD') return serviceNotice(client, bot, `Unknown setting ${setting}; the settings are PASSWORD and ALWAYS-ON.`);
  const account = loggedIn(client, bot, 'SET PASSWORD');
  if (account === undefined) return;
  const result = await resetPassword(server, account, value!);
  if ('code' in result) return serviceNotice(client, bot, `Password not changed: ${result.text}.`);
  server.log.info({ conn: client.id, account: result.account }, 'account password changed by its owner');
  serviceNotice(client, bot, `Password of ${result.account} changed.`);
}

function info(server: Server, client: User, bot: ServiceBot, [asked]: string[]): void {
  const name = asked ?? client.account ?? client.nick;
  const store = accountStore(server);
  const account = store.get(name);
  if (!account) return serviceNotice(client, bot, `No account is named ${name}.`);
  const fold = server.state.fold;
  const privileged = (client.account !== undefined && fold(client.account) === fold(account.name)) || server.hasPrivilege(client, ACCOUNTS);
  serviceNotice(client, bot, `Information on ${account.name}:`);
  serviceNotice(client, bot, `Registered: ${new Date(account.registeredAt).toISOString()}`);
  const online = [...server.state.withAccount(account.name)].map((c) => c.nick);
  serviceNotice(client, bot, online.length ? `Logged in now as: ${online.join(' ')}` : 'Not logged in now (last logins are not kept).');
  if (privileged) {
    serviceNotice(client, bot, `Email: ${account.email ?? 'none'}`);
    const fps = store.fingerprints(account.name);
    serviceNotice(client, bot, `Certificate fingerprints: ${fps.length ? fps.join(' ') : 'none'}`);
    serviceNotice(client, bot, `Always-on: ${accountIsAlwaysOn(server, fold(account.name)) ? 'on' : 'off'}`);
  }
  serviceNotice(client, bot, `End of information on ${account.name}.`);
}

async function saregister(server: Server, client: User, bot: ServiceBot, [name, password, email]: string[]): Promise<void> {
  const problem = await createAccount(server, name!, password!, email);
  if (problem) return serviceNotice(client, bot, `${name} was not registered: ${problem.text}.`);
  server.log.info({ oper: client.oper?.name, account: name }, 'account created by an operator');
  serviceNotice(client, bot, `Account ${name} registered.`);
}

function sadrop(server: Server, client: User, bot: ServiceBot, [name]: string[]): void {
  const dropped = dropAccount(server, name!);
  if (!dropped) return serviceNotice(client, bot, `No account is named ${name}.`);
  server.log.info({ oper: client.oper?.name, account: dropped }, 'account dropped by an operator');
  serviceNotice(client, bot, `Account ${dropped} dropped.`);
}

export const nickserv: ServiceDef = {
  key: 'nickserv',
  realname: 'Nickname Services',
  aliases: ['NS', 'NICKSERV'],
  commands: {
    REGISTER: {
      minParams: 1,
      penalty: HASHING,
      handler: register,
      help: ['REGISTER <password> [<email>]', 'Registers your current nick as an account and logs you in to it.'],
    },
    IDENTIFY: {
      minParams: 1,
      penalty: HASHING,
      handler: identify,
      help: ['IDENTIFY [<account>] <password>', 'Logs you in to an account (your current nick when none is named).'],
    },
    GHOST: {
      minParams: 1,
      // Hashes a password when one is given.
      penalty: HASHING,
      handler: ghost,
      help: [
        'GHOST <nick> [<password>]',
        "Disconnects a user logged in to your account, or using its name as nick. Logged in, no password is needed; otherwise give the password of that user's account.",
      ],
    },
    DROP: {
      minParams: 1,
      penalty: HASHING,
      handler: drop,
      help: ['DROP <password>', 'Deletes your account, after checking its password; everyone logged in to it is logged out.'],
    },
    SET: {
      minParams: 2,
      penalty: HASHING,
      handler: set,
      help: [
        'SET PASSWORD <new password> | SET ALWAYS-ON ON|OFF|DEFAULT',
        "Changes your account's password, or whether you stay online (always-on) when your last connection closes.",
      ],
    },
    INFO: {
      handler: info,
      help: ['INFO [<account>]', 'Shows when an account was registered and who is logged in to it; its owner and opers also see its email and certificates.'],
    },
    SAREGISTER: {
      minParams: 2,
      penalty: HASHING,
      privilege: ACCOUNTS,
      handler: saregister,
      help: ['SAREGISTER <account> <password> [<email>]', 'Registers an account for someone else.'],
    },
    SADROP: {
      minParams: 1,
      privilege: ACCOUNTS,
      handler: sadrop,
      help: ['SADROP <account>', 'Deletes an account; everyone logged in to it is logged out.'],
    },
  },
};
