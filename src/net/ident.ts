// Ident lookups (RFC 1413): one outgoing connection to the client's ident port, one query, one
// line of answer, within a timeout. Every failure (refused, silent, malformed, too long) is
// simply "no answer".
import { connect } from 'node:net';
import { IDENT_MAX_REPLY, identQuery, parseIdentReply } from '../protocol/ident.js';

export interface IdentTarget {
  /** The client's address and its port of the IRC connection. */
  remoteAddress: string;
  remotePort: number;
  /** Our address and port of the IRC connection: the query comes from that address, so the client's ident server recognises it. */
  localAddress: string;
  localPort: number;
}

/** The user-id the client's ident server gives for the connection, or undefined. */
export function lookupIdent(target: IdentTarget, identPort: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = connect({ host: target.remoteAddress, port: identPort, localAddress: target.localAddress });
    const finish = (userId: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(userId);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write(identQuery(target.remotePort, target.localPort)));
    socket.on('data', (chunk: string) => {
      answer += chunk;
      const end = answer.indexOf('\n');
      if (end !== -1) finish(parseIdentReply(answer.slice(0, end), target.remotePort, target.localPort));
      else if (answer.length > IDENT_MAX_REPLY) finish(undefined);
    });
    socket.on('error', () => finish(undefined));
    // Closed without a line end: RFC 1413 lets the server close after its reply, so take what came.
    socket.on('end', () => finish(parseIdentReply(answer, target.remotePort, target.localPort)));
  });
}
