// Casemapping (Modern IRC "Casemapping"): every nick and channel lookup goes through one of these.

export type Casemapping = 'rfc1459' | 'ascii';
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

export function caseFolder(mapping: Casemapping): CaseFold {
  return mapping === 'ascii' ? asciiFold : rfc1459Fold;
}
