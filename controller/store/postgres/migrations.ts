/**
 * The PostgreSQL schema, as numbered steps. A step, once released, never changes: a new schema is a
 * new step. `muster_schema_migrations` records the steps applied; `PgDatabase.connect` applies the
 * missing ones in order and refuses a database with a step this muster does not know.
 */

export interface Migration {
  version: number;
  /** What it does, for the migrations table. */
  name: string;
  sql: string;
}

/** Every store table has the same shape: a text key and the record as JSON (tables.ts maps them to `StoreData`). */
const STORE_TABLES = ['nodes', 'agents', 'users', 'agent_tokens', 'switches', 'switch_ports', 'hwlog_issues', 'bios_desired_groups', 'bios_desired_nodes', 'bios_reported', 'settings'];

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'store tables and the journal',
    sql: [
      ...STORE_TABLES.map((name) => `CREATE TABLE ${name} (key text COLLATE "C" PRIMARY KEY, record jsonb NOT NULL);`),
      // seq is the order of appends: the journal is read back in it.
      'CREATE TABLE journal (seq bigserial PRIMARY KEY, node text NOT NULL, axis text NOT NULL, at double precision NOT NULL, record jsonb NOT NULL);',
      'CREATE INDEX journal_node ON journal (node, seq);',
    ].join('\n'),
  },
  {
    version: 2,
    name: 'federation: controller leases, partition owners, power-action claims',
    sql: [
      // expires_at is set and judged by the database's clock (now()): one clock for every controller.
      'CREATE TABLE controller_leases (controller text COLLATE "C" PRIMARY KEY, expires_at timestamptz NOT NULL);',
      // One row per partition, made by the first controller that starts with federation; epoch rises with every claim.
      'CREATE TABLE partitions (partition integer PRIMARY KEY CHECK (partition >= 0), owner text COLLATE "C", epoch integer NOT NULL DEFAULT 0);',
      // A row per power action let through: inserted only while the partition row and the lease say so (controller/federation/tables.ts).
      'CREATE TABLE power_claims (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), node text NOT NULL, partition integer NOT NULL, epoch integer NOT NULL, controller text NOT NULL, action text NOT NULL);',
    ].join('\n'),
  },
  {
    version: 3,
    // jsonb cannot hold U+0000 in a string, which a reason or a DMI string may carry; json keeps the text as written.
    name: 'records as json, which keeps every character',
    sql: [...STORE_TABLES, 'journal'].map((name) => `ALTER TABLE ${name} ALTER COLUMN record TYPE json USING record::json;`).join('\n'),
  },
];

/** The newest schema this muster knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
