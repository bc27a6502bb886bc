/**
 * The PostgreSQL database a controller keeps its store and journal in (config `store:`): one pool
 * of connections, the schema brought up to date at connect, and transactions.
 */
import pg from 'pg';
import { MusterError } from '../../../shared/errors.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';
import { maskedUrl } from './url.js';

/** Serializes schema changes of controllers that connect at once (an arbitrary, fixed number). */
const MIGRATION_LOCK = 0x6d757374;

export class PgDatabase {
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly pool: pg.Pool,
    /** The URL with its password masked, for messages. */
    readonly where: string,
  ) {}

  /**
   * Connects and applies the schema steps the database lacks, in one transaction. Refuses a
   * database that cannot be reached, or whose schema is newer than this muster's.
   */
  static async connect(url: string, opts: { connectTimeoutMs?: number; queryTimeoutMs?: number } = {}): Promise<PgDatabase> {
    const where = maskedUrl(url);
    const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000, ...(opts.queryTimeoutMs && { query_timeout: opts.queryTimeoutMs }) });
    // An idle connection that breaks (the server restarted) is dropped by the pool; the next query reconnects.
    pool.on('error', () => {});
    const db = new PgDatabase(pool, where);
    try {
      await pool.query('SELECT 1');
    } catch (err) {
      await pool.end().catch(() => {});
      throw new MusterError(`store ${where}: cannot connect to the database: ${(err as Error).message || (err as { code?: string }).code}`, 'store-unreachable');
    }
    try {
      await db.migrate();
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    return db;
  }

  /** The schema version the database is at now. */
  async schemaVersion(): Promise<number> {
    const r = await this.pool.query<{ v: number | null }>('SELECT max(version) AS v FROM muster_schema_migrations');
    return r.rows[0]?.v ?? 0;
  }

  private async migrate(): Promise<void> {
    await this.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await c.query('CREATE TABLE IF NOT EXISTS muster_schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
      const r = await c.query<{ v: number | null }>('SELECT max(version) AS v FROM muster_schema_migrations');
      const current = r.rows[0]?.v ?? 0;
      if (current > SCHEMA_VERSION) {
        throw new MusterError(`store ${this.where}: the database's schema is version ${current}, written by a newer muster; this one knows version ${SCHEMA_VERSION} at most. Upgrade muster`, 'store-schema-newer');
      }
      for (const m of MIGRATIONS) {
        if (m.version <= current) continue;
        await c.query(m.sql);
        await c.query('INSERT INTO muster_schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      }
    });
  }

  /** Runs `fn` in a transaction: committed when it resolves, rolled back when it throws. */
  async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const r = await fn(client);
      await client.query('COMMIT');
      return r;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * A connection of its own, outside the pool, for one that is held (LISTEN); the caller connects
   * and ends it. A query on it that gets no answer within `queryTimeoutMs` fails.
   */
  client(queryTimeoutMs: number): pg.Client {
    return new pg.Client({ ...this.pool.options, keepAlive: true, query_timeout: queryTimeoutMs });
  }

  query<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(sql, params);
  }

  /** Ends the pool; a second call waits for the first. */
  close(): Promise<void> {
    this.closing ??= this.pool.end();
    return this.closing;
  }
}
