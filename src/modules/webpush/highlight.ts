// Which channel messages are highlights: those that mention the user's nick as a word, compared
// under the server's casemapping (what clients highlight on, and what draft/webpush pushes).
import type { CaseFold } from '../../protocol/casemap.js';

/** Characters that continue a nick: a mention is the nick with none of these on either side. */
const NICK_CHAR = /^[\p{L}\p{N}\p{M}_\-[\]\\`^{}|]$/u;

/** True when `text` mentions `nick` as a whole word ("bob:", "@bob", "hi bob!"; not "bobby"). */
export function mentions(text: string, nick: string, fold: CaseFold): boolean {
  const hay = fold(text);
  const needle = fold(nick);
  if (needle === '') return false;
  for (let at = hay.indexOf(needle); at !== -1; at = hay.indexOf(needle, at + 1)) {
    const before = at > 0 ? String.fromCodePoint(hay.codePointAt(at - 1)!) : '';
    const after = hay.codePointAt(at + needle.length);
    if (!NICK_CHAR.test(before) && (after === undefined || !NICK_CHAR.test(String.fromCodePoint(after)))) return true;
  }
  return false;
}
