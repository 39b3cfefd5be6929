// IRCv3 capability negotiation (CAP LS/LIST/REQ/END, version 302 values, cap-notify).
// Spec: https://ircv3.net/specs/extensions/capability-negotiation
import { ERR } from '../protocol/numerics.js';
import { packLines } from '../protocol/text.js';
import { CAP, capsWith, type Cap, type CapName } from '../server/caps.js';
import type { User } from '../server/user.js';
import type { Module } from '../server/module.js';
import type { Server } from '../server/server.js';
import { tryRegister } from './registration.js';

/**
 * Room for the capabilities in one line of 512 bytes, after ":<server> CAP <nick> <sub> * :" and
 * the CRLF. All of it is used: a client of CAP version 301 cannot take a continued list, so the
 * list must fit in one line for as long as it can.
 */
function capLineBudget(server: Server, client: User, sub: string): number {
  return 512 - (server.name.length + client.nick.length + sub.length + 14);
}

function capToken(server: Server, client: User, name: CapName): string {
  if (client.session.capVersion < 302) return name;
  const offer = server.capOffers().find((c) => c.name === name);
  const value = offer?.value?.(server, client);
  return value ? `${name}=${value}` : name;
}

/** Sends a cap list, split over several lines with "*" continuation markers for 302 clients. */
function sendCapList(server: Server, client: User, sub: string, tokens: string[]): void {
  const lines = packLines(tokens, capLineBudget(server, client, sub)).map((line) => line.join(' '));
  // An empty list is answered too, with one empty line.
  if (lines.length === 0) lines.push('');
  const multiline = client.session.capVersion >= 302;
  lines.forEach((line, i) => {
    const more = i < lines.length - 1;
    if (more && !multiline) return client.fromServer('CAP', [client.nick, sub, line]);
    client.fromServer('CAP', more ? [client.nick, sub, '*', line] : [client.nick, sub, line]);
  });
}

function handleReq(server: Server, client: User, request: string): void {
  const offered = new Set(server.capOffers().map((c) => c.name as string));
  const items = request.split(' ').filter(Boolean);
  const add: Cap[] = [];
  const remove: Cap[] = [];
  let ok = items.length > 0;
  for (const item of items) {
    const removing = item.startsWith('-');
    const name = removing ? item.slice(1) : item;
    if (!offered.has(name) || name === 'sts') {
      ok = false;
      break;
    }
    (removing ? remove : add).push(CAP[name as CapName]);
  }
  if (!ok) {
    client.fromServer('CAP', [client.nick, 'NAK', request]);
    return;
  }
  client.session.caps = capsWith(client.session.caps, add, remove);
  client.fromServer('CAP', [client.nick, 'ACK', request]);
}

export const cap: Module = {
  name: 'cap',
  commands: {
    CAP: {
      internal: true,
      minParams: 1,
      preRegistration: true,
      handler: (server, client, msg) => {
        const sub = msg.params[0]!.toUpperCase();
        switch (sub) {
          case 'LS': {
            if (!client.registered) client.session.capNegotiating = true;
            const version = Number(msg.params[1] ?? 0) || 0;
            if (version > client.session.capVersion) client.session.capVersion = version;
            if (client.session.capVersion >= 302) client.session.caps = capsWith(client.session.caps, [CAP['cap-notify']], []);
            const tokens = server.capOffers().map((c) => capToken(server, client, c.name));
            sendCapList(server, client, 'LS', tokens);
            return;
          }
          case 'LIST': {
            const tokens = server.capOffers().filter((c) => client.hasCap(CAP[c.name])).map((c) => c.name as string);
            sendCapList(server, client, 'LIST', tokens);
            return;
          }
          case 'REQ':
            if (!client.registered) client.session.capNegotiating = true;
            handleReq(server, client, msg.params[1] ?? '');
            return;
          case 'END':
            if (client.registered || !client.session.capNegotiating) return;
            client.session.capNegotiating = false;
            return tryRegister(server, client);
          default:
            client.numeric(ERR.INVALIDCAPCMD, msg.params[0]!, 'Invalid CAP subcommand');
        }
      },
      help: ['CAP LS [302] | LIST | REQ :<caps> | END', 'Negotiates IRCv3 capabilities.'],
    },
  },
  caps: [{ name: 'cap-notify' }],
  hooks: { capsRehashed: announceCapChanges },
};

/** Tells clients with cap-notify which capabilities appeared or went away (after REHASH). */
function announceCapChanges(server: Server, before: Set<string>, after: Set<string>): void {
  const added = [...after].filter((c) => !before.has(c));
  const removed = [...before].filter((c) => !after.has(c));
  if (!added.length && !removed.length) return;
  for (const client of server.state.clients) {
    if (!client.hasCap(CAP['cap-notify'])) continue;
    if (added.length)
      client.fromServer('CAP', [client.nick, 'NEW', added.map((c) => capToken(server, client, c as CapName)).join(' ')]);
    if (removed.length) {
      client.session.caps = capsWith(client.session.caps, [], removed.map((r) => CAP[r as CapName]));
      client.fromServer('CAP', [client.nick, 'DEL', removed.join(' ')]);
    }
  }
}
