import { describe, expect, it } from 'vitest';
import { dmiText, dmiUuid, sanitizeText } from '../../agent/fingerprint/sanitize.js';

describe('sanitizeText', () => {
  it('trims, replaces invalid UTF-8 and control characters, and collapses whitespace', () => {
    expect(sanitizeText(Buffer.from('  Dell\tInc.\n'))).toBe('Dell Inc.');
    expect(sanitizeText(Buffer.from([0x41, 0xff, 0x42, 0x00, 0x43]))).toBe('A\uFFFDB\uFFFDC');
    expect(sanitizeText(Buffer.from('\n \n'))).toBeNull();
    expect(sanitizeText(null)).toBeNull();
  });

  it('caps the length without leaving half a surrogate pair', () => {
    expect(sanitizeText('x'.repeat(300))).toHaveLength(256);
    const capped = sanitizeText('ab😀', 3);
    expect(capped).toBe('ab');
    expect(JSON.parse(JSON.stringify(capped))).toBe('ab');
  });
});

describe('DMI placeholders', () => {
  it.each(['To be filled by O.E.M.', 'Not Specified', 'Default string', '0123456789', 'System Serial Number', '00000000', '   ', 'XXXXXXXX'])('"%s" is null', (value) => {
    expect(dmiText(Buffer.from(value + '\n'))).toBeNull();
  });

  it('keeps real values', () => {
    expect(dmiText(Buffer.from('PowerEdge R650\n'))).toBe('PowerEdge R650');
  });

  it.each(['00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', '03000200-0400-0500-0006-000700080009', 'not-a-uuid', ''])('UUID "%s" is null', (value) => {
    expect(dmiUuid(value)).toBeNull();
  });

  it('lowercases a real UUID', () => {
    expect(dmiUuid('4C4C4544-0058-4B10-8032-B7C04F514A33\n')).toBe('4c4c4544-0058-4b10-8032-b7c04f514a33');
  });
});
