/**
 * The store conformance suite: every store backend passes it (the data directory's files and
 * PostgreSQL; docs/federation.md). Every kind of data the controller keeps survives a reopen, as
 * changed and deleted, and the journal reads back in the order appended. Call
 * runStoreConformance() from a *.conformance.test.ts file.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { simFingerprint as fingerprint } from '../../controller/demo/sim-cluster.js';
import { tokenHash } from '../../controller/auth/tokens.js';
import type { TransitionLog } from '../../controller/store/backend.js';
import { NodeDefinition, type StoreData } from '../../controller/store/schema.js';
import { Store, type StoreOptions } from '../../controller/store/store.js';
import type { Transition } from '../../shared/protocol.js';

export interface StoreHarness {
  /** The store and journal at the harness's one location (the same data at every open). */
  open(opts?: StoreOptions): Promise<{ store: Store; journal: TransitionLog }>;
  /** Closes what `open` opened and removes the location. */
  close(): Promise<void>;
}

const node = (name: string, extra: Partial<NodeDefinition> = {}) => NodeDefinition.parse({ name, ids: {}, createdAt: 1, updatedAt: 1, ...extra });

/** One record of every kind the controller keeps. */
export function fill(d: StoreData): void {
  d.nodes.n001 = node('n001', { groups: ['rack1'], power: 'ipmi://admin:pw@10.0.0.1', attrs: { rack: 'r1', note: 'quote " backslash \\ é \u2028 NUL \u0000 end' }, runtime: { phase: 'run', since: 5, nested: { a: [1, 2.5, null] } } });
  d.nodes.n002 = node('n002', { agentId: 'serial-2', tags: ['gpu'] });
  d.nodes.n010 = node('n010');
  d.agents['serial-2'] = { agentId: 'serial-2', firstSeen: 1, lastSeen: 2, bootId: 'b2', fingerprint: fingerprint(2), node: 'n002', credential: { hash: tokenHash('secret-2'), issuedAt: 3, bootId: 'b2', confirmedAt: 4, previousHash: null } };
  d.agents['serial-9'] = { agentId: 'serial-9', firstSeen: 1, lastSeen: 9, bootId: null, fingerprint: fingerprint(9), node: null, credential: null };
  d.users.ada = { name: 'ada', role: 'admin', passwordHash: 'scrypt$16384$8$1$c2FsdA$a2V5', createdAt: 1, updatedAt: 1, createdBy: 'muster' };
  d.users.bob = { name: 'bob', role: 'viewer', passwordHash: 'scrypt$16384$8$1$c2FsdA$a2V5', createdAt: 2, updatedAt: 2, createdBy: 'ada' };
  d.agentTokens.push(...['t1', 't2', 't3'].map((t, i) => ({ hash: tokenHash(t), note: `token ${t}`, createdAt: i, createdBy: 'ada' })));
  d.hwlog.issues.push({ id: 1, node: 'n001', text: 'fan', source: 'admin', evidence: { tail: ['a', 'b'] }, openedAt: 1, openedBy: 'ada', closedAt: null, closedBy: null, note: null });
  d.hwlog.issues.push({ id: 2, node: 'n002', text: 'dimm', source: 'policy', evidence: {}, openedAt: 2, openedBy: 'policy x', closedAt: null, closedBy: null, note: null });
  d.hwlog.nextId = 3;
  d.switches.sw1 = { name: 'sw1', mgmt: '10.0.0.254', kind: 'arista-7050', createdAt: 1, updatedAt: 1 };
  d.switches.sw2 = { name: 'sw2', mgmt: null, kind: null, createdAt: 1, updatedAt: 1 };
  d.switchPorts.push({ switch: 'sw1', port: 'Ethernet1', node: 'n001', nic: 'eth0' }, { switch: 'sw1', port: 'Ethernet2', node: 'n002' });
  d.bios.desired.groups.rack1 = { HyperThreading: 'Enabled' };
  d.bios.desired.nodes.n001 = { BootMode: 'UEFI' };
  d.bios.reported.n001 = { version: '2.1', settings: { HyperThreading: 'Enabled' }, pending: null, os: { bootMode: 'uefi' }, at: 7 };
  d.naming = { enabled: true, pattern: 'n[001-999]' };
  d.extra.someLayer = { kept: true };
}

/** A change to every kind, and a deletion of each kind that can be deleted. */
function changeAll(d: StoreData): void {
  delete d.nodes.n010;
  d.nodes.n002!.tags = ['gpu', 'ib'];
  d.nodes.n003 = node('n003');
  delete d.agents['serial-9'];
  d.agents['serial-2']!.lastSeen = 100;
  delete d.users.bob;
  d.users.ada!.role = 'operator';
  d.agentTokens.splice(1, 1); // from the middle: the later ones move up
  d.hwlog.issues[0]!.closedAt = 50;
  d.hwlog.issues[0]!.closedBy = 'ada';
  d.hwlog.issues.push({ id: 3, node: 'n003', text: 'psu', source: 'console', evidence: {}, openedAt: 3, openedBy: 'console', closedAt: null, closedBy: null, note: 'x' });
  d.hwlog.nextId = 4;
  delete d.switches.sw2;
  d.switchPorts.shift();
  delete d.bios.desired.groups.rack1;
  d.bios.desired.nodes.n001!.BootMode = 'Legacy';
  d.bios.reported.n002 = { version: null, settings: null, pending: null, os: null, at: 8 };
  d.naming.enabled = false;
  d.extra = {};
}

const transition = (node: string, at: number, axis: Transition['axis'] = 'phase'): Transition => ({ node, axis, from: 'kernel', to: 'init', cause: `c${at}`, at });

export function runStoreConformance(name: string, factory: () => Promise<StoreHarness>): void {
  describe(`store conformance: ${name}`, () => {
    let h: StoreHarness;
    beforeEach(async () => {
      h = await factory();
    });
    afterEach(async () => {
      await h.close();
    });

    /** Close and open again: what the backend holds, read back. */
    const reopen = async (store: Store, journal: TransitionLog) => {
      await store.close();
      await journal.close();
      return h.open();
    };

    it('a new store opens empty, with the defaults', async () => {
      const { store } = await h.open();
      expect(store.data.nodes).toEqual({});
      expect(store.data.hwlog).toEqual({ nextId: 1, issues: [] });
      expect(store.data.naming).toEqual({ enabled: false, pattern: 'n[001-999]' });
      expect(store.data.version).toBe(1);
    });

    it('keeps every kind of data: nodes, agents, users, tokens, hwlog, switches, ports, BIOS settings, naming', async () => {
      const { store, journal } = await h.open({ debounceMs: 0 });
      store.change(fill);
      await store.flush();
      const expected = structuredClone(store.data);
      const again = await reopen(store, journal);
      expect(again.store.data).toEqual(expected);
      // Record by record, in order where the data is a list.
      expect(again.store.data.agentTokens.map((t) => t.note)).toEqual(['token t1', 'token t2', 'token t3']);
      expect(again.store.data.hwlog.issues.map((i) => i.id)).toEqual([1, 2]);
      expect(again.store.data.nodes.n001!.runtime).toEqual({ phase: 'run', since: 5, nested: { a: [1, 2.5, null] } });
    });

    it('keeps changes and deletions of every kind', async () => {
      const { store, journal } = await h.open({ debounceMs: 0 });
      store.change(fill);
      await store.flush();
      store.change(changeAll);
      await store.flush();
      const expected = structuredClone(store.data);
      const again = await reopen(store, journal);
      expect(again.store.data).toEqual(expected);
      expect(Object.keys(again.store.data.nodes).sort()).toEqual(['n001', 'n002', 'n003']);
      expect(again.store.data.agentTokens.map((t) => t.note)).toEqual(['token t1', 'token t3']);
      expect(again.store.data.switchPorts).toEqual([{ switch: 'sw1', port: 'Ethernet2', node: 'n002' }]);
    });

    it('keeps changes that name their records (the per-hello path), and a node\'s runtime record', async () => {
      const { store, journal } = await h.open({ debounceMs: 0 });
      store.change(fill);
      await store.flush();
      store.change((d) => void (d.nodes.n001!.runtime = { phase: 'init', since: 9 }), { nodes: ['n001'] });
      store.change((d) => void (d.agents['serial-2']!.lastSeen = 77), { agents: ['serial-2'] });
      store.change((d) => void delete d.agents['serial-9'], { agents: ['serial-9'] });
      store.change((d) => void (d.nodes.n004 = node('n004')), { nodes: ['n004'] });
      store.change((d) => void (d.bios.desired.nodes.n002 = { X: 'y' }), {});
      await store.flush();
      const expected = structuredClone(store.data);
      const again = await reopen(store, journal);
      expect(again.store.data).toEqual(expected);
      expect(again.store.data.agents['serial-9']).toBeUndefined();
    });

    it('coalesces a burst of 1,000 changes into a handful of writes, all kept', async () => {
      const { store, journal } = await h.open({ debounceMs: 20 });
      for (let i = 0; i < 1000; i++) store.change((d) => void (d.nodes[`n${i}`] = node(`n${i}`)), { nodes: [`n${i}`] });
      await store.flush();
      expect(store.writes).toBeLessThanOrEqual(2);
      const again = await reopen(store, journal);
      expect(Object.keys(again.store.data.nodes)).toHaveLength(1000);
    });

    it('flush() waits for changes made while a write is in flight', async () => {
      const { store, journal } = await h.open({ debounceMs: 0 });
      store.change((d) => void (d.nodes.a = node('a')), { nodes: ['a'] });
      const first = store.flush();
      store.change((d) => void (d.nodes.b = node('b')), { nodes: ['b'] });
      await Promise.all([first, store.flush()]);
      const again = await reopen(store, journal);
      expect(Object.keys(again.store.data.nodes).sort()).toEqual(['a', 'b']);
    });

    it('close() writes what is still waiting for its debounce', async () => {
      const { store, journal } = await h.open({ debounceMs: 60_000 });
      store.change((d) => void (d.users.eve = { name: 'eve', role: 'viewer', passwordHash: 'x', createdAt: 1, updatedAt: 1, createdBy: 'ada' }));
      const again = await reopen(store, journal);
      expect(again.store.data.users.eve?.role).toBe('viewer');
    });

    it('the journal reads back in the order appended, filtered by node, axis and time, also after a reopen', async () => {
      const { store, journal } = await h.open();
      // Interleaved nodes, times not in order: the order is the appends', not the times'.
      const appended: Transition[] = [];
      for (let i = 0; i < 300; i++) appended.push(transition(`n${i % 3}`, 1000 + ((i * 7) % 300), i % 2 ? 'phase' : 'liveness'));
      for (const t of appended.slice(0, 150)) journal.append(t);
      await journal.sync();
      for (const t of appended.slice(150)) journal.append(t);
      expect((await journal.history({})).transitions).toEqual(appended);
      const { journal: again } = await reopen(store, journal);
      again.append(transition('n1', 5));
      const all = [...appended, transition('n1', 5)];
      expect((await again.history({})).transitions).toEqual(all);
      expect((await again.history({ node: 'n1' })).transitions).toEqual(all.filter((t) => t.node === 'n1'));
      expect((await again.history({ node: 'n1', axis: 'phase' })).transitions).toEqual(all.filter((t) => t.node === 'n1' && t.axis === 'phase'));
      expect((await again.history({ since: 1200 })).transitions).toEqual(all.filter((t) => t.at >= 1200));
      expect((await again.history({ node: 'n2', limit: 5 })).transitions).toEqual(all.filter((t) => t.node === 'n2').slice(-5));
      expect((await again.history({})).skipped).toBe(0);
    });

    it('the journal keeps every field of a transition', async () => {
      const { journal } = await h.open();
      const t: Transition = { node: 'n1', axis: 'action', from: null, to: 'power-cycle done', cause: 'quote " é NUL \u0000 end', at: 1500, by: 'policy x', attempt: 2 };
      journal.append(t);
      expect((await journal.history({ node: 'n1' })).transitions).toEqual([t]);
    });
  });
}
