import { mkdirSync, readFileSync, statSync, writeFileSync, appendFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { simFingerprint as fingerprint } from '../../controller/demo/sim-cluster.js';
import { JsonFile } from '../../controller/store/json-file.js';
import { Journal } from '../../controller/store/journal.js';
import { NodeDefinition } from '../../controller/store/schema.js';
import { Store, StoreLoadError, type StoreOptions } from '../../controller/store/store.js';
import { tempDir } from '../helpers/tmp.js';

const dirs: Array<() => void> = [];
const fresh = () => {
  const t = tempDir();
  dirs.push(t.remove);
  return t.dir;
};
afterEach(() => dirs.splice(0).forEach((rm) => rm()));

const node = (name: string) => NodeDefinition.parse({ name, ids: {}, createdAt: 1, updatedAt: 1 });

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

describe('Store: sliced writes', () => {
  /** A store with `n` nodes and `n` agents, some of them bound, with text that needs escaping. */
  const filled = async (dir: string, n: number, opts: StoreOptions) => {
    const store = await Store.open(dir, { debounceMs: 60_000, ...opts });
    store.change((d) => {
      for (let i = 0; i < n; i++) {
        const name = `n${String(i).padStart(3, '0')}`;
        d.nodes[name] = { ...node(name), attrs: { rack: `r${i % 7}`, note: 'quote " backslash \\ é \u2028' }, runtime: { phase: 'run', since: i } };
        const agentId = `agent-${i}`;
        d.agents[agentId] = { agentId, firstSeen: i, lastSeen: i, bootId: `b${i}`, fingerprint: fingerprint(i), node: i % 2 ? name : null, credential: null };
      }
      d.hwlog.issues.push({ id: 1, node: 'n000', text: 'fan', source: 'admin', evidence: {}, openedAt: 1, openedBy: 'me', closedAt: null, closedBy: null, note: null });
      d.hwlog.nextId = 2;
    });
    await store.flush();
    return store;
  };
  const onDisk = (dir: string) => readFileSync(join(dir, 'store.json'), 'utf8');

  it('writes exactly what JSON.stringify writes, in slices of a few records', async () => {
    const dir = fresh();
    const store = await filled(dir, 120, { sliceRecords: 3 });
    expect(onDisk(dir)).toBe(JSON.stringify(store.data));
    // An empty map is `{}` there too.
    store.change((d) => void (d.agents = {}));
    await store.flush();
    expect(onDisk(dir)).toBe(JSON.stringify(store.data));
    expect(JSON.parse(onDisk(dir)).agents).toEqual({});
    const reopened = await Store.open(dir);
    expect(reopened.data).toEqual(store.data);
  });

  it('lets the event loop run between slices', async () => {
    const dir = fresh();
    const store = await filled(dir, 50, { sliceRecords: 1 });
    // Count the records serialized (JSON.stringify calls toJSON; not enumerable, it is not written).
    let serialized = 0;
    for (const rec of [...Object.values(store.data.nodes), ...Object.values(store.data.agents)]) {
      Object.defineProperty(rec, 'toJSON', { value: function (this: object) { serialized++; return this; } });
    }
    store.change((d) => void (d.nodes.n000!.tags = ['x']));
    const seen: number[] = [];
    let done = false;
    const look = () => {
      seen.push(serialized);
      if (!done) setImmediate(look);
    };
    const written = store.flush().then(() => (done = true));
    setImmediate(look); // scheduled as the write begins
    await written;
    expect(serialized).toBe(100);
    // The loop ran while the write was part-way through its records, at every slice.
    const between = new Set(seen.filter((n) => n > 0 && n < 100));
    expect(between.size).toBeGreaterThanOrEqual(90);
    expect(onDisk(dir)).toBe(JSON.stringify(store.data));
  });

  it('writes the data as it was when the write began, whatever changes meanwhile', async () => {
    const dir = fresh();
    const files: string[] = [];
    const store = await filled(dir, 100, { sliceRecords: 2, onWrite: () => void files.push(onDisk(dir)) });
    files.length = 0;
    store.change((d) => void (d.nodes.n000!.tags = ['start']), { nodes: ['n000'] });
    const atStart = JSON.stringify(store.data);
    let firstDone = false;
    const first = store.flush().then(() => (firstDone = true));
    for (let i = 0; i < 5; i++) await new Promise(setImmediate);
    expect(firstDone).toBe(false);
    // Declared: a node the slices have not reached, an agent deleted, a node created.
    store.change((d) => void (d.nodes.n090!.tags = ['later']), { nodes: ['n090'] });
    store.change((d) => void delete d.agents['agent-95'], { agents: ['agent-95'] });
    store.change((d) => void (d.nodes.new = node('new')), { nodes: ['new'] });
    // Fields outside nodes and agents were serialized when the write began.
    store.change((d) => void (d.naming = { enabled: true, pattern: 'x[1-9]' }), {});
    for (let i = 0; i < 5; i++) await new Promise(setImmediate);
    expect(firstDone).toBe(false);
    // Undeclared: the rest of the write is serialized first, then the change is made.
    store.change((d) => void (d.agents['agent-99']!.lastSeen = 1e9));
    const second = store.flush();
    await first;
    expect(files[0]).toBe(atStart);
    await second;
    expect(files).toHaveLength(2);
    expect(files[1]).toBe(JSON.stringify(store.data));
    const now = JSON.parse(files[1]!);
    expect(now.nodes.n090.tags).toEqual(['later']);
    expect(now.nodes.new.name).toBe('new');
    expect(now.agents['agent-95']).toBeUndefined();
    expect(now.agents['agent-99'].lastSeen).toBe(1e9);
  });

  it('rejects flush and keeps the data dirty when a sliced write fails', async () => {
    const dir = fresh();
    const reported: Error[] = [];
    const store = await filled(dir, 30, { sliceRecords: 2, onWriteError: (e) => void reported.push(e) });
    const good = onDisk(dir);
    // The rename at the end of the write fails: store.json is a directory now.
    const { rmSync } = await import('node:fs');
    rmSync(join(dir, 'store.json'));
    mkdirSync(join(dir, 'store.json'));
    store.change((d) => void (d.nodes.n001!.tags = ['failed']), { nodes: ['n001'] });
    await expect(store.flush()).rejects.toThrow(/write failed/);
    expect(reported).toHaveLength(1);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    rmSync(join(dir, 'store.json'), { recursive: true });
    writeFileSync(join(dir, 'store.json'), good);
    // Still dirty: the next flush writes the change.
    await store.flush();
    expect(store.error).toBeNull();
    expect(JSON.parse(onDisk(dir)).nodes.n001.tags).toEqual(['failed']);
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

  it('rotates by size, keeps N segments, and history reads them oldest first, also after a reopen', async () => {
    const dir = fresh();
    const path = join(dir, 'journal.jsonl');
    const transition = (at: number) => ({ node: 'n1', axis: 'admin' as const, from: 'online', to: 'offline', cause: `admin ada: ${'x'.repeat(60)}`, at });
    const lineBytes = JSON.stringify(transition(1000)).length + 1;
    const opts = { maxBytes: 10 * lineBytes, keepSegments: 2 };
    const j = await Journal.open(path, opts);
    for (let at = 1000; at < 1100; at++) j.append(transition(at));
    await j.sync();
    const files = readdirSync(dir).sort();
    expect(files).toEqual(['journal.jsonl', 'journal.jsonl.1', 'journal.jsonl.2']);
    for (const f of files) expect(statSync(join(dir, f)).size).toBeLessThanOrEqual(opts.maxBytes);
    // Each file holds 9 lines (with its leading newline, a 10th would pass maxBytes): two full
    // segments and the current file's 1 (100 = 11 × 9 + 1); the newest are kept, in order.
    const kept = (await j.history({})).transitions.map((t) => t.at);
    expect(kept.length).toBe(19);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => 1100 - kept.length + i));
    expect((await j.history({ limit: 12 })).transitions.map((t) => t.at)).toEqual(kept.slice(-12));
    await j.close();
    const reopened = await Journal.open(path, opts);
    reopened.append(transition(2000));
    expect((await reopened.history({})).transitions.map((t) => t.at).slice(-2)).toEqual([1099, 2000]);
    await reopened.close();
    expect(readdirSync(dir).sort()).toEqual(['journal.jsonl', 'journal.jsonl.1', 'journal.jsonl.2']);
  });
});

describe('JsonFile without slices (netboot\'s files)', () => {
  it('saves made while a write is in flight share the next write, which holds all of them', async () => {
    const dir = fresh();
    const data: { version: number; items: string[] } = { version: 1, items: [] };
    const file = new JsonFile(join(dir, 'items.json'), () => ({ ...data, items: [...data.items] }), { name: 'items' });
    data.items.push('a');
    const first = file.save();
    const later = ['b', 'c', 'd'].map((item) => {
      data.items.push(item);
      return file.save();
    });
    await Promise.all([first, ...later]);
    expect(file.writes).toBe(2);
    expect(await file.read()).toEqual({ version: 1, items: ['a', 'b', 'c', 'd'] });
  });

  it('a failed save names the file; the next save writes', async () => {
    const dir = fresh();
    const file = new JsonFile(join(dir, 'gone', 'items.json'), () => ({ version: 1 }), { name: 'items' });
    await expect(file.save()).rejects.toThrow(`items ${join(dir, 'gone', 'items.json')}: write failed: ENOENT`);
    mkdirSync(join(dir, 'gone'));
    await file.save();
    expect(await file.read()).toEqual({ version: 1 });
  });
});
