// "Did you mean ...?" for config keys: the valid name nearest to an unknown one by edit distance.

/**
 * Edit distance (optimal string alignment): the fewest one-character insertions, deletions,
 * substitutions and swaps of two neighbours from a to b; "emial" is one edit from "email".
 */
export function editDistance(a: string, b: string): number {
  // Three rows: the one before the previous is for swaps.
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      row[j] = d;
    }
    before = prev;
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The candidate nearest to `word` (the first of equals, in the order given), if it is close
 * enough to be a typo: at most a third of the word's characters differ, and at least one may.
 */
export function nearestName(word: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}
