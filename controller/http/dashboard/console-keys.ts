/**
 * What a key pressed in the console view sends to the node, as a terminal would: printable
 * characters as they are, Enter as CR, Backspace as DEL, Ctrl-letter as its control character,
 * arrows as ANSI sequences. Null: the key is the browser's (Alt/Meta shortcuts, F-keys). Pure.
 */

export interface KeyPress {
  key: string;
  ctrlKey: boolean;
  altKey: boolean;
  metaKey: boolean;
}

const NAMED: Readonly<Record<string, string>> = {
  Enter: '\r',
  Backspace: '\x7f',
  Tab: '\t',
  Escape: '\x1b',
  ArrowUp: '\x1b[A',
  ArrowDown: '\x1b[B',
  ArrowRight: '\x1b[C',
  ArrowLeft: '\x1b[D',
  Home: '\x1b[H',
  End: '\x1b[F',
  Delete: '\x1b[3~',
};

export function keyBytes(k: KeyPress): string | null {
  if (k.altKey || k.metaKey) return null;
  if (k.ctrlKey) return k.key.length === 1 && /[@-_a-z]/i.test(k.key) ? String.fromCharCode(k.key.toUpperCase().charCodeAt(0) & 0x1f) : null;
  if (k.key.length === 1 || /^[\uD800-\uDBFF][\uDC00-\uDFFF]$/.test(k.key)) return k.key;
  return NAMED[k.key] ?? null;
}
