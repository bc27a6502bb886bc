/** A one-line progress bar on a terminal (stderr), nothing otherwise; and the summary line. */
export class Progress {
  private done = 0;
  private failed = 0;
  constructor(
    private readonly total: number,
    private readonly label: string,
    private readonly enabled = !!process.stderr.isTTY,
  ) {}

  tick(ok: boolean): void {
    this.done++;
    if (!ok) this.failed++;
    if (!this.enabled) return;
    const width = 30;
    const filled = Math.round((this.done / Math.max(1, this.total)) * width);
    process.stderr.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total}${this.failed ? ` (${this.failed} failed)` : ''}`);
  }

  end(): void {
    if (this.enabled && this.done > 0) process.stderr.write('\n');
  }
}

/** `12 ok, 1 failed: n007 ipmi timeout` (at most five failures named). */
export function summary(results: ReadonlyArray<{ node: string; ok: boolean; error?: string }>): string {
  const failed = results.filter((r) => !r.ok);
  const head = `${results.length - failed.length} ok, ${failed.length} failed`;
  if (failed.length === 0) return head;
  const named = failed.slice(0, 5).map((r) => `${r.node} ${shortError(r.node, r.error ?? '')}`);
  return `${head}: ${named.join('; ')}${failed.length > 5 ? `; … ${failed.length - 5} more` : ''}`;
}

/** Drop the `node n007: ` prefix the error already carries, as the summary names the node. */
function shortError(node: string, error: string): string {
  return error.replace(new RegExp(`^node ${node}: `), '');
}
