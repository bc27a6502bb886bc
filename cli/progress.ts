import type { ControllerClient } from './client.js';
import { Event, decodeMessage } from '../shared/protocol.js';
import type { PowerResult } from '../shared/verbs/results.js';

/** A one-line progress bar on a terminal (stderr), nothing otherwise; and the summary line. */
export class Progress {
  private done = 0;
  private failed = 0;
  /** `total` null: not known beforehand, a count without a bar. */
  constructor(
    private readonly total: number | null,
    private readonly label: string,
    private readonly enabled = !!process.stderr.isTTY,
  ) {}

  tick(ok: boolean): void {
    this.done++;
    if (!ok) this.failed++;
    if (!this.enabled) return;
    const failed = this.failed ? ` (${this.failed} failed)` : '';
    if (this.total === null) return void process.stderr.write(`\r${this.label}: ${this.done} done${failed}`);
    const width = 30;
    const filled = Math.round((this.done / Math.max(1, this.total)) * width);
    process.stderr.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total}${failed}`);
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

/**
 * Writes a batch's summary line: on stdout when every node succeeded; on stderr, with exit code 1,
 * when any failed, so the failure's one-line reason is where scripts and people look for it.
 */
export function reportSummary(results: ReadonlyArray<{ node: string; ok: boolean; error?: string }>, label = ''): void {
  const line = `${label}${summary(results)}\n`;
  if (results.every((r) => r.ok)) return void process.stdout.write(line);
  process.exitCode = 1;
  process.stderr.write(line);
}

/** Drop the `node n007: ` prefix the error already carries, as the summary names the node. */
export function shortError(node: string, error: string): string {
  return error.replace(new RegExp(`^node ${node}: `), '');
}

/** Ticks `progress` with each node's power result of one request (its `action` events carry the request id). */
export async function followPowerResults(c: ControllerClient, requestId: string, progress: Progress): Promise<void> {
  await c.stream([c.topics.event('action')], (_t, payload) => {
    const e = decodeMessage(Event, payload);
    if (e.ok && e.value.details.requestId === requestId) progress.tick((e.value.details.result as PowerResult).ok);
  });
}
