/** The data directory's store (store.json through lowdb) and journal (journal.jsonl) pass the store conformance suite. */
import { join } from 'node:path';
import { Journal } from '../../controller/store/journal.js';
import { Store } from '../../controller/store/store.js';
import { tempDir } from '../helpers/tmp.js';
import { runStoreConformance } from './store-conformance.js';

runStoreConformance('data directory (store.json, journal.jsonl)', async () => {
  const tmp = tempDir('muster-store-');
  const opened: Array<() => Promise<void>> = [];
  return {
    async open(opts) {
      const store = await Store.open(tmp.dir, opts);
      const journal = await Journal.open(join(tmp.dir, 'journal.jsonl'));
      opened.push(() => store.close(), () => journal.close());
      return { store, journal };
    },
    async close() {
      for (const close of opened) await close();
      tmp.remove();
    },
  };
});
