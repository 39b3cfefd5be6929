// Built-in services: pseudo-users of this server (NickServ, ChanServ) that hold
// their nick, have no session, are not counted as users, and answer what users tell them by
// NOTICE. A PRIVMSG to one (also as "Nick@<this server>") or its command alias (NS, CS, ...)
// runs a services command, charged to the sender's flood budget like any command.
// Spec: none for services themselves (Atheme and Ergo are the models); the messages they take:
// https://modern.ircdocs.horse/#privmsg-message
import { ERR } from '../../protocol/numerics.js';
import { CAP } from '../../server/caps.js';
import type { User } from '../../server/user.js';
import type { CommandDef, Module } from '../../server/module.js';
import { newMsgid, relay } from '../../server/outgoing.js';
import type { Server } from '../../server/server.js';
import { serverSlot } from '../../server/slots.js';
import { chanserv, chanservAccountDropped, chanservJoined, restoreRegisteredChannel, startChanServ, stopChanServ } from './chanserv.js';
import { nickserv } from './nickserv.js';
import { serviceNotice, type ServiceBot, type ServiceDef } from './service.js';

const SERVICES: ServiceDef[] = [nickserv, chanserv];

/** The pseudo-users of a server, by definition. */
const bots = serverSlot<Map<ServiceDef, ServiceBot>>('services');

/** The service a "nick@<its server>" target names (a plain nick is found in the nick index). */
export function serviceAddressed(server: Server, target: string): User | undefined {
  const at = target.indexOf('@');
  if (at === -1) return undefined;
  const holder = server.state.findNick(target.slice(0, at));
  return holder && server.state.isService(holder) && target.slice(at + 1).toLowerCase() === server.state.serverOf(holder).name.toLowerCase() ? holder : undefined;
}

/**
 * A PRIVMSG, NOTICE or TAGMSG to a service (`target` as the sender wrote it): it goes nowhere
 * else, history included. A PRIVMSG runs a command (echoed, with echo-message, to the session
 * that sent it only: it may hold a password); NOTICE, TAGMSG and CTCP are ignored.
 */
export function messageToService(server: Server, client: User, service: User, command: string, target: string, text: string): void | Promise<void> {
  let bot: ServiceBot | undefined;
  for (const b of bots.get(server)?.values() ?? []) if (b.client === service) bot = b;
  if (!bot && server.state.serverOf(service) !== server.state.me) return toLinkedService(server, client, service, command, target, text);
  if (!bot || command !== 'PRIVMSG' || text.startsWith('\x01')) return;
  if (client.hasCap(CAP['echo-message'])) {
    client.session.deliver(relay(client, { source: client.mask, command, params: [target, text] }, { msgid: newMsgid() }), false);
  }
  return runServiceCommand(server, client, bot, text);
}

/**
 * A PRIVMSG or NOTICE to a service of another server (Atheme's NickServ): it goes over the link
 * (messageRelayed) and, as for ours, is echoed to the session that sent it only, never kept.
 */
function toLinkedService(server: Server, client: User, service: User, command: string, target: string, text: string): void {
  if (command === 'TAGMSG') return;
  const out = relay(client, { source: client.mask, command, params: [target, text] }, { msgid: newMsgid() });
  if (client.hasCap(CAP['echo-message'])) client.session.deliver(out, false);
  server.emit('messageRelayed', client, service, out);
}

/** Runs one line of text as a command of the service. */
export function runServiceCommand(server: Server, client: User, bot: ServiceBot, text: string): void | Promise<void> {
  const [first = 'HELP', ...params] = text.trim().split(/\s+/).filter(Boolean);
  const name = first.toUpperCase();
  const cmd = Object.hasOwn(bot.def.commands, name) ? bot.def.commands[name] : undefined;
  client.session.conn.charge(cmd?.penalty ?? 1);
  if (name === 'HELP') return sendServiceHelp(server, client, bot, params[0]);
  if (!cmd) return serviceNotice(client, bot, `Unknown command ${first}. Type /msg ${bot.client.nick} HELP for a list of commands.`);
  if (cmd.privilege && !server.hasPrivilege(client, cmd.privilege))
    return serviceNotice(client, bot, `Permission denied: ${name} needs the operator privilege "${cmd.privilege}".`);
  if (params.length < (cmd.minParams ?? 0)) {
    serviceNotice(client, bot, `Not enough parameters for ${name}.`);
    return serviceNotice(client, bot, `Syntax: ${cmd.help[0]}`);
  }
  return cmd.handler(server, client, bot, params);
}

function sendServiceHelp(server: Server, client: User, bot: ServiceBot, topic: string | undefined): void {
  const nick = bot.client.nick;
  const usable = Object.entries(bot.def.commands).filter(([, c]) => !c.privilege || server.hasPrivilege(client, c.privilege));
  if (topic === undefined) {
    serviceNotice(client, bot, `${nick} commands (/msg ${nick} <command>; also /${bot.def.aliases.join(' or /')} <command>):`);
    serviceNotice(client, bot, `  HELP [<command>]  this list, or help on one command`);
    for (const [, c] of usable) serviceNotice(client, bot, `  ${c.help[0]}  ${c.help[1] ?? ''}`.trimEnd());
    return serviceNotice(client, bot, `End of ${nick} HELP.`);
  }
  const name = topic.toUpperCase();
  const found = usable.find(([n]) => n === name);
  if (!found) return serviceNotice(client, bot, `No help for ${topic}. Type /msg ${nick} HELP for a list of commands.`);
  const [syntax, ...description] = found[1].help;
  serviceNotice(client, bot, `Syntax: ${syntax}`);
  for (const line of description) serviceNotice(client, bot, line);
  if (found[1].privilege) serviceNotice(client, bot, `Needs the operator privilege "${found[1].privilege}".`);
}

/** The IRC commands that alias each service (NS, NICKSERV): the rest of the line is the message. */
function aliasCommands(): Record<string, CommandDef> {
  const commands: Record<string, CommandDef> = {};
  for (const def of SERVICES) {
    for (const alias of def.aliases) {
      commands[alias] = {
        handler: (server, client, msg) => {
          const bot = bots.get(server)?.get(def);
          if (!bot) return client.numeric(ERR.UNKNOWNCOMMAND, msg.command, 'Services are disabled on this server');
          return runServiceCommand(server, client, bot, msg.params.join(' '));
        },
        help: [`${alias} <command> [<parameters>]`, `Sends a command to ${def.realname}, as /msg to its nick does ([services] ${def.key}).`],
      };
    }
  }
  return commands;
}

export const services: Module = {
  name: 'services',
  commands: aliasCommands(),
  init(server) {
    const introduced = new Map<ServiceDef, ServiceBot>();
    bots.set(server, introduced);
    if (server.config.services.enabled) {
      for (const def of SERVICES) {
        const nick = server.config.services[def.key];
        const client = server.introduceSessionlessUser({ nick, user: nick, host: server.name, realname: def.realname, ip: '127.0.0.1', service: true });
        introduced.set(def, { def, client });
      }
    }
    startChanServ(server, introduced.get(chanserv));
  },
  restoreChannel: restoreRegisteredChannel,
  hooks: {
    joined: chanservJoined,
    accountDropped: chanservAccountDropped,
  },
  close(server) {
    stopChanServ(server);
    bots.delete(server);
  },
};
