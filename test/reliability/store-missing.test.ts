/**
 * A missing store is never a silent new cluster (issue 26, point 1). Found: with DATA/store.json
 * removed (or holding `null`) beside a good store.json.bak, the controller started "ready" with 0
 * nodes and a new admin password, and its next start overwrote the .bak with the empty store.
 * Rule: the store is never replaced by less than it was without an admin saying so. A missing,
 * empty or non-object store beside its last good copy (or a journal) makes the real
 * `muster controller` refuse to start, naming both files and the command that restores the copy,
 * and leaves every file as it was; `--new-store` starts afresh only where no valid store is,
 * keeping the old files aside.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { musterBin, startControllerProc } from '../helpers/controller.js';
import { start } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('muster-missing-');
const dataDir = join(tmp.dir, 'data');
const store = join(dataDir, 'store.json');
const backup = join(dataDir, 'store.json.bak');
const journal = join(dataDir, 'journal.jsonl');
const passwordFile = join(dataDir, 'admin-password');
let goodBackup = '';
let adminPassword = '';

beforeAll(async () => {
  // A controller that ran once holds n001 and has journalled a transition of it; its next start keeps a backup.
  for (let i = 0; i < 2; i++) {
    const c = await startControllerProc([], { dataDir });
    if (i === 0) {
      await c.cli(['define', 'n001', 'mac=52:54:00:00:00:01']);
      await c.cli(['offline', 'n001', '--reason', 'disk swap']);
    }
    await c.proc.stop();
  }
  goodBackup = readFileSync(backup, 'utf8');
  adminPassword = readFileSync(passwordFile, 'utf8');
});
afterAll(() => tmp.remove());

/** Start `muster controller` and see whether it refuses (exits) or gets ready (then it is stopped). */
async function attempt(extra: string[] = []): Promise<{ ready: boolean; code: number | null; output: string }> {
  const p = start(process.execPath, [musterBin, 'controller', '--data', dataDir, '--host', '127.0.0.1', '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--admin-port', '0', ...extra]);
  const ready = await p.waitFor('muster controller ready', 20_000).then(
    () => true,
    () => false,
  );
  if (ready) await p.stop();
  const { code } = await p.exited;
  return { ready, code, output: p.output() };
}

/** The one refusal line, checked for what every refusal says. */
function refusal(r: { ready: boolean; code: number | null; output: string }): string {
  expect(r.ready, `the controller started:\n${r.output}`).toBe(false);
  expect(r.code).not.toBe(0);
  const line = r.output.split('\n').find((l) => l.includes('refusing to start'));
  expect(line, r.output).toBeDefined();
  expect(r.output).not.toMatch(/^\s+at /m);
  return line!;
}

describe('muster controller without its store', () => {
  it.each([
    ['removed', () => {}, /store\.json is missing, but .*store\.json\.bak, the last good copy, is there/],
    ['holding null', () => writeFileSync(store, 'null\n'), /holds null, not a store/],
    ['empty', () => writeFileSync(store, ''), /is empty/],
    ['holding a list', () => writeFileSync(store, '[]'), /holds a list, not a store/],
  ])('refuses to start with the store %s beside its last good copy, naming both and the way back', async (_what, make, reason) => {
    rmSync(store, { force: true });
    make();
    const before = existsSync(store) ? readFileSync(store, 'utf8') : null;
    const line = refusal(await attempt());
    expect(line).toMatch(reason);
    expect(line).toContain(store);
    expect(line).toContain(`cp -p ${backup} ${store}`);
    expect(line).toContain('--new-store');
    // Nothing was replaced: no new store, the last good copy and the admin's password as they were.
    expect(existsSync(store) ? readFileSync(store, 'utf8') : null).toBe(before);
    expect(readFileSync(backup, 'utf8')).toBe(goodBackup);
    expect(readFileSync(passwordFile, 'utf8')).toBe(adminPassword);
  });

  it('refuses to start without store and backup when the journal shows a cluster was here', async () => {
    rmSync(store, { force: true });
    renameSync(backup, `${backup}.away`);
    try {
      const line = refusal(await attempt());
      expect(line).toContain(`${journal} holds transitions`);
      expect(line).toContain(`There is no backup (${backup})`);
      expect(line).toContain('--new-store');
      expect(existsSync(store)).toBe(false);
    } finally {
      renameSync(`${backup}.away`, backup);
    }
  });

  it('starts with the cluster it had once the printed command has run', async () => {
    rmSync(store, { force: true });
    const command = /`([^`]+)`/.exec(refusal(await attempt()))![1]!;
    execFileSync('sh', ['-c', command]);
    const c = await startControllerProc([], { dataDir });
    try {
      const rows = JSON.parse((await c.cli(['nodes', '--json'])).stdout) as Array<{ node: string }>;
      expect(rows.map((r) => r.node)).toEqual(['n001']);
      expect(readFileSync(passwordFile, 'utf8')).toBe(adminPassword);
    } finally {
      await c.proc.stop();
    }
  });

  it('--new-store never discards a valid store, and starts afresh where there is none, keeping the old files aside', async () => {
    const valid = readFileSync(store, 'utf8');
    const line = refusal(await attempt(['--new-store']));
    expect(line).toMatch(/--new-store: .*store\.json is a valid store \(1 nodes, 1 users\)/);
    expect(readFileSync(store, 'utf8')).toBe(valid);

    rmSync(store);
    const lastGood = readFileSync(backup, 'utf8');
    const c = await startControllerProc(['--new-store'], { dataDir });
    try {
      expect(JSON.parse((await c.cli(['nodes', '--json'])).stdout)).toEqual([]);
    } finally {
      await c.proc.stop();
    }
    const aside = readdirSync(dataDir).filter((f) => f.startsWith('store.json.bak.replaced-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(dataDir, aside[0]!), 'utf8')).toBe(lastGood);
    // The flag left on the command line (a service file) does not wipe the new cluster at the next start.
    refusal(await attempt(['--new-store']));
  });
});
