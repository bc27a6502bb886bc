import type { Command } from 'commander';
import { isPostgresUrl, maskedUrl } from '../../controller/store/postgres/url.js';

/**
 * `muster store migrate`: offline, on the data directory's files, not a verb: the controller must
 * be stopped, or what it writes after the copy is lost when it restarts on the database
 * (controller/store/migrate.ts).
 */
export function registerStoreCommands(program: Command): void {
  const store = program.command('store').description("the controller's store: move it from the data directory to PostgreSQL (docs/federation.md)");
  store
    .command('migrate')
    .description("copy a data directory's store and journal into an empty PostgreSQL database and check the counts; stop the controller first")
    .requiredOption('--to <url>', 'the database: postgres://user:password@host:port/db')
    .option('--data <dir>', 'the data directory (default: the config file\'s dataDir, or ./data)')
    .option('--config <file>', 'controller config file (YAML or JSON): its dataDir and journal.keepSegments')
    .option('--replace', 'delete what the database holds first (without it, a database holding data is refused)')
    .addHelpText('after', '\nExample:\n  muster store migrate --data /var/lib/muster --to postgres://muster@db1/muster\n')
    .action(async (o: { to: string; data?: string; config?: string; replace?: boolean }) => {
      if (!isPostgresUrl(o.to)) throw new Error(`--to ${maskedUrl(o.to)}: must be a postgres://… or postgresql://… URL`);
      // The controller's config and the `pg` client (~0.3 s) load only for this command.
      const { loadConfig } = await import('../../controller/config.js');
      const config = await loadConfig(o.config ?? null, { dataDir: o.data });
      const { PgDatabase } = await import('../../controller/store/postgres/database.js');
      const { migrateStore } = await import('../../controller/store/migrate.js');
      const db = await PgDatabase.connect(o.to);
      try {
        const copied = await migrateStore(db, { dataDir: config.dataDir, keepSegments: config.journal.keepSegments, replace: o.replace === true });
        const lines = Object.entries(copied).map(([table, n]) => `  ${table.padEnd(20)} ${n}`);
        process.stdout.write(`copied ${config.dataDir} to ${db.where}, counts checked:\n${lines.join('\n')}\nNext: set \`store: ${db.where}\` (with its password) in the controller config and start the controller.\n`);
      } finally {
        await db.close();
      }
    });
}
