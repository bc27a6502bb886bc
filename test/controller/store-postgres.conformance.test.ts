/** The PostgreSQL store and journal pass the store conformance suite, each harness in a database of its own. */
import { afterAll, beforeAll } from 'vitest';
import { PgDatabase } from '../../controller/store/postgres/database.js';
import { PgJournal } from '../../controller/store/postgres/journal.js';
import { Store } from '../../controller/store/store.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';
import { runStoreConformance } from './store-conformance.js';

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(() => pg?.stop());

runStoreConformance('PostgreSQL', async () => {
  const url = await pg.createDatabase();
  // The data directory still holds what is not the store (the first admin's password file…).
  const tmp = tempDir('muster-store-');
  const opened: Array<() => Promise<void>> = [];
  return {
    async open(opts) {
      const db = await PgDatabase.connect(url);
      const store = await Store.open(tmp.dir, { ...opts, database: db });
      const journal = new PgJournal(db);
      opened.push(() => store.close(), () => journal.close(), () => db.close());
      return { store, journal };
    },
    async close() {
      for (const close of opened) await close();
      tmp.remove();
    },
  };
});
