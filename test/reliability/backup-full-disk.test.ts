/**
 * The last good copy on a full disk (issue 26, point 1). Found: the backup the controller takes at
 * start copied store.json over store.json.bak in place: on a full disk it emptied the .bak, failed,
 * and the failure stopped start-up. Rule: the backup never blocks start-up nor destroys the last
 * good copy: it is written to a temp file renamed over the old one, and a failure is reported.
 * The data directory is on a 1 MB tmpfs the test mounts (needs root).
 */
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProc } from '../helpers/inproc.js';
import { logSink } from '../helpers/log-sink.js';
import { smallDisk, type SmallDisk } from '../helpers/small-disk.js';

let disk: SmallDisk;

beforeAll(() => {
  disk = smallDisk('the full-disk backup test');
});
afterAll(() => {
  disk?.remove();
});

describe('the backup at start on a full disk', () => {
  it('does not stop the controller from starting and leaves the previous backup whole', async () => {
    const dataDir = join(disk.dir, 'data');
    mkdirSync(dataDir);
    // A first run: its first write made the backup; 300 nodes defined after it make the store bigger.
    const first = await startInProc({ dataDir, storeDebounceMs: 0 });
    await first.client.request('define', { range: 'n[001-300]', settings: ['groups=rack1', 'attr.rack=r12', 'attr.unit=u07'] });
    await first.stop();
    const backup = join(dataDir, 'store.json.bak');
    const lastGood = readFileSync(backup, 'utf8');
    expect(readFileSync(join(dataDir, 'store.json')).length).toBeGreaterThan(lastGood.length + 50_000);

    // Fill what is left of the filesystem: the new backup cannot be written.
    disk.fill();
    const { log, lines } = logSink('error');
    const c = await startInProc({ dataDir, storeDebounceMs: 0 }, { log });
    try {
      expect(readFileSync(backup, 'utf8')).toBe(lastGood);
      expect(readdirSync(dataDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      const reported = lines.find((l) => l.msg === 'store backup failed');
      expect(reported?.err).toMatch(/store backup .*store\.json\.bak: write failed: .*ENOSPC.*; the previous copy is kept/);
      const nodes = await c.client.request('nodes', {});
      expect(nodes).toHaveLength(300);
    } finally {
      await c.stop();
    }
  });
});
