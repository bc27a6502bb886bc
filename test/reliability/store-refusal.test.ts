/**
 * A store file that is corrupt or from a newer muster makes the real `muster controller` refuse to
 * start: non-zero exit, one clear line naming the store and the last good backup, no stack trace.
 * (Issue 9, item 6; the in-process side is in test/controller/store.test.ts.)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { musterBin, startControllerProc } from '../helpers/controller.js';
import { start } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('muster-refusal-');
const dataDir = join(tmp.dir, 'data');
let goodStore = '';
let goodBackup = '';

beforeAll(async () => {
  // A controller that ran once leaves a valid store; its next start keeps a backup of it.
  for (let i = 0; i < 2; i++) {
    const c = await startControllerProc([], { dataDir });
    if (i === 0) await c.cli(['define', 'n001', 'mac=52:54:00:00:00:01']);
    await c.proc.stop();
  }
  goodStore = readFileSync(join(dataDir, 'store.json'), 'utf8');
  goodBackup = readFileSync(join(dataDir, 'store.json.bak'), 'utf8');
});
afterAll(() => tmp.remove());

async function startWith(storeText: string): Promise<{ code: number | null; output: string }> {
  writeFileSync(join(dataDir, 'store.json'), storeText);
  const p = start(process.execPath, [musterBin, 'controller', '--data', dataDir, '--host', '127.0.0.1', '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--admin-port', '0']);
  const { code } = await p.exited;
  return { code, output: p.output() };
}

const backup = () => join(dataDir, 'store.json.bak');

describe('muster controller with a bad store', () => {
  it.each([
    ['torn (half a file)', () => goodStore.slice(0, Math.floor(goodStore.length / 2)), /is not valid JSON/],
    ['not matching the schema', () => JSON.stringify({ version: 1, nodes: { n001: { name: 42 } } }), /is invalid: nodes\.n001/],
    ['from a newer version', () => JSON.stringify({ ...JSON.parse(goodStore), version: 99 }), /is version 99, written by a newer muster/],
  ])('refuses a store that is %s, naming the last good backup', async (_what, content, reason) => {
    const r = await startWith(content());
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    const lines = r.output.trim().split('\n');
    const line = lines.find((l) => l.includes('refusing to start'));
    expect(line, r.output).toBeDefined();
    expect(line).toMatch(reason);
    expect(line).toContain(join(dataDir, 'store.json'));
    expect(line).toContain(backup());
    expect(r.output).not.toMatch(/^\s+at /m);
    // The backup is still the last good copy: the refusal did not overwrite it.
    expect(readFileSync(backup(), 'utf8')).toBe(goodBackup);
  });

  it('starts again once the backup is copied back', async () => {
    writeFileSync(join(dataDir, 'store.json'), readFileSync(backup()));
    const c = await startControllerProc([], { dataDir });
    try {
      const rows = JSON.parse((await c.cli(['nodes', '--json'])).stdout) as Array<{ node: string }>;
      expect(rows.map((r) => r.node)).toEqual(['n001']);
    } finally {
      await c.proc.stop();
    }
  });
});
