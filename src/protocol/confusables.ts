// Confusable nicknames (Unicode TR39 "Confusable Detection", https://www.unicode.org/reports/tr39/#Confusable_Detection):
// two nicks with the same skeleton look alike, so under the utf8 casemapping they count as one
// for NICK, account registration and nick reservation. The mapping is Unicode's confusables.txt
// as the unhomoglyph package ships it (docs/architecture.md says why that package).
import { createRequire } from 'node:module';
import { widthMap } from './casemap.js';

const TABLE: ReadonlyMap<string, string> = new Map(Object.entries(createRequire(import.meta.url)('unhomoglyph/data.json') as Record<string, string>));

/**
 * The TR39 skeleton of a nick, then lowercased: NFD, each character replaced by its prototype,
 * NFD again (the TR39 steps), after the width mapping of the casemapping (the table lacks some
 * fullwidth forms). Lowercasing comes last: folding first would lose what tells "I" from "l".
 * Not a function of the casefolded nick, so State keeps it as an index of its own.
 */
export function skeleton(nick: string): string {
  let out = '';
  for (const c of widthMap(nick).normalize('NFD')) out += TABLE.get(c) ?? c;
  return out.normalize('NFD').toLowerCase().normalize('NFC');
}
