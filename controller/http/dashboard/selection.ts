/**
 * The nodes picked for a range action: toggled (Ctrl-click), extended over the grid's order
 * (Shift-click), or set from a noderange. Pure: the page draws and acts on what this holds.
 */
export class NodeSelection {
  private readonly picked = new Set<string>();
  /** The last node picked one by one: where a Shift-click extends from. */
  private anchor: string | null = null;

  get size(): number {
    return this.picked.size;
  }

  has(node: string): boolean {
    return this.picked.has(node);
  }

  toggle(node: string): void {
    if (!this.picked.delete(node)) this.picked.add(node);
    this.anchor = node;
  }

  /** Every node of `order` from the anchor to `node` joins; without an anchor in `order`, `node` alone. */
  extend(node: string, order: readonly string[]): void {
    const from = this.anchor === null ? -1 : order.indexOf(this.anchor);
    const to = order.indexOf(node);
    if (from < 0 || to < 0) return this.toggle(node);
    for (let i = Math.min(from, to); i <= Math.max(from, to); i++) this.picked.add(order[i]!);
    this.anchor = node;
  }

  replace(names: readonly string[]): void {
    this.picked.clear();
    for (const n of names) this.picked.add(n);
    this.anchor = names.at(-1) ?? null;
  }

  clear(): void {
    this.replace([]);
  }

  /** The picked nodes that `order` (every known node) still holds, in its order. */
  names(order: readonly string[]): string[] {
    return this.picked.size === 0 ? [] : order.filter((n) => this.picked.has(n));
  }
}
