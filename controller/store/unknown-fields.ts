/**
 * Fields a schema does not know. zod leaves them out of what it parses, so the next write of the
 * parsed data would drop them silently: the store and the state records are refused instead (see
 * docs/operations.md, "Reliability").
 */

/** Paths (`nodes.n001.rack`) of the object keys in `raw` that `parsed`, its parse, left out. */
export function droppedFields(raw: unknown, parsed: unknown, path: string, out: string[] = []): string[] {
  // A value the schema passes through untouched (z.unknown) is the same object: nothing dropped.
  if (raw === parsed || typeof raw !== 'object' || raw === null || typeof parsed !== 'object' || parsed === null) return out;
  if (Array.isArray(raw)) {
    if (Array.isArray(parsed)) raw.forEach((v, i) => droppedFields(v, parsed[i], `${path}[${i}]`, out));
    return out;
  }
  const kept = parsed as Record<string, unknown>;
  for (const [key, value] of Object.entries(raw)) {
    const at = path ? `${path}.${key}` : key;
    if (Object.hasOwn(kept, key)) droppedFields(value, kept[key], at, out);
    else out.push(at);
  }
  return out;
}

/** The refusal's reason for `fields` (from `droppedFields`, not empty). */
export function unknownFieldsProblem(fields: readonly string[]): string {
  const named = fields.slice(0, 5).join(', ') + (fields.length > 5 ? ` (+${fields.length - 5} more)` : '');
  return `has fields this muster does not know: ${named}. A newer muster wrote them (or a hand edit did), and this one would drop them at its next write. Upgrade muster, or remove those fields by hand`;
}
