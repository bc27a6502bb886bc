/**
 * Console bytes → log text. Valid UTF-8 passes through untouched (colour codes included); each
 * byte that is not valid UTF-8, and NUL (which makes grep call the file binary), becomes `\xNN`.
 * So the log is always valid UTF-8 and no byte is lost. A literal `\xNN` typed on the console
 * reads the same: the escape is for people and grep, not for a byte-exact replay.
 */
export function logText(bytes: Buffer): string {
  let out = '';
  let runStart = 0;
  let i = 0;
  while (i < bytes.length) {
    const n = bytes[i] === 0 ? 0 : utf8SequenceLength(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += bytes.toString('utf8', runStart, i) + `\\x${bytes[i]!.toString(16).padStart(2, '0')}`;
    i += 1;
    runStart = i;
  }
  return out + bytes.toString('utf8', runStart, bytes.length);
}

/** How many trailing bytes are the start of a UTF-8 character still waiting for its rest (0-3). */
export function incompleteUtf8Tail(bytes: Buffer): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const b = bytes[bytes.length - back]!;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back for the lead
    const need = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 && b < 0xe0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

/** Length of the valid UTF-8 sequence starting at `i`, or 0 if the byte there starts none. */
function utf8SequenceLength(b: Buffer, i: number): number {
  const b0 = b[i]!;
  if (b0 < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => {
    const x = b[i + k];
    return x !== undefined && x >= lo && x <= hi;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    // E0 needs A0.. (no overlongs); ED stops at 9F (no UTF-16 surrogates).
    const lo = b0 === 0xe0 ? 0xa0 : 0x80;
    const hi = b0 === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const lo = b0 === 0xf0 ? 0x90 : 0x80;
    const hi = b0 === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}
