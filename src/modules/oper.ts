// IRC operators (Modern IRC OPER, KILL, WALLOPS, REHASH, DIE, RESTART; LOCOPS and GLOBOPS as in
// Solanum's and InspIRCd's docs, https://docs.inspircd.org/4/modules/globops/): [[oper]] blocks with
// password hashes, host masks and TLS certificate fingerprints, privileges from [[oper_class]],
// server notices (user mode +s with a snomask), and an audit log of every oper action.
// Spec: https://modern.ircdocs.horse/#operator-messages
import { AttemptCounter } from '../auth/attempts.js';
import { verifyPassword } from '../auth/password.js';
import { configWarnings } from '../config/load.js';
import type { Config, OperConfig } from '../config/schema.js';
import { checkTls, listenerKey } from '../net/listener.js';
import { checkStsPolicy } from '../net/tlsverify.js';
import { parseUserHostMask, userHostMatches, userHostOf } from '../protocol/mask.js';
import { ERR, RPL } from '../protocol/numerics.js';
import type { User } from '../server/user.js';
import type { Module } from '../server/module.js';
import { describeRestartNeeded, type RehashResult } from '../server/rehash.js';
import { relay } from '../server/outgoing.js';
import type { Server } from '../server/server.js';
import { serverSlot, userSlot } from '../server/slots.js';
import { changeUserModes } from './usermodes.js';

// ---- helpers other oper features use (bans, stats) -------------------------------------------

/** Records an oper action in the audit log (a pino child logger with `audit: true`). */
export function audit(server: Server, client: User, action: string, fields: Record<string, unknown> = {}): void {
  server.log.child({ audit: true }).info({ conn: client.id, oper: client.oper?.name, nick: client.nick, from: client.realMask, ...fields }, action);
}

/** The server-notice letters a client receives (its snomask); empty unless it is an oper with +s. */
export function snomaskOf(client: User): string {
  if (!client.oper || !client.modes.has('s')) return '';
  return operState.get(client)?.snomask ?? '';
}

/** Sends "*** Notice -- text" to every oper whose snomask has `letter`, from this server or the server named `origin`. */
export function serverNotice(server: Server, letter: string, text: string, except?: User, origin?: string): void {
  for (const c of server.state.withMode('s')) {
    if (c !== except && snomaskOf(c).includes(letter)) c.send({ source: origin ?? server.name, command: 'NOTICE', params: [c.nick, `*** Notice -- ${text}`] });
  }
}

/** A server notice for the opers of every server of the network (linked servers pass it on). */
export function networkNotice(server: Server, letter: string, text: string, except?: User): void {
  serverNotice(server, letter, text, except);
  server.emit('networkMessage', 'SNOTE', undefined, text, letter);
}


// ---- per-client and per-server state ----------------------------------------------------------

interface OperState {
  snomask: string;
}

const operState = userSlot<OperState>();

function operStateOf(client: User): OperState {
  return operState.getOrCreate(client, () => ({ snomask: '' }));
}

/** Failed OPER attempts keyed "ip <ip>" and "conn <id>", bounded by oper_limits.tracked_ips. */
const failuresByServer = serverSlot<AttemptCounter>('oper');

function failures(server: Server): AttemptCounter {
  return failuresByServer.getOrCreate(server, () => new AttemptCounter(server.config.oper_limits.tracked_ips));
}

// ---- OPER -------------------------------------------------------------------------------------

/** True when a user@host mask (globs; the host may be a CIDR) matches the client's user and real host or IP. */
export function matchesUserHost(client: User, mask: string): boolean {
  return userHostMatches(parseUserHostMask(mask), userHostOf(client.user, client.realHost, client.ip));
}

function privilegesOf(cfg: Config, oper: OperConfig): { privileges: Set<string>; snomask: string } {
  const klass = cfg.oper_class.find((c) => c.name === oper.class)!;
  return { privileges: new Set(klass.privileges), snomask: klass.snomask };
}

/** Counts a failure and tells the client (only the numeric), the log and the other opers (the reason). */
function operFailed(server: Server, client: User, name: string, why: string, numeric: string): void {
  const window = server.config.oper_limits.window * 1000;
  failures(server).hit(`conn ${client.id}`, window);
  failures(server).hit(`ip ${client.limitKey}`, window);
  if (numeric === ERR.NOOPERHOST) client.numeric(ERR.NOOPERHOST, 'No O-lines for your host');
  else client.numeric(ERR.PASSWDMISMATCH, 'Password incorrect');
  server.log.warn({ conn: client.id, nick: client.nick, from: client.realMask, ip: client.ip, oper: name, why }, 'failed OPER attempt');
  serverNotice(server, 'o', `Failed OPER attempt as ${name} by ${client.nick} (${client.user}@${client.realHost}) [${client.ip}]: ${why}`);
}

function rateLimited(server: Server, client: User): boolean {
  const l = server.config.oper_limits;
  const window = l.window * 1000;
  return (
    failures(server).count(`conn ${client.id}`, window) >= l.failures_per_connection ||
    failures(server).count(`ip ${client.limitKey}`, window) >= l.failures_per_ip
  );
}

function grantOper(server: Server, client: User, oper: OperConfig): void {
  const { privileges, snomask } = privilegesOf(server.config, oper);
  client.oper = { name: oper.name, privileges };
  operStateOf(client).snomask = snomask;
  // One MODE line for everything OPER changes (irctest and clients expect exactly one).
  changeUserModes(server, client, [
    { letter: 'o', adding: true },
    ...(snomask ? [{ letter: 's', adding: true }] : []),
  ]);
  client.numeric(RPL.YOUREOPER, 'You are now an IRC operator');
  if (snomask) client.numeric(RPL.SNOMASKIS, `+${snomask}`, 'Server notice mask');
  audit(server, client, 'oper up', { class: oper.class });
  networkNotice(server, 'o', `${client.nick} (${client.user}@${client.realHost}) is now an operator (${oper.name}, class ${oper.class})`, client);
}

async function handleOper(server: Server, client: User, name: string, password: string | undefined): Promise<void> {
  if (rateLimited(server, client)) {
    client.numeric(ERR.PASSWDMISMATCH, 'Too many failed OPER attempts; try again later');
    server.log.warn({ conn: client.id, nick: client.nick, ip: client.ip, oper: name }, 'OPER attempt refused: too many failures');
    return;
  }
  const oper = server.config.oper.find((o) => o.name === name);
  if (!oper) return operFailed(server, client, name, 'no such oper block', ERR.NOOPERHOST);
  if (!oper.hosts.some((mask) => matchesUserHost(client, mask))) return operFailed(server, client, name, 'host does not match', ERR.NOOPERHOST);
  if (oper.certfp.length > 0) {
    const fp = client.session.conn.certFingerprint;
    if (!fp || !oper.certfp.includes(fp)) return operFailed(server, client, name, fp ? 'certificate fingerprint does not match' : 'no TLS client certificate', ERR.PASSWDMISMATCH);
  }
  if (oper.password) {
    if (password === undefined) {
      client.numeric(ERR.NEEDMOREPARAMS, 'OPER', 'Not enough parameters');
      return;
    }
    // Under way until its failure is counted: parallel guesses from one address meet its limit.
    const ok = await failures(server).underWay(`ip ${client.limitKey}`, async () => {
      const ok = await verifyPassword(password, oper.password!);
      if (!ok && !client.session.conn.closed) operFailed(server, client, name, 'wrong password', ERR.PASSWDMISMATCH);
      return ok;
    });
    if (!ok || client.session.conn.closed) return;
  }
  grantOper(server, client, oper);
}

/** After REHASH: opers keep their session with their block's new privileges, or lose it with the block. */
function refreshOpers(server: Server): void {
  for (const client of server.registeredClients()) {
    if (!client.oper) continue;
    const oper = server.config.oper.find((o) => o.name === client.oper!.name);
    if (!oper) {
      // Dropping +o ends the oper session (see the o mode in usermodes.ts).
      changeUserModes(server, client, [{ letter: 'o', adding: false }, { letter: 's', adding: false }]);
      client.fromServer('NOTICE', [client.nick, '*** Your oper block was removed from the configuration; you are no longer an operator']);
      continue;
    }
    const { privileges, snomask } = privilegesOf(server.config, oper);
    client.oper.privileges = privileges;
    operStateOf(client).snomask = snomask;
  }
}

// ---- KILL, WALLOPS, REHASH, DIE, RESTART ---------------------------------------------------

function handleKill(server: Server, client: User, nick: string, given: string | undefined): void {
  if (nick.toLowerCase() === server.name.toLowerCase()) {
    client.numeric(ERR.CANTKILLSERVER, 'You cannot kill a server!');
    return;
  }
  const victim = server.state.findNick(nick);
  if (!victim?.registered) {
    client.numeric(ERR.NOSUCHNICK, nick, 'No such nick/channel');
    return;
  }
  if (server.state.isService(victim)) {
    client.numeric(ERR.CANTKILLSERVER, `You cannot kill ${victim.nick}: it is a network service`);
    return;
  }
  const reason = killReason(server, given);
  audit(server, client, 'kill', { target: victim.realMask, reason });
  killUser(server, victim, client.mask, client.nick, reason);
}

/** A KILL reason as given, cut to limits.kicklen. */
export function killReason(server: Server, given: string | undefined): string {
  return (given || 'No reason given').slice(0, server.config.limits.kicklen);
}

/** Disconnects a user as KILL does: the KILL line from `source`, the opers' notice, the QUIT its peers see. */
export function killUser(server: Server, victim: User, source: string, by: string, reason: string): void {
  victim.send({ source, command: 'KILL', params: [victim.nick, reason] });
  networkNotice(server, 'k', `Received KILL message for ${victim.nick} (${victim.user}@${victim.realHost}) from ${by}: ${reason}`);
  server.disconnect(victim, { kind: 'kill', text: `Killed (${by} (${reason}))` });
}

function handleWallops(server: Server, client: User, text: string): void {
  sendWallops(server, client, text);
  audit(server, client, 'wallops', { text });
}

/** WALLOPS to every user with +w of the network, from a user or (without one) from the server (this one, or `origin`). */
export function sendWallops(server: Server, from: User | undefined, text: string, origin = server.name): void {
  const out = relay(from, { source: from?.mask ?? origin, command: 'WALLOPS', params: [text] });
  for (const c of server.state.withMode('w')) c.sendOutgoing(out);
  server.emit('networkMessage', 'WALLOPS', from, text);
}

/** GLOBOPS: a notice to the opers of the network whose snomask has g. */
export function sendGlobops(server: Server, from: User, text: string): void {
  serverNotice(server, 'g', `GLOBOPS from ${from.nick}: ${text}`);
  server.emit('networkMessage', 'GLOBOPS', from, text);
}

/**
 * LOCOPS and GLOBOPS (as in Solanum, hybrid and InspIRCd): a message to the opers whose snomask
 * has the letter (l, g), as a server notice. GLOBOPS reaches the opers of every server of a
 * network (as TS6's OPERWALL), LOCOPS this server's.
 */
function operBroadcast(server: Server, client: User, command: 'LOCOPS' | 'GLOBOPS', text: string): void {
  if (command === 'GLOBOPS') sendGlobops(server, client, text);
  else serverNotice(server, 'l', `LOCOPS from ${client.nick}: ${text}`);
  audit(server, client, command.toLowerCase(), { text });
}

async function handleRehash(server: Server, client: User, what: string | undefined): Promise<void> {
  const kind = what?.toUpperCase();
  audit(server, client, 'rehash', { what: kind ?? 'config' });
  if (kind === 'MOTD') {
    server.motd = server.readMotd();
    client.numeric(RPL.REHASHING, 'motd', 'Rehashing MOTD');
    if (!server.motd) for (const warning of configWarnings(server.config)) client.standardReply('WARN', 'REHASH', 'CONFIG_WARNING', warning);
    serverNotice(server, 'o', `${client.nick} is reloading the MOTD`, client);
    return;
  }
  if (kind === 'TLS') {
    try {
      // Every listener's files load together before any is swapped: a bad one changes none.
      for (const l of server.config.listen) if (l.tls) checkTls(l.tls);
      await checkStsPolicy(server.config); // a new certificate must keep the STS promise too
      for (const l of server.config.listen) if (l.tls) server.listeners.get(listenerKey(l))?.reloadTls(l);
    } catch (err) {
      const error = (err as Error).message;
      server.log.error({ error }, 'TLS reload failed; keeping the running certificates');
      client.standardReply('FAIL', 'REHASH', 'TLS_ERROR', `TLS reload failed: ${error}`);
      return;
    }
    client.numeric(RPL.REHASHING, 'tls', 'Reloading TLS certificates');
    serverNotice(server, 'o', `${client.nick} is reloading the TLS certificates`, client);
    return;
  }
  if (kind !== undefined) {
    client.standardReply('FAIL', 'REHASH', 'INVALID_PARAMS', what!, 'Unknown REHASH type; use MOTD, TLS or nothing for the whole configuration');
    return;
  }
  const result = await rehashConfig(server, `REHASH by ${client.oper?.name}`, client.nick, client);
  if (result.ok) {
    client.numeric(RPL.REHASHING, server.configPath, 'Rehashing');
    for (const warning of result.warnings) client.standardReply('WARN', 'REHASH', 'CONFIG_WARNING', warning);
    if (result.needsRestart.length > 0)
      client.standardReply('WARN', 'REHASH', 'NEEDS_RESTART', `Reloaded; ${describeRestartNeeded(result.needsRestart)}`);
    return;
  }
  for (const line of rehashErrorLines(result.error)) client.standardReply('FAIL', 'REHASH', 'CONFIG_INVALID', line);
}

/** The lines of a refused config's error, as REHASH reports them (one FAIL each). */
export function rehashErrorLines(error: string): string[] {
  return error.split('\n').map((line) => line.trim());
}

/** A full REHASH asked for by `by` (an oper's nick, an API token), with the notice to the other opers. */
export async function rehashConfig(server: Server, source: string, by: string, except?: User): Promise<RehashResult> {
  const result = await server.rehash(source);
  if (!result.ok) serverNotice(server, 'o', `${by} tried to rehash, but the configuration is invalid (nothing changed)`, except);
  else if (result.needsRestart.length === 0) serverNotice(server, 'o', `${by} rehashed the server configuration`, except);
  else serverNotice(server, 'o', `${by} rehashed the server configuration; ${describeRestartNeeded(result.needsRestart)}`, except);
  return result;
}

async function handleShutdown(server: Server, client: User, restart: boolean, given: string | undefined): Promise<void> {
  const reason = given ?? (restart ? 'Server restarting' : 'Server shutting down');
  audit(server, client, restart ? 'restart' : 'die', { reason });
  serverNotice(server, 'o', `${client.nick} is ${restart ? 'restarting' : 'shutting down'} the server: ${reason}`);
  await server.stop(`${restart ? 'Restart' : 'Shutdown'} by ${client.nick}: ${reason}`);
  server.exitProcess?.(restart);
}

export const oper: Module = {
  name: 'oper',
  commands: {
    OPER: {
      minParams: 1,
      // Checking the password hashes it, as REGISTER does.
      penalty: 4,
      handler: (server, client, msg) => handleOper(server, client, msg.params[0]!, msg.params[1]),
      help: ['OPER <name> <password>', 'Makes you an IRC operator; the password may be left out when your TLS certificate is required instead.'],
    },
    KILL: {
      minParams: 1,
      privilege: 'kill',
      handler: (server, client, msg) => handleKill(server, client, msg.params[0]!, msg.params[1]),
      help: ['KILL <nick> <reason>', 'Disconnects a user (operators with the "kill" privilege).'],
    },
    WALLOPS: {
      minParams: 1,
      privilege: 'wallops',
      handler: (server, client, msg) => handleWallops(server, client, msg.params[0]!),
      help: ['WALLOPS <text>', 'Sends a message to every user of the network with user mode +w (operators with "wallops").'],
    },
    LOCOPS: {
      minParams: 1,
      privilege: 'wallops',
      handler: (server, client, msg) => operBroadcast(server, client, 'LOCOPS', msg.params[0]!),
      help: ['LOCOPS <text>', "Sends a notice to this server's operators whose snomask has l (operators with \"wallops\")."],
    },
    GLOBOPS: {
      minParams: 1,
      privilege: 'wallops',
      handler: (server, client, msg) => operBroadcast(server, client, 'GLOBOPS', msg.params[0]!),
      help: [
        'GLOBOPS <text>',
        'Sends a notice to the operators of every server of the network whose snomask has g (operators with "wallops").',
      ],
    },
    REHASH: {
      privilege: 'rehash',
      handler: (server, client, msg) => handleRehash(server, client, msg.params[0]),
      help: ['REHASH [MOTD|TLS]', 'Reloads the configuration file, or only the MOTD or the TLS certificates (operators with "rehash").'],
    },
    DIE: {
      privilege: 'die',
      handler: (server, client, msg) => handleShutdown(server, client, false, msg.params[0]),
      help: ['DIE [<reason>]', 'Shuts the server down (operators with "die").'],
    },
    RESTART: {
      privilege: 'die',
      handler: (server, client, msg) => handleShutdown(server, client, true, msg.params[0]),
      help: ['RESTART [<reason>]', 'Restarts the server: exits for its supervisor (systemd, Docker) to start it again, or starts a copy of itself (operators with "die").'],
    },
  },
  userModes: {
    /** Server notices: only opers may set it; the letters come from their oper class. */
    s: {
      userMayChange: (_server, client, adding) => !adding || client.oper !== undefined,
      changed: (server, client, adding) => {
        if (!adding || operStateOf(client).snomask || !client.oper) return;
        const block = server.config.oper.find((o) => o.name === client.oper!.name);
        if (block) operStateOf(client).snomask = privilegesOf(server.config, block).snomask;
      },
    },
  },
  init(server) {
    server.state.events.on('userQuit', ({ client, reason }) =>
      serverNotice(server, 'c', `Client exiting: ${client.nick} (${client.user}@${client.realHost}) [${client.ip}] (${reason})`, client),
    );
  },
  hooks: {
    registered: (server, client) =>
      serverNotice(server, 'c', `Client connecting: ${client.nick} (${client.user}@${client.realHost}) [${client.ip}] {${client.session.klass.name}} [${client.realname}]`),
    // A SIGHUP has nobody to answer: opers learn of a refused config here.
    rehashFailed: (server, source, error) => {
      for (const line of error.split('\n')) serverNotice(server, 'o', `Rehash (${source}) failed, configuration unchanged: ${line.trim()}`);
    },
    rehashed: (server, old) => {
      if (old.oper_limits.tracked_ips !== server.config.oper_limits.tracked_ips) failuresByServer.delete(server);
      refreshOpers(server);
    },
  },
};
