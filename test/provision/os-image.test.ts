/**
 * `muster image build`: a real Debian root from mmdebstrap, cached by its inputs under a stable
 * directory (/var/cache/muster-test/images) so later runs on this machine reuse it; the first build
 * takes minutes, a second build of the same inputs is a cache hit in well under 5 s.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { osImageKey, sha256File } from '../../controller/provision/os-image.js';
import { ensureBuilt } from '../helpers/bundle.js';
import { expectCliJson } from '../helpers/cli-json.js';
import { requireBuild, runCli } from '../helpers/controller.js';
import { startInProc, type InProc } from '../helpers/inproc.js';
import { start, type Proc } from '../helpers/proc.js';
import { until } from '../helpers/wait.js';

const TEST_IMAGE_DIR = '/var/cache/muster-test/images';
const FIRST_BUILD_MS = 30 * 60_000;

const MAC = '52:54:00:21:00:01';
/** Systemd and node from a tmpfs root under TCG on a loaded 2-core machine: minutes. */
const RAM_BOOT_MS = 15 * 60_000;

let c: InProc;
let vm: Proc | undefined;
beforeAll(async () => {
  ensureBuilt('agent');
  requireBuild();
  c = await startInProc({ build: { imageDir: TEST_IMAGE_DIR } } as never);
}, 120_000);
afterAll(async () => {
  await vm?.stop('SIGKILL');
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

  it('boots in RAM in a VM: root on tmpfs, the agent under systemd reports init then run', async () => {
    const built = await c.client.request('image-build', { name: 'ramos', suite: 'bookworm', packages: [] }, FIRST_BUILD_MS);
    await c.client.request('define', { range: 'r1', settings: [`mac=${MAC}`] });
    const port = new URL(c.running.mqttUrl).port;
    const t0 = Date.now();
    const at: Record<string, number> = {};
    // qemu's user network: the guest reaches the host's 127.0.0.1 at 10.0.2.2.
    vm = start('qemu-system-x86_64', [
      '-accel', 'tcg', '-m', '2048', '-display', 'none', '-serial', 'stdio', '-no-reboot',
      '-kernel', built.manifest.kernel.path, '-initrd', built.manifest.root.path,
      '-append', `console=ttyS0 panic=-1 muster.controller=mqtt://10.0.2.2:${port}`,
      '-netdev', 'user,id=n0', '-device', `virtio-net-pci,netdev=n0,mac=${MAC}`,
    ]);
    await vm.waitFor(/Run \/init as init process/, RAM_BOOT_MS);
    at.kernel = Date.now() - t0;
    await vm.waitFor(/Welcome to .*Debian/, RAM_BOOT_MS);
    at.systemd = Date.now() - t0;
    const phase = async () => (await c.client.request('show', { node: 'r1' })).state?.phase;
    await until('r1 in phase init or run', async () => ['init', 'run'].includes((await phase()) ?? ''), RAM_BOOT_MS, 500);
    at.init = Date.now() - t0;
    await until('r1 in phase run', async () => (await phase()) === 'run', RAM_BOOT_MS, 500);
    at.run = Date.now() - t0;
    const history = await c.client.request('history', { node: 'r1', axis: 'phase' });
    expect(history.transitions.map((t) => t.to)).toEqual(['init', 'run']);
    console.log(`RAM boot of ${built.manifest.key}, ms from qemu start: ${JSON.stringify(at)}`);
  }, FIRST_BUILD_MS + RAM_BOOT_MS);

  it('refuses bad inputs naming the field', async () => {
    const bad = await c.client.request('image-build', { name: 'x', suite: 'Bookworm; rm', packages: [] }).catch((e: Error) => e.message);
    expect(bad).toMatch(/suite must be a Debian suite name like bookworm/);
    const badPkg = await c.client.request('image-build', { name: 'x', suite: 'bookworm', packages: ['--root'] }).catch((e: Error) => e.message);
    expect(badPkg).toMatch(/package names are Debian package names/);
  });
});
