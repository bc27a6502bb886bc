/**
 * Per node, when its next time rule falls due, filed by time slot, so that a tick visits the nodes
 * of the slots that have come, not every node. (At 10k heartbeating nodes a tick runs about four
 * times a second, and scanning every wake time each time was ~1.5 % of the controller's CPU:
 * bench/probe. A tick now looks at a slot or two of a few hundred nodes.)
 */
export class WakeIndex {
  private readonly at = new Map<string, number>();
  /** Slot number (time / slotMs, rounded down) → the nodes whose time falls in it. */
  private readonly slots = new Map<number, Set<string>>();

  constructor(private readonly slotMs = 250) {}

  get(node: string): number | undefined {
    return this.at.get(node);
  }

  set(node: string, time: number): void {
    const before = this.at.get(node);
    this.at.set(node, time);
    const slot = Math.floor(time / this.slotMs);
    if (before !== undefined) {
      const old = Math.floor(before / this.slotMs);
      if (old === slot) return;
      this.leave(old, node);
    }
    const nodes = this.slots.get(slot);
    if (nodes) nodes.add(node);
    else this.slots.set(slot, new Set([node]));
  }

  delete(node: string): void {
    const before = this.at.get(node);
    if (before === undefined) return;
    this.at.delete(node);
    this.leave(Math.floor(before / this.slotMs), node);
  }

  /**
   * The nodes whose time is `now` or earlier, by name: the order a tick judges them in does not
   * depend on when each was last evaluated (a quiet heartbeat leaves that time as it was).
   */
  due(now: number): string[] {
    const last = Math.floor(now / this.slotMs);
    const due: string[] = [];
    this.slots.forEach((nodes, slot) => {
      if (slot <= last) for (const node of nodes) if (this.at.get(node)! <= now) due.push(node);
    });
    return due.sort();
  }

  /** The earliest time of any node, or null when none is set. */
  earliest(): number | null {
    let first: number | null = null;
    this.slots.forEach((_, slot) => {
      if (first === null || slot < first) first = slot;
    });
    if (first === null) return null;
    let min = Infinity;
    for (const node of this.slots.get(first)!) min = Math.min(min, this.at.get(node)!);
    return min;
  }

  private leave(slot: number, node: string): void {
    const nodes = this.slots.get(slot)!;
    nodes.delete(node);
    if (nodes.size === 0) this.slots.delete(slot);
  }
}
