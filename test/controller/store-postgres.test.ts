/**
 * What only the PostgreSQL store does: its schema steps, its refusals (a database out of reach, a
 * newer schema, a row that does not fit), one transaction per write holding only the rows that
 * changed, `muster store migrate`, and a controller running on it.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ControllerConfig } from '../../controller/config.js';
import { Journal } from '../../controller/store/journal.js';
import { migrateStore } from '../../controller/store/migrate.js';
import { PgDatabase } from '../../controller/store/postgres/database.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../controller/store/postgres/migrations.js';
import { PgJournal } from '../../controller/store/postgres/journal.js';
import { TABLES, assemble, rowsOf } from '../../controller/store/postgres/tables.js';
import { maskedUrl } from '../../controller/store/postgres/url.js';
import { emptyStore, NodeDefinition } from '../../controller/store/schema.js';
import { Store, StoreLoadError } from '../../controller/store/store.js';
import { musterBin, requireBuild } from '../helpers/controller.js';
import { startInProc } from '../helpers/inproc.js';
import { freePort } from '../helpers/ports.js';
import { postgresPerFile } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';
import { fill } from './store-conformance.js';

const { createDatabase, cleanup } = postgresPerFile();
const fresh = () => {
  const t = tempDir('muster-store-');
  cleanup.push(t.remove);
  return t.dir;
};
const connect = async (url: string) => {
  const db = await PgDatabase.connect(url);
  cleanup.push(() => db.close());
  return db;
};
/** A plain client, to look at (or spoil) the database behind the store's back. */
const sql = async (url: string, text: string, params: unknown[] = []) => {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as Array<Record<string, unknown>>;
  } finally {
    await c.end();
  }
};
const node = (name: string) => NodeDefinition.parse({ name, ids: {}, createdAt: 1, updatedAt: 1 });

describe('the PostgreSQL store layout', () => {
  it('holds every field of the store in a table, and gives back the data it was given', () => {
    const data = emptyStore();
    fill(data);
    const rows = new Map(TABLES.map((t) => [t.table, [...rowsOf(t, data)]]));
    expect(assemble(rows)).toEqual(JSON.parse(JSON.stringify(data)));
    // A field of StoreData no table holds would be lost silently.
    const held = new Set(TABLES.flatMap((t) => ('values' in t ? t.values.map((p) => p[0]) : 'map' in t ? [t.map[0]] : [t.list[0]])));
    expect(Object.keys(emptyStore()).filter((k) => !held.has(k))).toEqual([]);
  });
});

describe('PostgreSQL store', () => {
  it('applies its schema steps once: connecting again changes nothing', async () => {
    const url = await createDatabase();
    await (await connect(url)).close();
    const db = await connect(url);
    expect(await db.schemaVersion()).toBe(SCHEMA_VERSION);
    expect(await sql(url, 'SELECT version, name FROM muster_schema_migrations ORDER BY version')).toEqual(MIGRATIONS.map(({ version, name }) => ({ version, name })));
  });

  it('refuses a database whose schema a newer muster wrote', async () => {
    const url = await createDatabase();
    await (await connect(url)).close();
    await sql(url, "INSERT INTO muster_schema_migrations (version, name) VALUES (99, 'future')");
    await expect(PgDatabase.connect(url)).rejects.toThrow(`schema is version 99, written by a newer muster; this one knows version ${SCHEMA_VERSION} at most`);
  });

  it('names the URL, password masked, when the database cannot be reached', async () => {
    const port = await freePort();
    const url = `postgres://muster:s3cret@127.0.0.1:${port}/muster`;
    const err = (await PgDatabase.connect(url, { connectTimeoutMs: 2000 }).catch((e: Error) => e)) as Error;
    expect(err.message).toContain(`store postgres://muster:***@127.0.0.1:${port}/muster: cannot connect to the database: `);
    expect(err.message).toMatch(/ECONNREFUSED/);
    expect(err.message).not.toContain('s3cret');
    expect(maskedUrl('postgres://u@h/db')).toBe('postgres://u@h/db');
  });

  it('refuses a row that does not fit, naming its table and key', async () => {
    const url = await createDatabase();
    const store = await Store.open(fresh(), { database: await connect(url), debounceMs: 0 });
    store.change((d) => void (d.nodes.n001 = node('n001')), { nodes: ['n001'] });
    await store.flush();
    await sql(url, `UPDATE nodes SET record = jsonb_set(record::jsonb, '{name}', '"1bad"')::json WHERE key = 'n001'`);
    const bad = await Store.open(fresh(), { database: await connect(url) }).catch((e: Error) => e);
    expect(bad).toBeInstanceOf(StoreLoadError);
    expect((bad as Error).message).toMatch(/^store postgres:\/\/muster@127\.0\.0\.1:\d+\/\w+: table nodes, key n001, field name: /);
    // A field this muster does not know would be dropped at the next write: refused too.
    await sql(url, `UPDATE nodes SET record = (jsonb_set(record::jsonb, '{name}', '"n001"') || '{"rack": "r1"}')::json WHERE key = 'n001'`);
    await sql(url, `INSERT INTO users (key, record) VALUES ('ada', '{"name":"ada"}')`);
    await expect(Store.open(fresh(), { database: await connect(url) })).rejects.toThrow(/table users, key ada, field role: /);
    await sql(url, `DELETE FROM users`);
    await expect(Store.open(fresh(), { database: await connect(url) })).rejects.toThrow(/table nodes, key n001: has fields this muster does not know: nodes\.n001\.rack/);
  });

  it('writes a change in one transaction: a failed write leaves no part of it, and is written whole once it can be', async () => {
    const url = await createDatabase();
    const errors: Error[] = [];
    const store = await Store.open(fresh(), { database: await connect(url), debounceMs: 0, onWriteError: (e) => void errors.push(e) });
    store.change(fill);
    await store.flush();
    await sql(url, 'ALTER TABLE users RENAME TO users_away');
    // nodes is written before users: its rows must not be committed without them.
    store.change((d) => {
      d.nodes.n999 = node('n999');
      d.users.eve = { name: 'eve', role: 'viewer', passwordHash: 'x', createdAt: 1, updatedAt: 1, createdBy: 'ada' };
    });
    await expect(store.flush()).rejects.toThrow(/^store postgres:\/\/\S+: write failed: table users: relation "users" does not exist/);
    expect(errors).toHaveLength(1);
    expect(await sql(url, `SELECT key FROM nodes WHERE key = 'n999'`)).toEqual([]);
    await sql(url, 'ALTER TABLE users_away RENAME TO users');
    await store.flush();
    expect(store.error).toBeNull();
    expect(await sql(url, `SELECT key FROM nodes WHERE key = 'n999'`)).toEqual([{ key: 'n999' }]);
    expect(await sql(url, `SELECT key FROM users ORDER BY key`)).toEqual([{ key: 'ada' }, { key: 'bob' }, { key: 'eve' }]);
  });

  it('writes only the rows that changed', async () => {
    const url = await createDatabase();
    const store = await Store.open(fresh(), { database: await connect(url), debounceMs: 0 });
    store.change((d) => {
      for (let i = 0; i < 200; i++) d.nodes[`n${i}`] = node(`n${i}`);
    });
    await store.flush();
    // A trigger counts the rows each later write touches.
    await sql(url, `CREATE TABLE touched (tbl text, key text);
      CREATE FUNCTION count_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO touched VALUES (TG_TABLE_NAME, COALESCE(NEW.key, OLD.key)); RETURN NULL; END $$;
      ${TABLES.map((t) => `CREATE TRIGGER touch AFTER INSERT OR UPDATE OR DELETE ON ${t.table} FOR EACH ROW EXECUTE FUNCTION count_touch();`).join('\n')}`);
    store.change((d) => void (d.nodes.n7!.tags = ['x']), { nodes: ['n7'] });
    store.change((d) => void delete d.nodes.n8, { nodes: ['n8'] });
    await store.flush();
    expect(await sql(url, 'SELECT tbl, key FROM touched ORDER BY key')).toEqual([
      { tbl: 'nodes', key: 'n7' },
      { tbl: 'nodes', key: 'n8' },
    ]);
    // Undeclared: every record is compared, and still only what differs is written.
    await sql(url, 'DELETE FROM touched');
    store.change((d) => void (d.nodes.n9!.tags = ['y']));
    await store.flush();
    expect(await sql(url, 'SELECT tbl, key FROM touched')).toEqual([{ tbl: 'nodes', key: 'n9' }]);
  });

  it('the journal keeps what it could not write and sends it, in order, once it can', async () => {
    const url = await createDatabase();
    const errors: Error[] = [];
    const journal = new PgJournal(await connect(url), { onError: (e) => void errors.push(e) });
    const t = (i: number) => ({ node: 'n001', axis: 'phase' as const, from: null, to: 'run', cause: `line ${i}`, at: 1000 + i });
    journal.append(t(0));
    await journal.sync();
    await sql(url, 'ALTER TABLE journal RENAME TO journal_away');
    for (let i = 1; i <= 3; i++) journal.append(t(i));
    await journal.sync();
    expect(journal.error?.message).toMatch(/^journal postgres:\/\/\S+: append failed: relation "journal" does not exist; 3 transitions queued$/);
    expect(errors).toHaveLength(1);
    journal.append(t(4));
    await sql(url, 'ALTER TABLE journal_away RENAME TO journal');
    const { transitions } = await journal.history({});
    expect(transitions.map((x) => x.cause)).toEqual(['line 0', 'line 1', 'line 2', 'line 3', 'line 4']);
    expect(journal.error).toBeNull();
    await journal.close();
  });

  it('--new-store is refused: it is about the data directory\'s files', async () => {
    const url = await createDatabase();
    await expect(Store.open(fresh(), { database: await connect(url), newStore: true })).rejects.toThrow(/--new-store starts afresh over the data directory's store\.json; the store is postgres:/);
  });
});

describe('muster store migrate', () => {
  /** A data directory as a controller leaves it: store.json, a rotated journal. */
  const dataDir = async () => {
    const dir = fresh();
    const store = await Store.open(dir, { debounceMs: 0 });
    store.change(fill);
    await store.close();
    const journal = await Journal.open(join(dir, 'journal.jsonl'), { maxBytes: 4096, keepSegments: 4 });
    for (let i = 0; i < 40; i++) journal.append({ node: `n00${i % 3}`, axis: 'phase', from: null, to: 'run', cause: `line ${i}`, at: 1000 + i });
    await journal.close();
    return { dir, data: store.data };
  };

  it('copies the store and every kept journal segment, checks the counts, and refuses a database holding data', async () => {
    const { dir, data } = await dataDir();
    const url = await createDatabase();
    const db = await connect(url);
    const copied = await migrateStore(db, { dataDir: dir });
    expect(copied).toMatchObject({ nodes: 3, agents: 2, users: 2, agent_tokens: 3, hwlog_issues: 2, switches: 2, switch_ports: 2, bios_reported: 1, journal: 40 });
    const store = await Store.open(fresh(), { database: db });
    expect(store.data).toEqual(data);
    const { transitions } = await new PgJournal(db).history({});
    expect(transitions.map((t) => t.cause)).toEqual(Array.from({ length: 40 }, (_, i) => `line ${i}`));

    await expect(migrateStore(db, { dataDir: dir })).rejects.toThrow(/already holds data \(nodes: 3, agents: 2, .*journal: 40\); migrate copies into an empty database\. To delete what it holds and copy anyway: --replace/);
    expect(await migrateStore(db, { dataDir: dir, replace: true })).toEqual(copied);
  });

  it('from the command line: refuses a directory without a store, and a URL that is not PostgreSQL', async () => {
    requireBuild();
    const run = promisify(execFile);
    const muster = (args: string[]) =>
      run(process.execPath, [musterBin, 'store', 'migrate', ...args]).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const empty = fresh();
    const none = await muster(['--data', empty, '--to', await createDatabase()]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`muster: store migrate: ${join(empty, 'store.json')} does not exist: no store to copy`);
    const mysql = await muster(['--data', empty, '--to', 'mysql://u:pw@h/db']);
    expect(mysql.stderr).toBe('muster: --to mysql://u:***@h/db: must be a postgres://… or postgresql://… URL\n');
    const { dir } = await dataDir();
    const url = await createDatabase();
    const done = await muster(['--data', dir, '--to', url]);
    expect(done.stdout).toMatch(/^copied .* to postgres:\/\/muster@127\.0\.0\.1:\d+\/\w+, counts checked:\n {2}nodes {16}3\n/);
    expect(done.stdout).toContain('  journal              40\n');
  });
});

describe('a controller on PostgreSQL', () => {
  it('keeps its nodes, users and journal in the database: another data directory sees them', async () => {
    const url = await createDatabase();
    const first = await startInProc({ store: url });
    cleanup.push(() => first.stop());
    await first.client.request('define', { range: 'n[001-003]', settings: ['groups=rack1'] });
    await first.client.request('offline', { range: 'n002', reason: 'disk swap' });
    await first.stop();
    cleanup.pop();
    const second = await startInProc({ store: url });
    cleanup.push(() => second.stop());
    const rows = await second.client.request('nodes', {});
    expect(rows.map((r) => [r.node, r.admin])).toEqual([
      ['n001', 'online'],
      ['n002', 'offline'],
      ['n003', 'online'],
    ]);
    const { transitions } = await second.client.request('history', { node: 'n002', axis: 'action' });
    expect(transitions.map((t) => t.to)).toContain('offline done');
    // The first admin was made once, in the database.
    expect(Object.keys(second.running.ctx.store.data.users)).toEqual(['admin']);
  });

  it('the config takes only a PostgreSQL URL for `store`', () => {
    expect(ControllerConfig.parse({}).store).toBeNull();
    const r = ControllerConfig.safeParse({ store: '/var/lib/muster' });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(/must be a postgres:\/\/… or postgresql:\/\/… URL/);
  });
});

