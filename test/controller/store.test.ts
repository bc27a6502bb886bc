import { mkdirSync, readFileSync, statSync, writeFileSync, appendFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Journal } from '../../controller/store/journal.js';
import { NodeRecord } from '../../controller/store/schema.js';
import { Store, StoreLoadError } from '../../controller/store/store.js';
import { tempDir } from '../helpers/tmp.js';

const dirs: Array<() => void> = [];
const fresh = () => {
  const t = tempDir();
  dirs.push(t.remove);
  return t.dir;
};
afterEach(() => dirs.splice(0).forEach((rm) => rm()));

const node = (name: string) => NodeRecord.parse({ name, ids: {}, createdAt: 1, updatedAt: 1 });

describe('Store', () => {
  it('coalesces a burst of 1,000 changes into a handful of atomic writes', async () => {
    const dir = fresh();
    const store = await Store.open(dir, { debounceMs: 20 });
    for (let i = 0; i < 1000; i++) store.change((d) => void (d.nodes[`n${i}`] = node(`n${i}`)));
    await store.flush();
    expect(store.writes).toBeLessThanOrEqual(2);
    const onDisk = JSON.parse(readFileSync(join(dir, 'store.json'), 'utf8'));
    expect(Object.keys(onDisk.nodes)).toHaveLength(1000);
    // No temp files are left behind, and the file is private (it holds BMC credentials).
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    expect(statSync(join(dir, 'store.json')).mode & 0o777).toBe(0o600);
  });

  it('flush() waits for changes made during a write in flight', async () => {
    const dir = fresh();
    const store = await Store.open(dir, { debounceMs: 0 });
    store.change((d) => void (d.nodes.a = node('a')));
    const first = store.flush();
    store.change((d) => void (d.nodes.b = node('b')));
    await Promise.all([first, store.flush()]);
    const reopened = await Store.open(dir);
    expect(Object.keys(reopened.data.nodes).sort()).toEqual(['a', 'b']);
  });

  it('refuses a corrupt store and names the last good backup', async () => {
    const dir = fresh();
    const store = await Store.open(dir, { debounceMs: 0 });
    store.change((d) => void (d.nodes.a = node('a')));
    await store.flush();
    await Store.open(dir); // a good load keeps store.json.bak
    writeFileSync(join(dir, 'store.json'), '{"version":1,"nodes":{"a":');
    const err = await Store.open(dir).catch((e: Error) => e);
    expect(err).toBeInstanceOf(StoreLoadError);
    expect((err as Error).message).toMatch(/not valid JSON/);
    expect((err as Error).message).toContain(join(dir, 'store.json.bak'));
    expect(JSON.parse(readFileSync(join(dir, 'store.json.bak'), 'utf8')).nodes.a.name).toBe('a');
  });

  it('keeps a last good copy from the first write of a new data directory on', async () => {
    const dir = fresh();
    const store = await Store.open(dir, { debounceMs: 0 });
    store.change((d) => void (d.nodes.a = node('a')));
    await store.flush();
    expect(JSON.parse(readFileSync(join(dir, 'store.json.bak'), 'utf8')).nodes.a.name).toBe('a');
  });

  it('refuses a store written by a newer version', async () => {
    const dir = fresh();
    writeFileSync(join(dir, 'store.json'), JSON.stringify({ version: 99, nodes: {} }));
    await expect(Store.open(dir)).rejects.toThrow(/version 99, written by a newer muster/);
  });

  it('refuses a store whose records do not fit the schema, naming the field', async () => {
    const dir = fresh();
    writeFileSync(join(dir, 'store.json'), JSON.stringify({ version: 1, nodes: { x: { name: '1bad', createdAt: 1, updatedAt: 1, ids: {} } } }));
    await expect(Store.open(dir)).rejects.toThrow(/nodes\.x\.name/);
  });

  it('reports a failed write and keeps the data to write again', async () => {
    const dir = fresh();
    const reported: Error[] = [];
    const store = await Store.open(join(dir, 'data'), { debounceMs: 0, onWriteError: (e) => void reported.push(e) });
    // Replace the data directory by a file: the temp file cannot be created.
    const { rmSync } = await import('node:fs');
    rmSync(join(dir, 'data'), { recursive: true });
    writeFileSync(join(dir, 'data'), 'not a directory');
    store.change((d) => void (d.nodes.a = node('a')));
    await expect(store.flush()).rejects.toThrow(/write failed/);
    expect(store.error?.message).toMatch(/write failed/);
    expect(reported).toHaveLength(1);
    rmSync(join(dir, 'data'));
    mkdirSync(join(dir, 'data'));
    await store.flush();
    expect(store.error).toBeNull();
    expect(JSON.parse(readFileSync(join(dir, 'data', 'store.json'), 'utf8')).nodes.a.name).toBe('a');
  });
});

describe('Journal', () => {
  it('appends, filters by node, axis and time, and skips a torn line', async () => {
    const dir = fresh();
    const path = join(dir, 'journal.jsonl');
    const j = await Journal.open(path);
    j.append({ node: 'n1', axis: 'phase', from: 'kernel', to: 'init', cause: 'agent state', at: 100 });
    j.append({ node: 'n2', axis: 'phase', from: 'kernel', to: 'init', cause: 'agent state', at: 150 });
    j.append({ node: 'n1', axis: 'liveness', from: 'alive', to: 'dead', cause: 'will', at: 200 });
    await j.close();
    appendFileSync(path, '{"node":"n1","axis":"pha'); // a crash mid-line
    const j2 = await Journal.open(path);
    j2.append({ node: 'n1', axis: 'phase', from: 'init', to: 'run', cause: 'agent state', at: 300 });
    const all = await j2.history({ node: 'n1' });
    expect(all.transitions.map((t) => t.to)).toEqual(['init', 'dead', 'run']);
    expect(all.skipped).toBe(1);
    expect((await j2.history({ node: 'n1', axis: 'phase' })).transitions.map((t) => t.to)).toEqual(['init', 'run']);
    expect((await j2.history({ node: 'n1', since: 150 })).transitions.map((t) => t.at)).toEqual([200, 300]);
    expect((await j2.history({ node: 'n1', limit: 1 })).transitions.map((t) => t.at)).toEqual([300]);
    await j2.close();
  });
});
