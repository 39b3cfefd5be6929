// The command router: one table filled by modules. Everything a command declares is enforced
// here (registration, parameter counts, privileges, target limits, the flood penalty), so
// handlers only see commands they can act on.
import type { Message } from '../protocol/message.js';
import { ERR } from '../protocol/numerics.js';
import { CAP } from './caps.js';
import type { User } from './user.js';
import type { CommandDef, Module, TargetList } from './module.js';
import { Reply } from './reply.js';
import type { Server } from './server.js';

export class Router {
  readonly commands = new Map<string, CommandDef & { module: string }>();
  /** Times each command was used (STATS m). */
  readonly usage = new Map<string, number>();
  /**
   * Looked at before any line is routed; one returning true has taken the line. A client-initiated
   * batch (modules/multiline.ts) collects its lines this way instead of running them.
   */
  readonly lineClaims: Array<(server: Server, client: User, msg: Message) => boolean> = [];

  register(module: Module): void {
    for (const [name, def] of Object.entries(module.commands ?? {})) {
      if (this.commands.has(name)) throw new Error(`command ${name} registered twice (${module.name})`);
      this.commands.set(name, { ...def, module: module.name });
    }
  }

  /**
   * Runs the command; returns a promise only when the handler is asynchronous. A labeled command
   * (IRCv3 labeled-response) gets a Reply for the session that sent it, which takes every line
   * it is sent until the command ends, refusals and failures included. An unlabeled one gets
   * none unless a handler asks (replyTo): most commands never do, PRIVMSG among them. This is the
   * one place a failing command is caught, whether it throws or its promise rejects: it is logged
   * and answered with FAIL, and the connection goes on.
   */
  dispatch(server: Server, client: User, msg: Message): void | Promise<void> {
    let reply: Reply | undefined;
    let result: void | Promise<void> = undefined;
    try {
      for (const claim of this.lineClaims) if (claim(server, client, msg)) return;
      const label = msg.tags?.label;
      if (label !== undefined && client.hasCap(CAP['labeled-response'])) reply = new Reply(client.session, label).begin();
      result = this.route(server, client, msg);
    } catch (err) {
      commandFailed(server, client, msg, err);
    }
    if (result) {
      const settled = result.catch((err: unknown) => commandFailed(server, client, msg, err));
      return reply ? settled.finally(() => reply.end()) : settled;
    }
    reply?.end();
  }

  private route(server: Server, client: User, msg: Message): void | Promise<void> {
    const def = this.commands.get(msg.command);
    if (!def) {
      server.stats.unknownCommands++;
      if (client.registered) client.numeric(ERR.UNKNOWNCOMMAND, msg.command, 'Unknown command');
      else client.numeric(ERR.NOTREGISTERED, 'You have not registered');
      return;
    }
    if (!client.registered && !usableBeforeRegistration(server, client, def)) {
      client.numeric(ERR.NOTREGISTERED, 'You have not registered');
      return;
    }
    if (client.registered && def.onlyPreRegistration) {
      client.numeric(ERR.ALREADYREGISTERED, 'You may not reregister');
      return;
    }
    const needed = paramsNeeded(def, msg.params);
    if (missingParams(def, msg.params, needed)) {
      notEnoughParams(client, msg);
      return;
    }
    if (def.privilege && !server.hasPrivilege(client, def.privilege)) {
      client.numeric(ERR.NOPRIVILEGES, `Permission Denied - You do not have the required operator privileges`);
      return;
    }
    if (def.targets !== undefined) {
      const accepted = acceptTargets(server, client, msg, def.targets, needed);
      if (accepted === undefined) return;
      msg = accepted;
    }
    const penalty = def.penalty;
    if (penalty !== undefined) client.session.conn.charge(typeof penalty === 'number' ? penalty : penalty(msg.params));
    this.usage.set(msg.command, (this.usage.get(msg.command) ?? 0) + 1);
    if (client.registered) client.lastActiveAt = Date.now();
    return this.run(server, client, msg, def);
  }

  private run(server: Server, client: User, msg: Message, def: CommandDef): void | Promise<void> {
    const started = server.stats.commandStart();
    const result = def.handler(server, client, msg);
    if (result) return result.finally(() => server.stats.commandEnd(started));
    server.stats.commandEnd(started);
  }
}

function commandFailed(server: Server, client: User, msg: Message, err: unknown): void {
  server.log.error({ conn: client.id, command: msg.command, err: err instanceof Error ? err.stack : String(err) }, 'command failed');
  client.fromServer('FAIL', [msg.command, 'INTERNAL_ERROR', 'The server could not complete this command']);
}

function notEnoughParams(client: User, msg: Message): void {
  client.numeric(ERR.NEEDMOREPARAMS, msg.command, 'Not enough parameters');
}

function usableBeforeRegistration(server: Server, client: User, def: CommandDef): boolean {
  const pre = def.preRegistration;
  return typeof pre === 'function' ? pre(server, client) : pre === true;
}

function paramsNeeded(def: CommandDef, params: readonly string[]): number {
  const min = def.minParams;
  return min === undefined ? 0 : typeof min === 'number' ? min : min(params);
}

/** Whether fewer parameters came than the command needs (461), counting empty ones when it says so. */
function missingParams(def: CommandDef, params: readonly string[], needed: number): boolean {
  if (params.length < needed) return true;
  if (def.emptyIsMissing) for (let i = 0; i < needed; i++) if (params[i] === '') return true;
  return false;
}

/**
 * The message with its target list held to the command's limit, or undefined when it was refused
 * with 461 (a required list naming no target, a paired list that does not pair up).
 */
function acceptTargets(server: Server, client: User, msg: Message, spec: TargetList, needed: number): Message | undefined {
  const at = spec.param === undefined ? 0 : typeof spec.param === 'number' ? spec.param : spec.param(msg.params);
  const list = msg.params[at];
  if (list === undefined) return msg; // an optional list left out is the handler's (PRIVMSG answers 411)
  // Most commands name one target: no arrays for them.
  if (spec.pairedWith === undefined && list.indexOf(',') === -1) {
    if (list !== '' || at >= needed) return msg;
    notEnoughParams(client, msg);
    return undefined;
  }
  const targets = list.split(',').filter(Boolean);
  const paired = spec.pairedWith === undefined ? undefined : (msg.params[spec.pairedWith] ?? '').split(',').filter(Boolean);
  if ((targets.length === 0 && at < needed) || (paired && paired.length !== 1 && paired.length !== targets.length)) {
    notEnoughParams(client, msg);
    return undefined;
  }
  const max = spec.limit === 'limited' ? server.config.limits.max_targets : Infinity;
  if (targets.length <= max) return msg;
  if (!spec.quiet) client.numeric(ERR.TOOMANYTARGETS, targets[max]!, `Too many targets, at most ${max}`);
  const params = [...msg.params];
  params[at] = targets.slice(0, max).join(',');
  if (paired && paired.length > 1) params[spec.pairedWith!] = paired.slice(0, max).join(',');
  return { ...msg, params };
}
