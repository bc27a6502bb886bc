/**
 * Turns raw bytes from sysfs/procfs/DMI into text that is safe in JSON and in the protocol
 * schemas: firmware fields may hold invalid UTF-8, NULs and control characters.
 */

const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const WHITESPACE = /[\t\n\r ]+/g;

/** Bytes → trimmed single-line text of at most `max` UTF-16 units; null when nothing is left. */
export function sanitizeText(raw: Buffer | string | null, max = 256): string | null {
  if (raw === null) return null;
  // Invalid UTF-8 sequences decode to U+FFFD; control characters become U+FFFD as well.
  const text = (typeof raw === 'string' ? raw : raw.toString('utf8')).replace(CONTROL, '\uFFFD').replace(WHITESPACE, ' ').trim();
  let capped = text.slice(0, max);
  // Never leave half of a surrogate pair at the cut.
  if (/[\uD800-\uDBFF]$/.test(capped)) capped = capped.slice(0, -1);
  capped = capped.trimEnd();
  return capped.length > 0 ? capped : null;
}

/** Values vendors leave in DMI fields they did not fill in (compared case-insensitively). */
const PLACEHOLDERS = new Set(
  [
    'to be filled by o.e.m.',
    'to be filled by oem',
    'not specified',
    'not applicable',
    'default string',
    'system serial number',
    'system product name',
    'system manufacturer',
    'system version',
    'base board serial number',
    'chassis serial number',
    'o.e.m.',
    'oem',
    'none',
    'n/a',
    'na',
    'unknown',
    '0123456789',
    '123456789',
    '0',
    '00000000',
  ].map((s) => s.toLowerCase()),
);

/** Placeholder UUIDs: unset (all 0 / all F) and the AMI BIOS default. */
const PLACEHOLDER_UUIDS = new Set(['00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '03000200-0400-0500-0006-000700080009']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isPlaceholder(value: string): boolean {
  return PLACEHOLDERS.has(value.toLowerCase()) || /^[0.\s-]+$/.test(value) || /^[xX]+$/.test(value);
}

/** A DMI text field: sanitised, null for placeholders. */
export function dmiText(raw: Buffer | null, max = 256): string | null {
  const text = sanitizeText(raw, max);
  return text === null || isPlaceholder(text) ? null : text;
}

/** A DMI system UUID, lowercased; null unless it is a well-formed UUID a vendor really set. */
export function dmiUuid(raw: Buffer | string | null): string | null {
  const text = sanitizeText(raw, 64)?.toLowerCase() ?? null;
  return text !== null && UUID.test(text) && !PLACEHOLDER_UUIDS.has(text) ? text : null;
}
