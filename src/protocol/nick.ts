// The nick grammar (RFC 2812 section 2.3.1, which Modern IRC keeps in spirit): used for NICK,
// account names, MONITOR targets and the configured names of the services' pseudo-users.
// Spec: https://modern.ircdocs.horse/#clients

/** A letter or special first, then letters, digits, specials and "-". */
const NICK_RE = /^[A-Za-z[\]\\`_^{|}][A-Za-z0-9[\]\\`_^{|}-]*$/;

export function validNick(nick: string, maxLen: number): boolean {
  return nick.length <= maxLen && NICK_RE.test(nick);
}
