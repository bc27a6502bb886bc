/**
 * `muster image build`: a real Debian root from mmdebstrap, cached by its inputs under a stable
 * directory (/var/cache/muster-test/images) so later runs on this machine reuse it; the first build
 * takes minutes, a second build of the same inputs is a cache hit in well under 5 s. The image
 * booted in RAM and installed on a disk: test/e2e/build-scenario.test.ts and disk-uefi.test.ts.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { osImageKey, sha256File } from '../../controller/provision/os-image.js';
import { ensureBuilt } from '../helpers/bundle.js';
import { expectCliJson } from '../helpers/cli-json.js';
import { requireBuild, runCli } from '../helpers/controller.js';
import { startInProc, type InProc } from '../helpers/inproc.js';

const TEST_IMAGE_DIR = '/var/cache/muster-test/images';
const FIRST_BUILD_MS = 30 * 60_000;

let c: InProc;
beforeAll(async () => {
  ensureBuilt('agent');
  requireBuild();
  c = await startInProc({ build: { imageDir: TEST_IMAGE_DIR } } as never);
}, 120_000);
afterAll(async () => {
  await c?.stop();
}, 120_000);

describe('image cache key', () => {
  const inputs = { suite: 'bookworm', packages: ['less', 'openssh-server'], kernelFlavour: 'cloud-amd64' };
  it('is the same for the same packages in any order, different for any other input', () => {
    const key = osImageKey(inputs, 'a'.repeat(64), '1');
    expect(osImageKey({ ...inputs, packages: ['openssh-server', 'less', 'less'] }, 'a'.repeat(64), '1')).toBe(key);
    expect(new Set([key, osImageKey({ ...inputs, suite: 'trixie' }, 'a'.repeat(64), '1'), osImageKey({ ...inputs, packages: ['less'] }, 'a'.repeat(64), '1'), osImageKey({ ...inputs, kernelFlavour: 'amd64' }, 'a'.repeat(64), '1'), osImageKey(inputs, 'b'.repeat(64), '1'), osImageKey(inputs, 'a'.repeat(64), '2')]).size).toBe(6);
  });
});

describe('muster image build', () => {
  it('builds a Debian root for RAM boot with checksums into the catalog, and the same inputs again from the cache', async () => {
    const started = Date.now();
    const first = await c.client.request('image-build', { name: 'ramos', suite: 'bookworm', packages: [] }, FIRST_BUILD_MS);
    // The first build's time (or the cache hit of an earlier run on this machine).
    console.log(`image build ${first.manifest.key}: ${first.cached ? `cached (built earlier in ${first.manifest.buildMs} ms)` : `built in ${first.manifest.buildMs} ms`}, request ${Date.now() - started} ms; root ${first.manifest.root.sizeBytes} B`);
    const { kernel, root } = first.manifest;
    expect(kernel.path.startsWith(`${TEST_IMAGE_DIR}/${first.manifest.key}/`)).toBe(true);
    expect(existsSync(kernel.path) && existsSync(root.path)).toBe(true);
    expect(await sha256File(kernel.path)).toBe(kernel.sha256);
    expect(await sha256File(root.path)).toBe(root.sha256);
    expect(root.sizeBytes).toBeGreaterThan(50 * 2 ** 20); // a whole Debian with systemd, not a busybox initramfs
    expect(first.image).toMatchObject({ name: 'ramos', kind: 'diskless', sha256: root.sha256 });

    const second = await c.client.request('image-build', { name: 'ramos', suite: 'bookworm', packages: [] }, 60_000);
    expect(second.cached).toBe(true);
    expect(second.manifest).toEqual(first.manifest);

    // The real CLI: the same inputs are a cache hit, and the list shows kind, size and checksum.
    const cli = await runCli(c.running.mqttUrl, ['image', 'build', 'ramos']);
    expect(cli.stdout).toContain(`image ramos: cached (${first.manifest.key}); root ${(root.sizeBytes / 1048576).toFixed(1)} MB sha256 ${root.sha256}`);
    const built = expectCliJson('image build', (await runCli(c.running.mqttUrl, ['image', 'build', 'ramos', '--json'])).stdout);
    expect(built).toMatchObject({ cached: true, image: { name: 'ramos', addedAt: expect.stringMatching(/Z$/) } });
    const list = await runCli(c.running.mqttUrl, ['image', 'list']);
    expect(list.stdout).toMatch(new RegExp(`ramos\\s+netboot\\s+diskless\\s+${((kernel.sizeBytes + root.sizeBytes) / 1048576).toFixed(1)} MB\\s+${root.sha256.slice(0, 16)}`));
  }, FIRST_BUILD_MS + 120_000);

  it('refuses bad inputs naming the field', async () => {
    const bad = await c.client.request('image-build', { name: 'x', suite: 'Bookworm; rm', packages: [] }).catch((e: Error) => e.message);
    expect(bad).toMatch(/suite must be a Debian suite name like bookworm/);
    const badPkg = await c.client.request('image-build', { name: 'x', suite: 'bookworm', packages: ['--root'] }).catch((e: Error) => e.message);
    expect(badPkg).toMatch(/package names are Debian package names/);
  });
});
