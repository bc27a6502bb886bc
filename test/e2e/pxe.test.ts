/**
 * VMs on taps in a bridge inside network namespaces PXE-boot through muster's dnsmasq and fetch
 * their iPXE script from muster's HTTP server, in dhcp mode (muster's fixed address) and in proxy
 * mode (the address from a second dnsmasq playing the site's server):
 * - BIOS: SeaBIOS with qemu's iPXE NIC ROM, which asks for the script at once;
 * - UEFI: OVMF with no NIC ROM (`romfile=`), so the firmware's own PXE fetches snponly.efi over
 *   TFTP and that iPXE fetches the script.
 * A defined node with no image is told to boot its disk, and each firmware does: BIOS through
 * `sanboot --drive 0x80` (a boot sector printing a marker), UEFI through `exit 1` to the next boot
 * entry (an ESP whose grub prints a marker).
 * Secure Boot: OVMF with Secure Boot enforced and Microsoft's keys boots shim → grub → the Debian
 * signed kernel of the node's image, whose /init prints the command line grub's script gave it.
 * Booted to `run` elsewhere, not here: UEFI through snponly.efi in proxy mode by the lab
 * (test/e2e/lab.test.ts), and a BIOS node sent to its disk by the script by the build scenario
 * (test/e2e/build-scenario.test.ts).
 * Every address lives inside the namespaces; the controller's HTTP port (127.0.0.1) is reached
 * from the namespace through a socat pair over a unix socket.
 */
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { Extension } from '../../controller/context.js';
import { defaultExtensions } from '../../controller/extensions.js';
import { NetworkConfig } from '../../controller/network/config.js';
import type { Event } from '../../shared/protocol.js';
import { CMDLINE_LINE, cmdlineInitramfs } from '../helpers/cmdline-initramfs.js';
import { startInProc, type InProc } from '../helpers/inproc.js';
import { start, type Proc } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';
import { firmwareArgs, pxeNic, type Firmware } from '../lab/firmware.js';
import { labKernelDir } from '../lab/image.js';
import { TestNetwork } from '../network/netns.js';

const MAC = '52:54:00:00:00:07';
const SCRIPT_URL = 'http://10.99.0.1:8080/boot/${netX/mac}.ipxe';
const SIGNED_GRUB = '/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed';
const DHCP_MODE = { mode: 'dhcp', interface: 'br0', subnet: '10.99.0.0/24', pool: { start: '10.99.0.100', end: '10.99.0.199' }, httpUrl: 'http://10.99.0.1:8080' } as const;
const PROXY_MODE = { mode: 'proxy', interface: 'br0', subnet: '10.99.0.0/24', httpUrl: 'http://10.99.0.1:8080' } as const;
const DISK_MARKER = 'muster-test: booted from the disk';

/** A netboot image n007 is prepared to build. */
interface Image {
  kernel: string;
  initrd: string;
  cmdline: string;
}

/** What one boot saw: the scripts asked for, the boot events of n007, and when each came (ms after qemu started). */
interface BootRun {
  vm: Proc;
  scriptsFetched: string[];
  steps: string[];
  timeline: string[];
  /** Notes a moment on the timeline. */
  mark(what: string): void;
}

// Namespaces, taps and port 67 need root, as CI has; a developer's non-root run skips.
describe.skipIf(process.getuid?.() !== 0)('VMs PXE-boot through muster dnsmasq', () => {
  let lab: TestNetwork;
  let tmp: { dir: string; remove: () => void };
  /** What one case started, stopped after it (last first). */
  let procs: Proc[] = [];
  let c: InProc | null = null;
  let vms = 0;

  beforeAll(() => {
    tmp = tempDir('muster-pxe-');
    lab = new TestNetwork();
    lab.tap('tap0');
  });
  afterEach(async () => {
    for (const p of procs.reverse()) await p.stop();
    procs = [];
    await c?.stop();
    c = null;
  });
  afterAll(() => {
    lab?.remove();
    tmp?.remove();
  });

  /** qemu's arguments for the firmware (a copy of the UEFI variables per VM), the console on stdout. */
  function machine(firmware: Firmware): string[] {
    const secure = firmware === 'uefi-secureboot';
    // The Secure Boot kernel needs 512 MiB; a reset ends qemu, so a failed Secure Boot shows at once.
    const base = ['-accel', 'tcg', '-m', secure ? '512' : '256', '-display', 'none', '-vga', 'none', '-monitor', 'none', '-serial', 'stdio'];
    return [...base, ...firmwareArgs(firmware, join(tmp.dir, `vars-${vms}.fd`)), ...(secure ? ['-no-reboot'] : [])];
  }

  /**
   * A controller with this network, node n007 defined (with no image, or prepared to build `image`),
   * its HTTP port on 10.99.0.1:8080, and the VM booting from the network first, then from `disk`
   * when given; resolves once the VM fetched its boot script (or `scriptStep` was seen).
   */
  async function boot(firmware: Firmware, network: z.input<typeof NetworkConfig>, opts: { disk?: string; image?: Image; scriptStep?: string } = {}): Promise<BootRun> {
    const { disk, image, scriptStep } = opts;
    const scriptsFetched: string[] = [];
    const timeline: string[] = [];
    const steps: string[] = [];
    let t0 = Date.now();
    const mark = (what: string) => timeline.push(`${what} +${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // Sees which boot scripts are asked for, and leaves the answer to the netboot route.
    const observer: Extension = {
      name: 'test-observer',
      start: async (ctx) =>
        ctx.provisioningHttp.mount((req) => {
          if (req.url?.startsWith('/boot/')) {
            scriptsFetched.push(decodeURIComponent(req.url));
            mark('iPXE script');
          }
          return false;
        }),
    };
    const build = image ? { build: { imageDirs: [dirname(image.kernel), dirname(image.initrd)] } } : {};
    c = await startInProc({ network: NetworkConfig.parse({ ...network, netns: lab.server }), ...build }, { prepare: (dir) => chmodSync(dir, 0o755), extensions: (ctx) => [observer, ...defaultExtensions(ctx)] });
    await c.running.ctx.bus.subscribe('muster/events/boot', (_t, payload) => {
      const e = JSON.parse(payload.toString('utf8')) as Event;
      if (e.node !== 'n007') return;
      steps.push(e.message);
      mark(e.message.replace('n007: ', ''));
    });
    if (image) await c.client.request('image-add', { name: 'sb', ...image });
    await c.client.request('define', { range: 'n007', settings: [`mac=${MAC}`, `if.eth0=10.99.0.17/24,mac=${MAC}`, ...(image ? ['image=sb'] : [])] });
    if (image) await c.client.request('build', { range: 'n007' });
    procs.push(...(await lab.forward(8080, Number(new URL(c.running.httpUrl!).port), tmp.dir)));
    const drives = disk ? ['-drive', `if=none,id=d0,format=raw,readonly=on,file=${disk}`, '-device', 'virtio-blk-pci,drive=d0,bootindex=2'] : [];
    t0 = Date.now();
    const vm = start('ip', ['netns', 'exec', lab.server, 'qemu-system-x86_64', ...machine(firmware), '-netdev', 'tap,id=n0,ifname=tap0,script=no,downscript=no', '-device', pxeNic(firmware, MAC, 'n0'), ...drives]);
    vms++;
    procs.push(vm);
    // iPXE fetches its script over HTTP; grub reads its script over TFTP (`scriptStep`).
    await until('the VM to fetch its boot script', () => (scriptStep ? steps.includes(scriptStep) : scriptsFetched.length > 0), 180_000, 200).catch((err: Error) => {
      // Where the boot stopped: the steps muster saw, and the end of the VM's console.
      throw new Error(`${err.message}; boot steps: ${steps.join(' | ') || 'none'}; console: ${vm.output().slice(-1500)}`);
    });
    return { vm, scriptsFetched, steps, timeline, mark };
  }

  /** Shows where a boot's time went, for docs/network.md. */
  const report = (name: string, run: BootRun) => console.log(`${name}: ${run.timeline.join(', ')}`);

  it('BIOS, dhcp mode: gets its fixed address and the script URL, and fetches /boot/<mac>.ipxe', async () => {
    const run = await boot('bios', DHCP_MODE);
    report('BIOS dhcp', run);
    expect(run.scriptsFetched[0]).toBe(`/boot/${MAC}.ipxe`);
    expect(run.steps).toContain('n007: DHCP ack 10.99.0.17');
    expect(run.steps).toContain(`n007: boot file ${SCRIPT_URL}`);
  });

  it('BIOS, proxy mode: the address from the site server, the script URL from muster', async () => {
    const siteServer = await lab.siteServer(tmp.dir);
    procs.push(siteServer);
    const run = await boot('bios', PROXY_MODE);
    report('BIOS proxy', run);
    expect(run.scriptsFetched[0]).toBe(`/boot/${MAC}.ipxe`);
    expect(siteServer.output()).toMatch(/DHCPACK\(eth0\) 10\.99\.0\.5\d 52:54:00:00:00:07/);
    expect(run.steps).toContain('n007: PXE proxy offer');
    expect(run.steps).toContain(`n007: PXE boot server: boot file ${SCRIPT_URL}`);
  });

  it('UEFI, a node with no image: the script exits 1 and the firmware boots the disk entry', async () => {
    // An ESP (qemu's vvfat of a directory) holding Debian's signed grub, which prints the marker.
    const esp = join(tmp.dir, 'esp');
    const cfg = `echo "${DISK_MARKER}"\nsleep 600\n`;
    for (const dir of ['EFI/BOOT', 'EFI/debian']) {
      mkdirSync(join(esp, dir), { recursive: true });
      writeFileSync(join(esp, dir, 'grub.cfg'), cfg);
    }
    copyFileSync(SIGNED_GRUB, join(esp, 'EFI/BOOT/BOOTX64.EFI'));
    const run = await boot('uefi', DHCP_MODE, { disk: `fat:${esp}` });
    await run.vm.waitFor(DISK_MARKER, 150_000);
    run.mark('disk booted');
    report('UEFI local boot', run);
    // OVMF's next entries after the PXE one are the NIC's HTTP boot ones (muster answers HTTPv4 with
    // snponly.efi, whose script exits 1 again); the disk comes after them.
    const screen = run.vm.output();
    expect(screen.indexOf('booting the local disk')).toBeGreaterThan(-1);
    expect(screen.indexOf('booting the local disk')).toBeLessThan(screen.indexOf('Welcome to GRUB'));
    expect(screen).toContain(DISK_MARKER);
  }, 240_000);

  it('UEFI with Secure Boot enforced, dhcp mode: shim → grub → the signed kernel over TFTP, with the command line of grub\'s script', async () => {
    const initrdDir = join(tmp.dir, 'sb-initrd');
    mkdirSync(initrdDir);
    const image = { kernel: join(labKernelDir(), 'vmlinuz'), initrd: cmdlineInitramfs(initrdDir), cmdline: 'console=ttyS0' };
    const run = await boot('uefi-secureboot', { ...DHCP_MODE, secureBoot: true }, { image, scriptStep: `n007: TFTP ${MAC}.grub sent` });
    const m = (await run.vm.waitFor(CMDLINE_LINE, 240_000)) as RegExpMatchArray;
    run.mark('initramfs /init');
    report('UEFI Secure Boot', run);
    // The firmware loaded shim (Microsoft-signed), shim grub (Debian-signed), grub the node's script
    // and the image's kernel and initrd, all over TFTP (grub's network image has no HTTP).
    for (const step of ['boot file shimx64.efi', 'TFTP shimx64.efi sent', 'TFTP grubx64.efi sent', 'TFTP grub.cfg sent', 'TFTP kernel sent', 'TFTP initrd sent']) {
      expect(run.steps).toContain(`n007: ${step}`);
    }
    // What shim and grub only probe for is no failure.
    expect(run.steps.filter((s) => s.includes('TFTP failed'))).toEqual([]);
    expect(run.scriptsFetched).toEqual([]);
    // grub handed over only a kernel shim's keys verify: the kernel runs with Secure Boot on, locked down.
    const screen = run.vm.output();
    expect(screen).toContain('Secure boot enabled');
    expect(screen).toContain('Kernel is locked down from EFI Secure Boot');
    // grub's script put what the agent needs on the kernel line, and the (unverified) initramfs ran.
    expect(m[1]).toContain('console=ttyS0 muster.controller=');
    expect(m[1]).toContain('BOOTIF=01-52-54-00-00-00-07');
    expect(m[1]).toContain(`muster.if=eth0:10.99.0.17/24,mac=${MAC}`);
    expect((await c!.client.request('build-status', { range: 'n007' }))[0]).toMatchObject({ state: 'building' });
  }, 360_000);
});
