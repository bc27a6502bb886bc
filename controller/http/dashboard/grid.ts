/// <reference lib="dom" />
/**
 * The node grid on one canvas, virtualised: only the rows in view are drawn, so 10,000 nodes cost
 * a few thousand rectangles per frame. The caller batches changes and calls draw() once per frame.
 */
import { cellIndexAt, cellOrigin, gridLayout, visibleRows, type GridLayout } from './grid-layout.js';

export interface CellLook {
  colour: string;
  faults: boolean;
}

export class NodeGrid {
  private names: readonly string[] = [];
  private index = new Map<string, number>();
  private layout: GridLayout = gridLayout(0, 0);
  private selected: string | null = null;
  /** The nodes picked for a range action: outlined. */
  private marked: { has(node: string): boolean } = new Set<string>();
  private width = 0;
  private height = 0;

  constructor(
    private readonly scroller: HTMLElement,
    private readonly spacer: HTMLElement,
    private readonly canvas: HTMLCanvasElement,
    private readonly look: (node: string) => CellLook,
    private readonly requestDraw: () => void,
  ) {
    new ResizeObserver(() => this.resize()).observe(scroller);
    scroller.addEventListener('scroll', () => requestDraw(), { passive: true });
  }

  setNames(names: readonly string[]): void {
    this.names = names;
    this.index = new Map(names.map((n, i) => [n, i]));
    this.relayout();
  }

  select(node: string | null): void {
    this.selected = node;
    this.requestDraw();
  }

  setMarked(marked: { has(node: string): boolean }): void {
    this.marked = marked;
    this.requestDraw();
  }

  /** The node under a point of the page (client coordinates), if any. */
  nodeAt(clientX: number, clientY: number): string | null {
    const r = this.canvas.getBoundingClientRect();
    const i = cellIndexAt(this.layout, this.names.length, clientX - r.left, clientY - r.top + this.scroller.scrollTop);
    return i < 0 ? null : this.names[i]!;
  }

  /** Where a node's cell is on the page now (client coordinates), or null when it is not shown. */
  cellRect(node: string): { x: number; y: number; width: number; height: number } | null {
    const i = this.index.get(node);
    if (i === undefined) return null;
    const r = this.canvas.getBoundingClientRect();
    const o = cellOrigin(this.layout, i);
    return { x: r.left + o.x, y: r.top + o.y - this.scroller.scrollTop, width: this.layout.cellW, height: this.layout.cellH };
  }

  /** Scrolls so the node's cell is in view. */
  reveal(node: string): void {
    const i = this.index.get(node);
    if (i === undefined) return;
    const { y } = cellOrigin(this.layout, i);
    const top = this.scroller.scrollTop;
    if (y < top || y + this.layout.cellH > top + this.height) this.scroller.scrollTop = Math.max(0, y - this.height / 3);
  }

  draw(): void {
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const dpr = window.devicePixelRatio || 1;
    const l = this.layout;
    const top = this.scroller.scrollTop;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);
    if (l.labelled) {
      ctx.font = '12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
      ctx.textBaseline = 'middle';
    }
    const [first, last] = visibleRows(l, top, this.height);
    const end = Math.min(this.names.length, (last + 1) * l.cols);
    for (let i = first * l.cols; i < end; i++) {
      const name = this.names[i]!;
      const { colour, faults } = this.look(name);
      const o = cellOrigin(l, i);
      const y = o.y - top;
      ctx.fillStyle = colour;
      if (l.labelled) {
        ctx.beginPath();
        ctx.roundRect(o.x, y, l.cellW, l.cellH, 4);
        ctx.fill();
        ctx.fillStyle = textColourOn(colour);
        ctx.fillText(name, o.x + 7, y + l.cellH / 2, l.cellW - 14);
      } else {
        ctx.fillRect(o.x, y, l.cellW, l.cellH);
      }
      if (faults) this.faultMark(ctx, o.x + l.cellW, y, l.labelled ? 8 : 5);
      if (this.marked.has(name)) {
        ctx.strokeStyle = '#58a6ff';
        ctx.lineWidth = 2;
        ctx.setLineDash([3, 2]);
        ctx.strokeRect(o.x + 1, y + 1, l.cellW - 2, l.cellH - 2);
        ctx.setLineDash([]);
      }
      if (name === this.selected) {
        ctx.strokeStyle = '#f0f6fc';
        ctx.lineWidth = 2;
        ctx.strokeRect(o.x - 1.5, y - 1.5, l.cellW + 3, l.cellH + 3);
      }
    }
  }

  /** A red corner: the node has open hardware-log issues. */
  private faultMark(ctx: CanvasRenderingContext2D, right: number, top: number, size: number): void {
    ctx.fillStyle = '#ff3b30';
    ctx.beginPath();
    ctx.moveTo(right - size, top);
    ctx.lineTo(right, top);
    ctx.lineTo(right, top + size);
    ctx.fill();
  }

  private resize(): void {
    const dpr = window.devicePixelRatio || 1;
    this.width = this.scroller.clientWidth;
    this.height = this.scroller.clientHeight;
    this.canvas.width = Math.round(this.width * dpr);
    this.canvas.height = Math.round(this.height * dpr);
    this.canvas.style.width = `${this.width}px`;
    this.canvas.style.height = `${this.height}px`;
    this.relayout();
  }

  private relayout(): void {
    this.layout = gridLayout(this.names.length, this.width);
    this.spacer.style.height = `${Math.max(this.layout.height, this.height)}px`;
    this.requestDraw();
  }
}

/** Dark text on light cells, light text on dark ones (relative luminance of a #rrggbb colour). */
function textColourOn(hex: string): string {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 ? '#0d1117' : '#f0f6fc';
}
