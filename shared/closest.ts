/** Up to `max` candidates closest to `name` by edit distance, when close enough to be a typo. */
export function closest(name: string, candidates: readonly string[], max: number): string[] {
  const threshold = Math.max(1, Math.floor(name.length / 3));
  return [...new Set(candidates)]
    .map((c) => ({ c, d: Math.abs(c.length - name.length) > threshold ? Infinity : editDistance(name, c) }))
    .filter((x) => x.d <= threshold)
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c))
    .slice(0, max)
    .map((x) => x.c);
}

/** Levenshtein distance, counting a swap of two neighbours as one edit (a common typo: rakc1). */
function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      row.push(d);
    }
    before = prev;
    prev = row;
  }
  return prev[b.length]!;
}
