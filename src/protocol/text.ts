// Text under IRC's byte limits: the line length and the *LEN limits count UTF-8 bytes, so text is
// cut and packed by its encoded size, never inside a character.

/** Cuts text to at most `max` UTF-8 bytes without splitting a character. */
export function truncateUtf8(text: string, max: number): string {
  if (Buffer.byteLength(text) <= max) return text;
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    bytes += Buffer.byteLength(ch);
    if (bytes > max) break;
    out += ch;
  }
  return out;
}

/**
 * Packs items, in order, into as few lines as fit: a line's items joined by one-byte separators
 * (space or comma) come to at most `budget` UTF-8 bytes, and a line holds at most `maxItems`.
 * An item too long for the budget on its own still gets a line: it is never cut or dropped.
 */
export function packLines(items: Iterable<string>, budget: number, maxItems = Infinity): string[][] {
  const lines: string[][] = [];
  let line: string[] = [];
  let used = 0;
  for (const item of items) {
    const size = Buffer.byteLength(item);
    if (line.length > 0 && (line.length === maxItems || used + 1 + size > budget)) {
      lines.push(line);
      line = [];
    }
    used = line.length === 0 ? size : used + 1 + size;
    line.push(item);
  }
  if (line.length > 0) lines.push(line);
  return lines;
}

/** The "U+00E9" name of a character, for replies that should not print it raw (controls, marks, invisible ones). */
export function codePointName(c: string): string {
  return 'U+' + c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
}
