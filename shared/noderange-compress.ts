import { MAX_BOUND_DIGITS, NUMBERED } from './noderange.js';

/**
 * The inverse of expandNodeRange, for display: `n[001-004],n010,gpu[1-2]`. Consecutive numbers
 * with the same prefix, suffix and padding fold into one range; a lone number stays a plain name.
 * Groups appear in the order of their first name in the input; ranges ascend within a group.
 * expandNodeRange(compressNodeRange(names)) gives back the same set of names.
 */
export function compressNodeRange(names: readonly string[]): string {
  interface Family {
    prefix: string;
    suffix: string;
    /** 0: unpadded numbers; otherwise the zero-padded width. */
    width: number;
    first: number;
    nums: Set<number>;
  }
  const families = new Map<string, Family>();
  const plain = new Map<string, number>();
  const unpadded: { prefix: string; suffix: string; digits: string; at: number }[] = [];
  const family = (prefix: string, suffix: string, width: number, at: number): Family => {
    const key = `${prefix}\0${suffix}\0${width}`;
    let f = families.get(key);
    if (!f) families.set(key, (f = { prefix, suffix, width, first: at, nums: new Set() }));
    f.first = Math.min(f.first, at);
    return f;
  };
  for (const [at, name] of names.entries()) {
    const m = NUMBERED.exec(name);
    if (!m || m[1] === '' || m[2]!.length > MAX_BOUND_DIGITS) {
      if (!plain.has(name)) plain.set(name, at);
      continue;
    }
    const [, prefix, digits, suffix] = m as unknown as [string, string, string, string];
    if (digits.length > 1 && digits.startsWith('0')) family(prefix, suffix, digits.length, at).nums.add(Number(digits));
    else unpadded.push({ prefix, suffix, digits, at });
  }
  // An unpadded number as wide as a padded family (n100 next to n098) prints the same in it.
  for (const u of unpadded) {
    const padded = families.get(`${u.prefix}\0${u.suffix}\0${u.digits.length}`);
    (padded ?? family(u.prefix, u.suffix, 0, u.at)).nums.add(Number(u.digits));
    if (padded) padded.first = Math.min(padded.first, u.at);
  }
  const pieces: { at: number; text: string }[] = [...plain].map(([text, at]) => ({ at, text }));
  for (const f of families.values()) {
    const fmt = (n: number) => String(n).padStart(f.width, '0');
    const sorted = [...f.nums].sort((a, b) => a - b);
    const runs: string[] = [];
    for (let k = 0; k < sorted.length; ) {
      let end = k;
      while (end + 1 < sorted.length && sorted[end + 1] === sorted[end]! + 1) end++;
      const lo = sorted[k]!;
      const hi = sorted[end]!;
      runs.push(lo === hi ? `${f.prefix}${fmt(lo)}${f.suffix}` : `${f.prefix}[${fmt(lo)}-${fmt(hi)}]${f.suffix}`);
      k = end + 1;
    }
    pieces.push({ at: f.first, text: runs.join(',') });
  }
  return pieces
    .sort((a, b) => a.at - b.at)
    .map((p) => p.text)
    .join(',');
}
