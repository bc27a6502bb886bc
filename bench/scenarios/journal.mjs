// Figure 5 (journal): appends per second through the real Journal (controller/store/journal.ts),
// until they are all in the file.
import { join } from 'node:path';
import { loadProtocol } from '../lib/protocol.mjs';
import { tempDir } from '../lib/targets.mjs';

export async function journalAppends({ count }) {
  const { Journal } = await loadProtocol();
  const tmp = tempDir('muster-bench-journal-');
  try {
    const j = await Journal.open(join(tmp.dir, 'journal.jsonl'));
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      j.append({ node: `n${String(i % 10_000).padStart(5, '0')}`, axis: 'liveness', from: 'alive', to: 'dead', cause: 'heartbeat lost (4 missed)', at: Date.now() });
    }
    await j.sync();
    const ms = performance.now() - t0;
    await j.close();
    return { command: `Journal.append × ${count} + sync (bench/scenarios/journal.mjs)`, appends: count, ms, perSec: Math.round((count / ms) * 1000) };
  } finally {
    tmp.remove();
  }
}
