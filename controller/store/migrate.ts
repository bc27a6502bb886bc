/**
 * `muster store migrate --to postgres://…`: copies a data directory's store (store.json) and
 * journal (journal.jsonl and its kept segments) into a PostgreSQL database, then checks that the
 * database holds as many records of each kind as the files.
 *
 * Offline, on the files, with the controller stopped: a controller keeps writing its files while
 * it runs, and what it wrote after the copy would be lost when it restarts on the database. The
 * copy is the store as loaded and validated, so a store the controller would refuse is refused here.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MusterError } from '../../shared/errors.js';
import { FileStoreBackend } from './file-backend.js';
import { JOURNAL_DEFAULTS, Journal } from './journal.js';
import type { PgDatabase } from './postgres/database.js';
import { PgJournal } from './postgres/journal.js';
import { PgStoreBackend } from './postgres/store-backend.js';
import { TABLES, rowsOf } from './postgres/tables.js';

export interface MigrateOptions {
  /** The data directory holding store.json and journal.jsonl. */
  dataDir: string;
  /** Journal segments the controller keeps (config `journal.keepSegments`): all of them are copied. */
  keepSegments?: number;
  /** Delete what the database holds first; without it, a database holding data is refused. */
  replace?: boolean;
}

/** Rows per table (and `journal`), as copied and as counted back in the database. */
export type MigrateReport = Record<string, number>;

export async function migrateStore(db: PgDatabase, opts: MigrateOptions): Promise<MigrateReport> {
  const storePath = join(opts.dataDir, 'store.json');
  if (!(await stat(storePath).catch(() => null))) throw new MusterError(`store migrate: ${storePath} does not exist: no store to copy (is --data the controller's data directory?)`, 'not-found');
  const source = await new FileStoreBackend(opts.dataDir, {}).load();
  const journal = await Journal.open(join(opts.dataDir, 'journal.jsonl'), { keepSegments: opts.keepSegments ?? JOURNAL_DEFAULTS.keepSegments });
  const { transitions } = await journal.history({}).finally(() => journal.close());

  const held = await countRows(db);
  const holding = Object.entries(held).filter(([, n]) => n > 0);
  if (holding.length > 0) {
    if (!opts.replace) throw new MusterError(`store migrate: ${db.where} already holds data (${holding.map(([t, n]) => `${t}: ${n}`).join(', ')}); migrate copies into an empty database. To delete what it holds and copy anyway: --replace`, 'conflict');
    await db.query(`TRUNCATE ${[...TABLES.map((t) => t.table), 'journal'].join(', ')} RESTART IDENTITY`);
  }

  // The store in one transaction: the backend's first write of a store that was empty.
  const target = new PgStoreBackend(db);
  const data = await target.load();
  target.beforeChange();
  Object.assign(data, source);
  target.changed();
  await target.close();

  const log = new PgJournal(db);
  for (const t of transitions) log.append(t);
  await log.close();
  if (log.error) throw new MusterError(`store migrate: the journal was not copied whole: ${log.error.message}`, 'store-write-failed');

  const expected: MigrateReport = Object.fromEntries([...TABLES.map((t) => [t.table, rowsOf(t, source).size] as const), ['journal', transitions.length]]);
  const copied = await countRows(db);
  const wrong = Object.keys(expected).filter((t) => copied[t] !== expected[t]);
  if (wrong.length > 0) throw new MusterError(`store migrate: ${db.where} holds other counts than the files: ${wrong.map((t) => `${t}: ${copied[t]} rows, ${expected[t]} expected`).join('; ')}`, 'store-write-failed');
  return copied;
}

/** Rows in every store table and the journal. */
async function countRows(db: PgDatabase): Promise<MigrateReport> {
  const tables = [...TABLES.map((t) => t.table), 'journal'];
  const r = await db.query<{ t: string; n: string }>(tables.map((t) => `SELECT '${t}' AS t, count(*) AS n FROM ${t}`).join(' UNION ALL '));
  return Object.fromEntries(r.rows.map((row) => [row.t, Number(row.n)]));
}
