/**
 * One operation at a time per node, in call order: concurrent prepare/release on one node queue
 * instead of interleaving (build systems keep per-node state in files and external tools).
 */
export class NodeLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(node: string, op: () => Promise<T>): Promise<T> {
    const before = this.tails.get(node) ?? Promise.resolve();
    const result = before.then(op, op);
    // Only the order: the caller gets `result` with its failure; the next operation runs anyway.
    const tail = result.catch(() => undefined);
    this.tails.set(node, tail);
    // Forget idle nodes so the map does not grow with every node ever touched.
    void tail.then(() => {
      if (this.tails.get(node) === tail) this.tails.delete(node);
    });
    return result;
  }

  /** Resolves when every queued operation has settled. */
  async idle(): Promise<void> {
    while (this.tails.size) await Promise.all(this.tails.values());
  }
}
