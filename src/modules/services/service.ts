// What a service is (its definition, its commands, its introduced pseudo-user) and how it
// answers, shared by the services (nickserv.ts) and the module that runs them (index.ts).
// Spec: none (Atheme and Ergo are the models): https://ergo.chat/manual.html#nickserv
import type { Config } from '../../config/schema.js';
import type { User } from '../../server/user.js';
import type { Server } from '../../server/server.js';

/** One command of a service, declared as IRC commands are (the dispatcher checks what is declared). */
export interface ServiceCommand {
  handler: (server: Server, client: User, bot: ServiceBot, params: string[]) => void | Promise<void>;
  /** Words needed after the command name. */
  minParams?: number;
  /** Oper privilege required. */
  privilege?: string;
  /** Flood tokens the command costs beyond the PRIVMSG line itself (default 1; hashing a password costs more). */
  penalty?: number;
  /** First line the syntax, then the description. */
  help: string[];
}

/** A service: the [services] key of its nick, its real name, and its commands. */
export interface ServiceDef {
  key: Exclude<keyof Config['services'], 'enabled' | 'servers'>;
  realname: string;
  /** IRC commands that take the rest of the line as a message to it (NS, NICKSERV). */
  aliases: string[];
  commands: Record<string, ServiceCommand>;
}

/** A service as introduced: its definition and its pseudo-user. */
export interface ServiceBot {
  def: ServiceDef;
  client: User;
}

/** A NOTICE from the service to the client (to the session that asked). */
export function serviceNotice(client: User, bot: ServiceBot, text: string): void {
  client.send({ source: bot.client.mask, command: 'NOTICE', params: [client.nick, text] });
}
