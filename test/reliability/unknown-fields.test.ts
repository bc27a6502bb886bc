/**
 * Fields the store's schema does not know (issue 26, point 5b). Found: a store with a field this
 * muster does not know (written by a newer one, or by hand) loaded, and the next write dropped the
 * field: the parse leaves out what the schema does not name. Rule: the store is never replaced by
 * less than it was without an admin saying so: such a store refuses to start, naming the fields,
 * and the file stays as it was. A store muster wrote itself (defaults, interfaces) starts as before.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startInProc } from '../helpers/inproc.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('muster-unknown-');
afterAll(() => tmp.remove());

describe('a store with fields this muster does not know', () => {
  it('refuses to start naming them, and leaves the file as it was', async () => {
    const dataDir = join(tmp.dir, 'data');
    mkdirSync(dataDir);
    const first = await startInProc({ dataDir, storeDebounceMs: 0 });
    await first.client.request('define', { range: 'n001', settings: ['mac=52:54:00:00:00:01', 'if.eth0=10.1.0.17/16,gw=10.1.0.1,mtu=9000', 'if.eth0.100=10.2.0.17/16', 'attr.rack=r12'] });
    await first.stop();
    // What muster wrote itself starts again.
    const again = await startInProc({ dataDir });
    await again.stop();

    const store = join(dataDir, 'store.json');
    const data = JSON.parse(readFileSync(store, 'utf8'));
    data.nodes.n001.rackUnit = 7;
    data.nodes.n001.ids.chassis = 'c3';
    data.quotas = { rack1: 40 };
    const text = JSON.stringify(data);
    writeFileSync(store, text);

    await expect(startInProc({ dataDir })).rejects.toThrow(/store .*store\.json has fields this muster does not know: nodes\.n001\.ids\.chassis, nodes\.n001\.rackUnit, quotas\. .*Upgrade muster, or remove those fields/);
    expect(readFileSync(store, 'utf8')).toBe(text);
  });
});
