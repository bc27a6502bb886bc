/**
 * The build-system conformance suite: every BuildSystem passes it (docs/build-systems.md calls it
 * the checklist for a new one). Call runBuildSystemConformance() from a *.test.ts file.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BuildConfig } from '../../shared/node-network.js';
import { BUILD_STATES, BuildError, type BuildErrorCode, type BuildSystem, type ImageCatalog, type ImageFiles } from '../../controller/provision/types.js';
import { tempDir } from '../helpers/tmp.js';

export interface BuildSystemHarness {
  system: BuildSystem;
  /** Make an image available the way an admin would (catalog add, a file in the tool's dir…). */
  addImage(name: string): Promise<void>;
  /** Stop the system and remove everything the harness created. */
  close(): Promise<void>;
}

/** The harness of a system with its own image catalog (netboot, disk): fresh state in a temp dir, images from small files. */
export async function catalogHarness(open: (dir: string) => Promise<BuildSystem & ImageCatalog>, files: (dir: string, name: string) => ImageFiles): Promise<BuildSystemHarness> {
  const tmp = tempDir('muster-build-');
  const system = await open(tmp.dir);
  return {
    system,
    addImage: async (name) => {
      await system.addImage(name, files(tmp.dir, name));
    },
    close: async () => {
      await system.close();
      tmp.remove();
    },
  };
}

const config = (image: string, extra: Partial<BuildConfig> = {}): BuildConfig => ({
  image,
  tags: ['rack1'],
  interfaces: [{ name: 'eth0', dhcp: false, addresses: ['10.1.0.11/16'], gateway: '10.1.0.1', mtu: 9000 }],
  ...extra,
});

async function expectBuildError(p: Promise<unknown>, code: BuildErrorCode, node: string | null): Promise<BuildError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected BuildError ${code}, but the call succeeded`).toBeInstanceOf(BuildError);
  const be = err as BuildError;
  expect(be.code, be.message).toBe(code);
  if (node !== null) expect(be.message).toContain(node);
  return be;
}

export function runBuildSystemConformance(name: string, factory: () => Promise<BuildSystemHarness>): void {
  describe(`build system conformance: ${name}`, () => {
    let h: BuildSystemHarness;
    let bs: BuildSystem;
    beforeEach(async () => {
      h = await factory();
      bs = h.system;
      await h.addImage('img-a');
    });
    afterEach(async () => {
      await h.close();
    });

    it('declares a name and capabilities', () => {
      expect(bs.name).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(Array.isArray(bs.capabilities)).toBe(true);
    });

    it('images() lists what was added', async () => {
      await h.addImage('img-b');
      const names = (await bs.images()).map((i) => i.name).sort();
      expect(names).toEqual(['img-a', 'img-b']);
    });

    it('configure → prepare → status → release → status', async () => {
      await bs.configure('n001', config('img-a'));
      const before = await bs.status('n001');
      expect(BUILD_STATES).toContain(before.state);
      expect(before.state).not.toBe('prepared');
      await bs.prepare('n001');
      const prepared = await bs.status('n001');
      expect(prepared.state).toBe('prepared');
      if (prepared.since !== undefined) expect(prepared.since).toBeGreaterThan(0);
      await bs.release('n001');
      const released = await bs.status('n001');
      expect(['idle', 'done']).toContain(released.state);
      // A released node can be prepared again (the next rebuild).
      await bs.prepare('n001');
      expect((await bs.status('n001')).state).toBe('prepared');
    });

    it('refuses a bad config with bad-config', async () => {
      const bad = [
        { ...config('img-a'), interfaces: [{ name: 'eth0', dhcp: false, addresses: ['10.1.0.11/16'], mtu: 90000 }] },
        { ...config('img-a'), image: '../etc' },
        { ...config('img-a'), tags: ['a b'] },
        { tags: [] },
      ];
      for (const c of bad) await expectBuildError(bs.configure('n001', c as BuildConfig), 'bad-config', 'n001');
      await expectBuildError(bs.configure('bad/name', config('img-a')), 'bad-config', 'bad/name');
      // Nothing was recorded by the refused calls.
      await expectBuildError(bs.prepare('n001'), 'unknown-node', 'n001');
    });

    it('refuses operations on a node it was never told about with unknown-node', async () => {
      await expectBuildError(bs.prepare('n404'), 'unknown-node', 'n404');
      await expectBuildError(bs.status('n404'), 'unknown-node', 'n404');
      await expectBuildError(bs.release('n404'), 'unknown-node', 'n404');
    });

    it('refuses an image it does not have with unknown-image', async () => {
      await expectBuildError(bs.configure('n001', config('no-such-image')), 'unknown-image', 'n001');
      await expectBuildError(bs.prepare('n001'), 'unknown-node', 'n001');
    });

    it('reconfiguring keeps the node usable and takes the new image', async () => {
      await h.addImage('img-b');
      await bs.configure('n001', config('img-a'));
      await bs.configure('n001', config('img-b', { tags: [], interfaces: [] }));
      await bs.prepare('n001');
      expect((await bs.status('n001')).state).toBe('prepared');
    });

    it('concurrent prepares and releases on one node: serialised or busy, never corrupt', async () => {
      await bs.configure('n001', config('img-a'));
      const ops = Array.from({ length: 12 }, (_, i) => (i % 3 === 2 ? bs.release('n001') : bs.prepare('n001')));
      const results = await Promise.allSettled(ops);
      for (const r of results) {
        if (r.status === 'rejected') {
          expect(r.reason).toBeInstanceOf(BuildError);
          expect((r.reason as BuildError).code).toBe('busy');
        }
      }
      expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
      expect(['prepared', 'idle', 'done']).toContain((await bs.status('n001')).state);
      // Still consistent afterwards: the next call behaves normally.
      await bs.prepare('n001');
      expect((await bs.status('n001')).state).toBe('prepared');
    });

    it('concurrent prepares on many nodes all land', async () => {
      const nodes = Array.from({ length: 16 }, (_, i) => `n${String(i + 1).padStart(3, '0')}`);
      await Promise.all(nodes.map((n, i) => bs.configure(n, config('img-a', { interfaces: [{ name: 'eth0', dhcp: false, addresses: [`10.1.0.${i + 10}/16`] }] }))));
      await Promise.all(nodes.map((n) => bs.prepare(n)));
      const states = await Promise.all(nodes.map((n) => bs.status(n)));
      expect(states.map((s) => s.state)).toEqual(nodes.map(() => 'prepared'));
      await Promise.all(nodes.slice(0, 8).map((n) => bs.release(n)));
      const after = await Promise.all(nodes.map((n) => bs.status(n)));
      expect(after.map((s) => s.state === 'prepared')).toEqual(nodes.map((_, i) => i >= 8));
    });
  });
}
