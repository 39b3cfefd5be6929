// The Identification Protocol (RFC 1413, https://www.rfc-editor.org/rfc/rfc1413): the query a
// server sends and the reply it reads, as pure functions.

/** The most an answer may hold before its line ends (RFC 1413 bounds the user-id at 512 octets). */
export const IDENT_MAX_REPLY = 1024;

/** The query: the client's port on its side, then ours ("6193, 23"). */
export function identQuery(clientPort: number, serverPort: number): string {
  return `${clientPort}, ${serverPort}\r\n`;
}

/**
 * The user-id of a reply "<client port> , <server port> : USERID : <opsys>[,<charset>] : <user-id>"
 * about the same port pair, or undefined: an ERROR reply, other ports, or anything malformed.
 * The user-id is the rest of the line (it may hold colons); spaces around it are dropped.
 */
export function parseIdentReply(line: string, clientPort: number, serverPort: number): string | undefined {
  const parts = line.replace(/\r?\n$/, '').split(':');
  if (parts.length < 4) return undefined;
  const ports = /^\s*(\d{1,5})\s*,\s*(\d{1,5})\s*$/.exec(parts[0]!);
  if (!ports || Number(ports[1]) !== clientPort || Number(ports[2]) !== serverPort) return undefined;
  if (parts[1]!.trim().toUpperCase() !== 'USERID' || parts[2]!.trim() === '') return undefined;
  const userId = parts.slice(3).join(':').trim();
  return userId === '' ? undefined : userId;
}
