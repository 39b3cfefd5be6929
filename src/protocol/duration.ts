// Ban durations as opers type them: "90" (seconds), "1h30m", "7d", "2w"; "0" or "perm" is permanent.

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400, y: 365 * 86400 };

/** Ten years: longer is treated as a typo rather than silently overflowing anything. */
export const MAX_DURATION_SECONDS = 10 * 365 * 86400;

/**
 * Seconds for a duration, 0 for permanent, or undefined when the text is not a duration.
 * Units may repeat in any order ("1h30m", "30m1h"); a bare number is seconds.
 */
export function parseDuration(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (t === 'perm' || t === 'permanent') return 0;
  if (/^\d{1,10}$/.test(t)) {
    const n = Number(t);
    return n <= MAX_DURATION_SECONDS ? n : undefined;
  }
  if (!/^(\d{1,10}[smhdwy])+$/.test(t)) return undefined;
  let total = 0;
  for (const [, n, unit] of t.matchAll(/(\d+)([smhdwy])/g)) total += Number(n) * UNIT_SECONDS[unit!]!;
  return total <= MAX_DURATION_SECONDS ? total : undefined;
}

/** "1h30m" from 5400; "permanent" for 0. */
export function formatDuration(seconds: number): string {
  if (seconds <= 0) return 'permanent';
  let left = Math.round(seconds);
  let out = '';
  for (const unit of ['w', 'd', 'h', 'm', 's']) {
    const size = UNIT_SECONDS[unit]!;
    if (left >= size) {
      out += `${Math.floor(left / size)}${unit}`;
      left %= size;
    }
  }
  return out;
}
