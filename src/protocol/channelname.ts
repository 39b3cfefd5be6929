// Channel names (Modern IRC "Channels"): which targets are addressed to a channel, and which
// names a channel may have. Every command asks here, so the rules are in one place.
import { widthMap } from './casemap.js';
import { codePointName } from './text.js';

/** True when `target` is addressed to a channel: it starts with one of the channel types (CHANTYPES). */
export function isChannelTarget(target: string, types: string): boolean {
  return target.length > 0 && types.includes(target[0]!);
}

/** RFC 2812 chanstring: no NUL, BELL, CR, LF, space, comma or colon (and no other ASCII controls). */
const CHANSTRING = /^[^\x00-\x20,:\x7f]+$/;

/**
 * Characters that show as nothing or reorder the text around them: controls (C1 too), format
 * characters and Unicode's default-ignorables (zero-width characters, bidirectional overrides
 * and isolates, Hangul fillers, variation selectors), and non-ASCII spaces. A channel name with
 * one looks like another channel's, or turns the rest of a line around. Nicks cannot have them:
 * their grammar is ASCII.
 */
const UNSEEN = /[\p{Cc}\p{Cf}\p{Z}\p{Default_Ignorable_Code_Point}]/u;

/** True when `name` is a channel name users may use: a channel type, then visible characters, at most `maxLength` in all. */
export function validChannelName(name: string, types: string, maxLength: number): boolean {
  return name.length >= 2 && name.length <= maxLength && isChannelTarget(name, types) && CHANSTRING.test(name.slice(1)) && !UNSEEN.test(name);
}

/**
 * Under the utf8 casemapping, the name a new channel is made with: width-mapped and NFC like a
 * nick (so "#café" typed decomposed is the same channel, shown the same), or why it is refused:
 * a character not assigned in the Unicode version this Node.js knows, or one that shows as nothing.
 */
export function prepareUtf8ChannelName(name: string): { ok: true; name: string } | { ok: false; reason: string } {
  const prepared = widthMap(name).normalize('NFC');
  for (const c of prepared) {
    if (/\p{Cn}/u.test(c)) return { ok: false, reason: `${codePointName(c)} is not an assigned character` };
    if (UNSEEN.test(c)) return { ok: false, reason: `${codePointName(c)} shows as nothing or reorders the text` };
  }
  return { ok: true, name: prepared };
}
