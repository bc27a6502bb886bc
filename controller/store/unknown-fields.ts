/**
 * Fields a schema does not know. zod leaves them out of what it parses, so the next write of the
 * parsed data would drop them silently: the store and the state records are refused instead (see
 * docs/operations.md, "Reliability").
 */

/** Paths (`nodes.n001.rack`) of the object keys in `raw` that `parsed`, its parse, left out. */
export function droppedFields(raw: unknown, parsed: unknown, path: string): string[] {
  const out: string[] = [];
  walk(raw, parsed, [path], out);
  return out;
}

/** `at` is the path so far, as segments (`.key`, `[i]`): joined only for a key that was dropped (a 10,000-node store is ~1M keys). */
function walk(raw: unknown, parsed: unknown, at: string[], out: string[]): void {
  // A value the schema passes through untouched (z.unknown) is the same object: nothing dropped.
  if (raw === parsed || typeof raw !== 'object' || raw === null || typeof parsed !== 'object' || parsed === null) return;
  if (Array.isArray(raw)) {
    if (!Array.isArray(parsed)) return;
    for (let i = 0; i < raw.length; i++) {
      at.push(`[${i}]`);
      walk(raw[i], parsed[i], at, out);
      at.pop();
    }
    return;
  }
  const kept = parsed as Record<string, unknown>;
  for (const key in raw) {
    at.push(`.${key}`);
    if (Object.hasOwn(kept, key)) walk((raw as Record<string, unknown>)[key], kept[key], at, out);
    else out.push(at.join('').replace(/^\./, ''));
    at.pop();
  }
}

/** The refusal's reason for `fields` (from `droppedFields`, not empty). */
export function unknownFieldsProblem(fields: readonly string[]): string {
  const named = fields.slice(0, 5).join(', ') + (fields.length > 5 ? ` (+${fields.length - 5} more)` : '');
  return `has fields this muster does not know: ${named}. A newer muster wrote them (or a hand edit did), and this one would drop them at its next write. Upgrade muster, or remove those fields by hand`;
}
