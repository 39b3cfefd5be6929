// The shape of a server line before it is applied: which parameters may be free text (with
// spaces, empty, or starting with ":") and which must be one word. A word parameter that is not
// one (a host "a b", an account ":x", a mask with a space) would be stored here and then sent on
// in the middle of another server's line (EUID, BMASK), where it breaks that line: such a line is
// ignored as a whole, as TS6 servers ignore what they cannot parse.
// Spec: https://github.com/solanum-ircd/solanum/blob/main/doc/technical/ts6.md ("Server to server messages")
import type { Message } from '../../protocol/message.js';

/** Index of the first parameter that is free text; parameters before it are words. */
const TEXT_FROM: Readonly<Record<string, number>> = {
  PRIVMSG: 1,
  NOTICE: 1,
  TAGMSG: 1,
  QUIT: 0,
  AWAY: 0,
  PART: 1,
  KICK: 2,
  KILL: 1,
  TOPIC: 1,
  TB: 2,
  EUID: 10,
  SID: 3,
  SQUIT: 1,
  ERROR: 0,
  WALLOPS: 0,
  OPERWALL: 0,
  PING: 0,
  PONG: 0,
  // A list of words, split on spaces: the masks of BMASK (and the members of SJOIN, its last parameter).
  BMASK: 3,
  // Its entries, "<mask> <set at> <set by>" each, likewise.
  EBMASK: 3,
  UID: 8,
  MLOCK: 2,
};

const NUMERIC = /^\d{3}$/;

/** A word: not empty, no space, not starting with ":". */
const WORD = /^[^\s:][^\s]*$/;

/** The same for the ENCAP subcommands applied here (counted from the subcommand's first parameter). */
const ENCAP_TEXT_FROM: Readonly<Record<string, number>> = { SU: Infinity, LOGIN: Infinity, REALNAME: 0, REDACT: 2 };

/** Why a line cannot be applied as it is, or undefined when its parameters have their shapes. */
export function malformed(msg: Message): string | undefined {
  const p = msg.params;
  if (msg.command === 'ENCAP') {
    const sub = ENCAP_TEXT_FROM[p[1] ?? ''];
    return sub === undefined ? words(msg, 0, 2) : words(msg, 0, sub + 2);
  }
  // A numeric routed back to a user (remote WHOIS, MOTD...) ends in text, as it does for clients.
  const textFrom = msg.command === 'SJOIN' || NUMERIC.test(msg.command) ? p.length - 1 : (TEXT_FROM[msg.command] ?? p.length);
  const why = words(msg, 0, textFrom);
  if (why || (msg.command !== 'SJOIN' && msg.command !== 'BMASK' && msg.command !== 'EBMASK')) return why;
  // Each token of the list becomes a word of another line (a UID, a mask in a MODE).
  return /[^ \S]|^:| :/.test(p[p.length - 1] ?? '') ? `the list of ${msg.command} has a token that is not a word` : undefined;
}

function words(msg: Message, from: number, to: number): string | undefined {
  const p = msg.params;
  for (let i = from; i < Math.min(to, p.length); i++) if (!WORD.test(p[i]!)) return `parameter ${i + 1} of ${msg.command} is not a word`;
  return undefined;
}
