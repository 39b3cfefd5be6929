// HELP and its alias HELPOP (Modern IRC "HELP message"). The text lives beside each command's
// definition (CommandDef.help) and is read from the router's table, so HELP always describes
// exactly the commands that are loaded. Operator commands are shown only to opers who may use them,
// and commands that client software sends by itself (CommandDef.internal) are left out of the list.
// Spec: https://modern.ircdocs.horse/#help-message
import { ERR, RPL } from '../protocol/numerics.js';
import { packLines } from '../protocol/text.js';
import type { User } from '../server/user.js';
import type { CommandDef, Handler, Module } from '../server/module.js';
import type { Server } from '../server/server.js';

/** Width of the wrapped command list lines. */
const LIST_WIDTH = 60;

function mayUse(server: Server, client: User, def: CommandDef): boolean {
  return !def.privilege || server.hasPrivilege(client, def.privilege);
}

/**
 * The <subject> parameter of the replies: the requested topic (casefolded to upper case, as the
 * spec allows) unless it could not be sent as a middle parameter, in which case it is "*".
 */
function subjectParam(topic: string | undefined): string {
  if (!topic || topic.startsWith(':') || topic.includes(' ')) return '*';
  return topic.toUpperCase();
}

/** RPL_HELPSTART with the first line, RPL_HELPTXT for the middle ones, RPL_ENDOFHELP with the last. */
function sendHelp(client: User, subject: string, lines: string[]): void {
  lines.forEach((line, i) => {
    const code = i === 0 ? RPL.HELPSTART : i === lines.length - 1 ? RPL.ENDOFHELP : RPL.HELPTXT;
    client.numeric(code, subject, line);
  });
}

/** Command names in alphabetical order, as lines of at most LIST_WIDTH. */
function commandList(names: string[]): string[] {
  return packLines(names.sort(), LIST_WIDTH).map((line) => line.join(' '));
}

function overview(server: Server, client: User): string[] {
  const user: string[] = [];
  const oper: string[] = [];
  for (const [name, def] of server.router.commands) {
    if (def.internal || !mayUse(server, client, def)) continue;
    (def.privilege ? oper : user).push(name);
  }
  const lines = ['** Help System **', '', 'Commands available to you:', ...commandList(user)];
  if (oper.length) lines.push('', 'Operator commands:', ...commandList(oper));
  // Most clients answer /HELP themselves; /quote sends the command to the server as typed.
  lines.push('', 'Use /quote HELP <command> for help on one command.');
  return lines;
}

function commandHelp(name: string, def: CommandDef): string[] {
  const [syntax = name, ...description] = def.help ?? [];
  const lines = [`** ${name} **`, '', `Syntax: ${syntax}`];
  if (description.length) lines.push('', ...description);
  if (def.privilege) lines.push(`Needs the operator privilege "${def.privilege}".`);
  return lines;
}

const handleHelp: Handler = (server, client, msg) => {
  const topic = msg.params[0];
  const subject = subjectParam(topic);
  if (!topic) return sendHelp(client, subject, overview(server, client));
  const name = topic.toUpperCase();
  const def = server.router.commands.get(name);
  // Commands the client may not use are answered like unknown ones: their existence is not advertised.
  if (!def || !mayUse(server, client, def)) {
    client.numeric(ERR.HELPNOTFOUND, subject, 'No help available on this topic');
    return;
  }
  sendHelp(client, subject, commandHelp(name, def));
};

export const help: Module = {
  name: 'help',
  commands: {
    HELP: {
      handler: handleHelp,
      help: ['HELP [<command>]', 'Lists the commands you can use, or explains one of them.'],
    },
    HELPOP: {
      handler: handleHelp,
      help: ['HELPOP [<command>]', 'The same as HELP.'],
    },
  },
};
