/**
 * Where each cell of the node grid goes. Named cells while a few hundred nodes fit; small
 * unlabelled squares beyond (10,000 nodes in a screen or two). Pure.
 */
export interface GridLayout {
  labelled: boolean;
  cols: number;
  rows: number;
  cellW: number;
  cellH: number;
  gap: number;
  pad: number;
  /** Total height of all rows, for the scroll area. */
  height: number;
}

export const LABELLED_MAX = 600;

export function gridLayout(count: number, width: number): GridLayout {
  const labelled = count <= LABELLED_MAX;
  const [cellW, cellH, gap, pad] = labelled ? [96, 26, 4, 8] : [12, 12, 2, 8];
  const cols = Math.max(1, Math.floor((width - 2 * pad + gap) / (cellW + gap)));
  const rows = Math.ceil(count / cols);
  return { labelled, cols, rows, cellW, cellH, gap, pad, height: rows === 0 ? 0 : 2 * pad + rows * (cellH + gap) - gap };
}

/** The cell's top-left corner in grid coordinates (before scrolling). */
export function cellOrigin(l: GridLayout, index: number): { x: number; y: number } {
  return { x: l.pad + (index % l.cols) * (l.cellW + l.gap), y: l.pad + Math.floor(index / l.cols) * (l.cellH + l.gap) };
}

/** The index of the cell at a point in grid coordinates, or -1 in a gap or past the end. */
export function cellIndexAt(l: GridLayout, count: number, x: number, y: number): number {
  const cx = x - l.pad;
  const cy = y - l.pad;
  if (cx < 0 || cy < 0) return -1;
  const col = Math.floor(cx / (l.cellW + l.gap));
  const row = Math.floor(cy / (l.cellH + l.gap));
  if (col >= l.cols || cx - col * (l.cellW + l.gap) >= l.cellW || cy - row * (l.cellH + l.gap) >= l.cellH) return -1;
  const i = row * l.cols + col;
  return i < count ? i : -1;
}

/** The first and last row that show in a viewport scrolled to `top` with height `viewH`. */
export function visibleRows(l: GridLayout, top: number, viewH: number): [number, number] {
  const rowH = l.cellH + l.gap;
  const first = Math.max(0, Math.floor((top - l.pad) / rowH));
  const last = Math.min(l.rows - 1, Math.floor((top + viewH - l.pad) / rowH));
  return [first, last];
}
