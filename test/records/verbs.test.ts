import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Verb } from '../../controller/api/verb.js';
import { recordVerbs } from '../../controller/api/verbs/records.js';
import { BmcBios } from '../../controller/records/bios-bmc.js';
import { PowerService } from '../../controller/power/service.js';
import { ControllerConfig } from '../../controller/config.js';
import type { Context } from '../../controller/context.js';
import { EventBus } from '../../controller/events.js';
import { NodeDirectory } from '../../controller/nodes/directory.js';
import { recordReportedBios } from '../../controller/records/bios.js';
import { openHwlogIssue } from '../../controller/records/hwlog-service.js';
import { openIssueCount } from '../../controller/records/hwlog.js';
import { Store } from '../../controller/store/store.js';
import type { Event } from '../../shared/protocol.js';
import { tempDir } from '../helpers/tmp.js';
import { RACK_YAML } from './fixtures.js';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((rm) => rm()));

/** A controller Context with what the records verbs use: a real store in a temp dir, a clock, recorded events. */
async function harness() {
  const { dir, remove } = tempDir('muster-records-');
  cleanups.push(remove);
  const store = await Store.open(dir, { debounceMs: 0 });
  const events: Array<Omit<Event, 'v' | 'at'> & { at?: number }> = [];
  const clock = { now: 1_000 };
  const bus = new EventBus((event, owner, err) => {
    throw new Error(`${owner}'s ${event} listener threw: ${String(err)}`);
  });
  const ctx = {
    config: ControllerConfig.parse({ dataDir: dir }),
    store,
    // As the controller wires it: changes to definitions are told on the event bus.
    nodes: new NodeDirectory(store, (names, change) => names.forEach((node) => bus.emit('node:changed', { node, change, at: clock.now }))),
    now: () => clock.now,
    publishEvent: (e: Omit<Event, 'v' | 'at'> & { at?: number }) => void events.push(e),
    events: bus,
  } as unknown as Context;
  const verbs = new Map<string, Verb>(recordVerbs(new BmcBios(() => ({})), new PowerService()).map((v) => [v.name, v]));
  /** As the API server calls a handler: for an authenticated user (the journal's "who"). */
  const call = <T = any>(name: string, args: Record<string, unknown>, user = 'admin'): Promise<T> => {
    const v = verbs.get(name)!;
    return v.handle(v.args.parse(args), ctx, { replyTo: 'muster-cli-test', user, role: 'admin' }) as Promise<T>;
  };
  const onDisk = () => JSON.parse(readFileSync(join(dir, 'store.json'), 'utf8'));
  return { dir, store, ctx, events, clock, call, onDisk };
}

describe('records verbs on a real store', () => {
  it('imports a file sent in parts (any order), flushes it, and re-indexes identification', async () => {
    const h = await harness();
    const version = h.ctx.nodes.version;
    const told: string[] = [];
    h.ctx.events.owner('test').on('node:changed', ({ node, change }) => void told.push(`${node} ${change}`));
    const third = Math.ceil(RACK_YAML.length / 3);
    const parts = [0, 1, 2].map((i) => RACK_YAML.slice(i * third, (i + 1) * third));
    const upload = (part: number) => h.call('import', { text: parts[part]!, format: 'yaml', upload: { id: 'abcdef0123456789', part, parts: 3 } });
    expect(await upload(2)).toEqual({ received: 2 });
    expect(await upload(0)).toEqual({ received: 0 });
    const r = await upload(1);
    expect(r).toMatchObject({ imported: true, nodes: { created: ['n001', 'n002'], updated: [] }, ports: 2, bios: 2 });
    expect(told).toEqual(['n001 imported', 'n002 imported']); // the state manager, consoles and others hear of the new definitions
    expect(h.ctx.nodes.version).toBeGreaterThan(version);
    const disk = h.onDisk();
    expect(Object.keys(disk.nodes)).toEqual(['n001', 'n002']);
    expect(disk.switchPorts).toHaveLength(2);
    expect(disk.bios.desired.groups.compute).toEqual({ version: '2.1.3', SMT: 'disabled' });

    // Again: the same nodes are updated, not created.
    expect(await h.call('import', { text: RACK_YAML, format: 'yaml' })).toMatchObject({ nodes: { created: [], updated: ['n001', 'n002'] } });
    // A dry run changes nothing.
    const before = JSON.stringify(h.store.data);
    expect(await h.call('import', { text: 'nodes:\n  - name: n003\n', format: 'yaml', dryRun: true })).toMatchObject({ imported: false, dryRun: true, nodes: { created: ['n003'] } });
    expect(JSON.stringify(h.store.data)).toBe(before);
  });

  it('a file with any problem imports nothing: every problem comes back with its line', async () => {
    const h = await harness();
    await h.call('import', { text: RACK_YAML, format: 'yaml' });
    const disk = readFileSync(join(h.dir, 'store.json'), 'utf8');
    const memory = JSON.stringify(h.store.data);
    const csv = 'name,macs,image\nn001,52:54:00:00:01:01,rocky10\nn003,zz,rocky10\nn004,,bad image\n';
    const r = await h.call('import', { text: csv, format: 'csv' });
    expect(r.imported).toBe(false);
    expect(r.problems.map((p: { line: number }) => p.line)).toEqual([3, 4]);
    expect(r.problems[0].message).toBe('node n003: macs: "zz" is not a MAC address like aa:bb:cc:dd:ee:ff');
    expect(r.problems[1].message).toMatch(/^node n004: image: "bad image"/);
    // Targets are checked by their drivers' parsers, as define and set check them.
    const targets = await h.call('import', { text: 'name,power,console\nn005,ipmi://,\nn006,sim://,tcp://host\n', format: 'csv' });
    expect(targets.problems.map((p: { message: string }) => p.message)).toEqual([
      'node n005: bad power target "ipmi://": missing host (expected ipmi://user:pass@host[:port])',
      'node n006: console target "tcp://host": expected tcp://HOST:PORT',
    ]);
    expect(JSON.stringify(h.store.data)).toBe(memory);
    expect(readFileSync(join(h.dir, 'store.json'), 'utf8')).toBe(disk);
  });

  it('export hides passwords unless asked', async () => {
    const h = await harness();
    await h.call('import', { text: RACK_YAML, format: 'yaml' });
    const hidden = await h.call<{ text: string }>('export', {});
    expect(hidden.text).toContain('power: ipmi://admin:***@10.0.0.101:623');
    expect(hidden.text).not.toContain('s3cret');
    expect((await h.call<{ text: string }>('export', { format: 'csv', showSecrets: true })).text).toContain('ipmi://admin:s3cret@10.0.0.101:623');
  });

  it('hwlog open/close publish events and persist; the same fault is not opened twice', async () => {
    const h = await harness();
    await h.call('import', { text: RACK_YAML, format: 'yaml' });
    const opened = await h.call('hwlog-open', { node: 'n001', text: 'DIMM B2 errors' }, 'alice');
    expect(opened).toMatchObject({ created: true, issue: { id: 1, node: 'n001', source: 'admin', openedBy: 'alice', openedAt: 1000 } });
    expect(h.onDisk().hwlog.issues).toHaveLength(1);

    // What the state manager calls after failed corrections: an event once, not per attempt.
    h.clock.now = 2000;
    const policy = { node: 'n002', text: 'hung in kernel, 3 power cycles failed', source: 'policy' as const, evidence: { attempts: 3 } };
    expect(openHwlogIssue(h.ctx, policy).created).toBe(true);
    expect(openHwlogIssue(h.ctx, policy).created).toBe(false);
    expect(openIssueCount(h.store.data, 'n002')).toBe(1);
    expect(() => openHwlogIssue(h.ctx, { ...policy, node: 'n404' })).toThrow('hwlog: node n404 is not defined');

    h.clock.now = 3000;
    await h.call('hwlog-close', { node: 'n001', id: 1, note: 'DIMM replaced' }, 'bob');
    expect(h.events.map((e) => [e.kind, e.node, e.message])).toEqual([
      ['hwlog', 'n001', 'n001 hwlog #1 opened by alice (admin): DIMM B2 errors'],
      ['hwlog', 'n002', 'n002 hwlog #2 opened by policy (policy): hung in kernel, 3 power cycles failed'],
      ['hwlog', 'n001', 'n001 hwlog #1 closed by bob: DIMM replaced'],
    ]);
    expect(h.events[1]!.details).toMatchObject({ action: 'open', issue: { evidence: { attempts: 3 } } });
    expect((await h.call<unknown[]>('hwlog-list', {})).map((i: any) => i.id)).toEqual([2]);
    expect((await h.call<unknown[]>('hwlog-list', { range: 'n001', all: true })).map((i: any) => [i.id, i.closedBy])).toEqual([[1, 'bob']]);
    expect(h.onDisk().hwlog.issues[0]).toMatchObject({ closedAt: 3000, closedBy: 'bob', note: 'DIMM replaced' });
    await expect(h.call('hwlog-close', { node: 'n002', id: 1, note: 'x' })).rejects.toThrow('issue #1 belongs to node n001, not n002');
  });

  it('switch add/port/list, and bios set (group or noderange) and diff', async () => {
    const h = await harness();
    await h.call('import', { text: RACK_YAML, format: 'yaml' });
    expect(await h.call('switch-add', { name: 'leaf2', settings: ['mgmt=10.0.0.251', 'kind=arista-7050'] })).toMatchObject({ created: true, switch: { mgmt: '10.0.0.251' } });
    await expect(h.call('switch-add', { name: 'leaf2', settings: ['snmp=public'] })).rejects.toThrow('"snmp=public" is not mgmt=ADDRESS or kind=MODEL');
    const version = h.ctx.nodes.version;
    await h.call('switch-port', { switch: 'leaf2', port: '7', node: 'n002', nic: 'eth1' });
    expect(h.ctx.nodes.version).toBeGreaterThan(version);
    const list = await h.call<Array<{ name: string; ports: unknown[] }>>('switch-list', {});
    expect(list.map((s) => [s.name, s.ports.length])).toEqual([
      ['leaf1', 2],
      ['leaf2', 1],
    ]);

    expect(await h.call('bios-set', { target: 'rack1', settings: ['VT=on'] })).toMatchObject({ group: 'rack1', desired: { VT: 'on' } });
    expect(await h.call('bios-set', { target: 'n[001-002]', settings: ['Turbo=off'] })).toMatchObject({ nodes: ['n001', 'n002'] });
    h.store.change((d) => recordReportedBios(d, 'n001', { version: '2.1.3', settings: { SMT: 'disabled', VT: 'on', Turbo: 'off' }, at: 5 }));
    const diff = await h.call<Array<{ node: string; drift: Array<{ key: string }> }>>('bios-diff', { range: 'rack1' });
    expect(diff.map((r) => [r.node, r.drift.map((d) => d.key)])).toEqual([
      ['n001', []],
      ['n002', ['SMT', 'Turbo', 'version', 'VT']],
    ]);
    expect(h.onDisk().bios.desired.groups.rack1).toEqual({ VT: 'on' });
  });

  it('a store file from before these records loads with empty ones', async () => {
    const { dir, remove } = tempDir('muster-records-');
    cleanups.push(remove);
    writeFileSync(join(dir, 'store.json'), JSON.stringify({ version: 1, nodes: {}, agents: {}, switchPorts: [{ switch: 'sw1', port: '1', node: 'n001' }] }));
    const store = await Store.open(dir);
    expect(store.data.hwlog).toEqual({ nextId: 1, issues: [] });
    expect(store.data.switches).toEqual({});
    expect(store.data.bios).toEqual({ desired: { groups: {}, nodes: {} }, reported: {} });
    expect(store.data.switchPorts).toEqual([{ switch: 'sw1', port: '1', node: 'n001' }]);
  });
});
