// Casemapping (Modern IRC "Casemapping"): every nick and channel lookup goes through one of these.
// `utf8` is RFC 8265's UsernameCaseMapped profile (https://www.rfc-editor.org/rfc/rfc8265#section-3.3),
// announced as Ergo does (docs/international.md says why).

export type Casemapping = 'rfc1459' | 'ascii' | 'utf8';
export type CaseFold = (s: string) => string;

export function asciiFold(s: string): string {
  let out = '';
  let changed = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) {
      out += String.fromCharCode(c + 32);
      changed = true;
    } else out += s[i];
  }
  return changed ? out : s;
}

const RFC1459_EXTRA: Record<string, string> = { '[': '{', ']': '}', '\\': '|', '~': '^' };

export function rfc1459Fold(s: string): string {
  let needs = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 65 && c <= 93) || c === 126) {
      needs = true;
      break;
    }
  }
  if (!needs) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) out += String.fromCharCode(c + 32);
    else out += RFC1459_EXTRA[s[i]!] ?? s[i];
  }
  return out;
}

/**
 * RFC 8265 width mapping: fullwidth and halfwidth forms (the U+FF00 block, whose compatibility
 * decompositions are all <wide> or <narrow>) become their ordinary forms.
 */
export function widthMap(s: string): string {
  return /[\uff01-\uffee]/.test(s) ? s.replace(/[\uff01-\uffee]/g, (c) => c.normalize('NFKC')) : s;
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * The utf8 casemapping, RFC 8265's UsernameCaseMapped comparison: width mapping, Unicode
 * toLowerCase (locale-independent, as the RFC prefers), NFC. One pass of those is not always
 * stable, so it repeats until it is (the PRECIS framework's advice); two passes settle every
 * string seen in practice, four are allowed. One addition: final sigma "ς" folds to "σ" (Unicode
 * case folding does), because toLowerCase makes "Σ" one or the other by its place in the word, and
 * "ΑΣ" must equal "ασ". ASCII-only strings fold like `ascii`, on the fast path.
 */
export function utf8Fold(s: string): string {
  if (!NON_ASCII.test(s)) return asciiFold(s);
  let prev = s;
  for (let i = 0; i < 4; i++) {
    const next = widthMap(prev).toLowerCase().replace(/ς/g, 'σ').normalize('NFC');
    if (next === prev) break;
    prev = next;
  }
  return prev;
}

export function caseFolder(mapping: Casemapping): CaseFold {
  return mapping === 'utf8' ? utf8Fold : mapping === 'ascii' ? asciiFold : rfc1459Fold;
}

