import { Backoff } from '../../../shared/backoff.js';
import { Transition } from '../../../shared/protocol.js';
import type { HistoryQuery, TransitionLog } from '../backend.js';
import type { PgDatabase } from './database.js';

/** Rows per INSERT: a burst of transitions (a rack reboots) goes in a few statements. */
const BATCH = 5000;

/**
 * The transition journal in PostgreSQL's `journal` table: `append` queues the line at once (it
 * never waits or throws, as the file's does) and the queue is inserted in order, in batches, one
 * at a time; `seq` keeps the order of appends. While the database is unreachable the queue is
 * kept and sent again with backoff; what is still queued when the journal closes is reported lost.
 * The table is not rotated: keep it with the database's own retention (docs/federation.md).
 */
export class PgJournal implements TransitionLog {
  private pending: Transition[] = [];
  private sending: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly retry = new Backoff({ initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.1 });
  private lastError: Error | null = null;
  private closed = false;
  appended = 0;

  constructor(
    private readonly db: PgDatabase,
    private readonly opts: { onError?: (err: Error) => void } = {},
  ) {}

  get error(): Error | null {
    return this.lastError;
  }

  append(t: Transition): void {
    if (this.closed) return;
    this.pending.push(t);
    this.appended++;
    if (!this.retryTimer) this.send();
  }

  /** Sends the queue unless a send is under way; appends made in the same turn of the loop go together. */
  private send(): Promise<void> {
    this.sending ??= new Promise(setImmediate)
      .then(() => this.sendQueued())
      .finally(() => (this.sending = null));
    return this.sending;
  }

  private async sendQueued(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.slice(0, BATCH);
      try {
        await this.db.query(
          `INSERT INTO journal (node, axis, at, record)
           SELECT n, a, t, r FROM unnest($1::text[], $2::text[], $3::float8[], $4::json[]) WITH ORDINALITY AS x(n, a, t, r, i) ORDER BY i`,
          [batch.map((t) => t.node), batch.map((t) => t.axis), batch.map((t) => t.at), batch.map((t) => JSON.stringify(t))],
        );
      } catch (err) {
        const first = this.lastError === null;
        this.lastError = new Error(`journal ${this.db.where}: append failed: ${(err as Error).message}; ${this.pending.length} transitions queued`);
        if (first) this.opts.onError?.(this.lastError);
        if (!this.closed) {
          this.retryTimer = setTimeout(() => {
            this.retryTimer = null;
            void this.send();
          }, this.retry.next());
          this.retryTimer.unref();
        }
        return;
      }
      this.pending.splice(0, batch.length);
      this.lastError = null;
      this.retry.reset();
    }
  }

  /** Resolves once everything appended so far is in the table, or a try to send it failed (see `error`). */
  async sync(): Promise<void> {
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    // A send under way may have taken its batch before the latest appends: send again after it.
    await this.sending;
    if (this.pending.length > 0) await this.send();
  }

  async history(q: HistoryQuery): Promise<{ transitions: Transition[]; skipped: number }> {
    await this.sync();
    const where: string[] = [];
    const params: unknown[] = [];
    const cond = (sql: string, v: unknown) => {
      params.push(v);
      where.push(`${sql} $${params.length}`);
    };
    if (q.node) cond('node =', q.node);
    if (q.axis) cond('axis =', q.axis);
    if (q.since !== undefined) cond('at >=', q.since);
    const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    // The newest `limit`, read back oldest first.
    const sql = q.limit ? `SELECT record FROM (SELECT seq, record FROM journal ${filter} ORDER BY seq DESC LIMIT ${Math.floor(q.limit)}) x ORDER BY seq` : `SELECT record FROM journal ${filter} ORDER BY seq`;
    const r = await this.db.query<{ record: unknown }>(sql, params);
    const transitions: Transition[] = [];
    let skipped = 0;
    for (const row of r.rows) {
      const t = Transition.safeParse(row.record);
      if (t.success) transitions.push(t.data);
      else skipped++;
    }
    return { transitions, skipped };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.sync();
    if (this.pending.length > 0) this.opts.onError?.(new Error(`journal ${this.db.where}: ${this.pending.length} transitions not written at close: ${this.lastError?.message ?? 'unknown error'}`));
  }
}
