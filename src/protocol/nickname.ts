// Nicknames (Modern IRC "Clients", https://modern.ircdocs.horse/#clients): which nicks a client may
// take. Under rfc1459 and ascii the RFC 2812 grammar (section 2.3.1); under utf8 the PRECIS
// IdentifierClass (RFC 8264 section 4.2) as RFC 8265 section 3.3 prepares usernames, with IRC's own
// limits on top. docs/international.md lists each rule and why.
import { type Casemapping, widthMap } from './casemap.js';
import { codePointName } from './text.js';

/** RFC 2812 nick grammar: a letter or special first, then letters, digits, specials and "-". */
const ASCII_NICK = /^[A-Za-z[\]\\`_^{|}][A-Za-z0-9[\]\\`_^{|}-]*$/;
/** The ASCII characters a utf8 nick may hold: those of the RFC 2812 grammar. */
const ASCII_NICK_CHAR = /^[A-Za-z0-9[\]\\`_^{|}-]$/;
/** PRECIS LetterDigits (RFC 8264 section 9.1): the non-ASCII characters a nick may hold. */
const LETTER_DIGIT = /^[\p{Ll}\p{Lu}\p{Lo}\p{Lm}\p{Nd}\p{Mn}\p{Mc}]$/u;
const UNASSIGNED = /^\p{Cn}$/u;
const IGNORABLE = /^\p{Default_Ignorable_Code_Point}$/u;
/** Letters of the scripts written right to left. */
const RTL_LETTER =
  /^[\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}\p{Script=Samaritan}\p{Script=Mandaic}\p{Script=Adlam}\p{Script=Hanifi_Rohingya}\p{Script=Yezidi}\p{Script=Mende_Kikakui}]$/u;
const LETTER = /^\p{L}$/u;

export type NickCheck = { ok: true; nick: string } | { ok: false; reason: string };

function refuse(reason: string): NickCheck {
  return { ok: false, reason };
}

/**
 * Whether `nick` may be taken under `mapping`, and the form it is kept and shown in: as sent under
 * rfc1459 and ascii; width-mapped and NFC-normalised under utf8. `maxLength` counts UTF-8 bytes.
 */
export function checkNick(nick: string, mapping: Casemapping, maxLength: number): NickCheck {
  if (mapping !== 'utf8') {
    if (nick.length > maxLength) return refuse(`longer than ${maxLength} characters`);
    return ASCII_NICK.test(nick) ? { ok: true, nick } : refuse('letters, digits and []\\`_^{|}- only, not starting with a digit or "-"');
  }
  const prepared = widthMap(nick).normalize('NFC');
  if (Buffer.byteLength(prepared) > maxLength) return refuse(`longer than ${maxLength} bytes`);
  const chars = [...prepared];
  let rtl = false;
  let ltr = false;
  for (const c of chars) {
    if (c.length === 1 && c.charCodeAt(0) < 0x80) {
      if (!ASCII_NICK_CHAR.test(c)) return refuse(c <= ' ' || c === '\x7f' ? `${codePointName(c)} is not allowed` : `"${c}" is not allowed`);
      if (LETTER.test(c)) ltr = true;
      continue;
    }
    if (UNASSIGNED.test(c)) return refuse(`${codePointName(c)} is not an assigned character`);
    if (IGNORABLE.test(c) || !LETTER_DIGIT.test(c)) return refuse(`${codePointName(c)} is not a letter, digit or combining mark`);
    if (c.normalize('NFKC') !== c.normalize('NFC')) return refuse(`${codePointName(c)} is a compatibility character; write ${c.normalize('NFKC')} instead`);
    if (RTL_LETTER.test(c)) rtl = true;
    else if (LETTER.test(c)) ltr = true;
  }
  const first = chars[0];
  if (first === undefined) return refuse('empty');
  if (/^[\p{Nd}\p{M}-]$/u.test(first)) return refuse('must not start with a digit, "-" or a combining mark');
  // A simplified RFC 5893 bidi rule: a nick with right-to-left letters starts with one and holds no
  // left-to-right letters, so no client shows it reordered among the text around it.
  if (rtl && (ltr || !RTL_LETTER.test(first))) return refuse('right-to-left letters must come first and not be mixed with left-to-right ones');
  return { ok: true, nick: prepared };
}
