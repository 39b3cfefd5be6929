// Ident lookups (RFC 1413, https://www.rfc-editor.org/rfc/rfc1413) for the classes with
// `ident = true`: started when the connection is accepted, run while the client registers, and
// waited for by registration at most [ident] timeout. The answered username replaces the one
// given with USER; without an answer the client gets "~" before its own, as on Solanum, InspIRCd
// and hybrid. At most [ident] max_lookups run at once: beyond that a connection gets no lookup.
import { Socket } from 'node:net';
import { lookupIdent } from '../net/ident.js';
import type { User } from '../server/user.js';
import type { Module } from '../server/module.js';
import type { Server } from '../server/server.js';
import { serverSlot, userSlot } from '../server/slots.js';

interface Lookup {
  /** The address asked: after WEBIRC the user has another, and its gateway's answer is not waited for. */
  ip: string;
  /** Settles when the lookup is over (never rejects). */
  done: Promise<void>;
  /** Set once done: the username the ident server answered, usable as one. */
  answer?: string;
  pending: boolean;
}

const lookups = userSlot<Lookup>();
/** Lookups in flight on this server (bounded by [ident] max_lookups). */
const inFlight = serverSlot<{ count: number }>('ident');

/** The lookup registration must wait for, if one is still running. */
export function identPending(client: User): Promise<void> | undefined {
  const lookup = lookups.get(client);
  return lookup?.pending && lookup.ip === client.ip ? lookup.done : undefined;
}

/** Characters a username keeps (as USER takes them, without "~", which marks an unverified one). */
const usable = (name: string, max: number) => name.replace(/[^A-Za-z0-9._-]/g, '').slice(0, max);

/**
 * Sets the username registration goes on with: in an ident class, the answer, else "~" and the
 * given one. Called once registration no longer waits, before bans look at the username.
 */
export function applyIdent(server: Server, client: User): void {
  const lookup = lookups.delete(client);
  if (!client.session.klass.ident) return;
  const max = server.config.limits.userlen;
  const answer = lookup?.answer && usable(lookup.answer, max);
  client.user = answer || `~${client.user.replace(/^~+/, '')}`.slice(0, max);
}

export const ident: Module = {
  name: 'ident',
  hooks: {
    connected: (server, client) => {
      if (!client.session.klass.ident) return;
      const socket = client.session.conn.socket;
      // WebSocket clients (and those behind proxies) have no ident server we could reach.
      if (!(socket instanceof Socket) || !socket.remoteAddress || !socket.localAddress || !socket.remotePort || !socket.localPort) return;
      const cfg = server.config.ident;
      const running = inFlight.getOrCreate(server, () => ({ count: 0 }));
      if (running.count >= cfg.max_lookups) return;
      running.count++;
      const notice = (text: string) => client.fromServer('NOTICE', ['*', text]);
      notice('*** Checking Ident');
      const ip = client.ip;
      const conn = client.session.conn;
      const target = { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, localAddress: socket.localAddress, localPort: socket.localPort };
      const lookup: Lookup = { ip, pending: true, done: Promise.resolve() };
      lookup.done = lookupIdent(target, cfg.port, cfg.timeout * 1000).then((answer) => {
        running.count--;
        lookup.pending = false;
        // A WEBIRC gateway may have told the user's real address meanwhile: the answer is the gateway's.
        if (conn.closed || client.ip !== ip) return;
        lookup.answer = answer;
        notice(answer ? '*** Got Ident response' : '*** No Ident response');
      });
      lookups.set(client, lookup);
    },
  },
};
