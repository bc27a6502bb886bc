/**
 * The `disk` build system's VM scenarios share this: a controller in this process serving the
 * image cache (MUSTER_TEST_IMAGE_DIR, default /var/cache/muster-test/images, the same as
 * os-image.test.ts), the image `deb` built (or taken from the cache), a node defined, configured
 * and prepared, the node's own reports (hellos) and its installer's progress collected, and a qemu
 * VM (TCG, qemu's user network whose TFTP serves one script chaining to the controller) with
 * empty disks. The VM's serial lines are kept with the time they arrived, to time its phases.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { Hello } from '../../shared/protocol.js';
import { ensureBuilt } from '../helpers/bundle.js';
import { requireBuild } from '../helpers/controller.js';
import { startInProc, type InProc } from '../helpers/inproc.js';
import { freePort } from '../helpers/ports.js';
import { start, type Proc } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';
import { firmwareArgs, type Firmware } from '../lab/firmware.js';
import { ipxeChainDir } from '../lab/vm.js';

const TEST_IMAGE_DIR = process.env.MUSTER_TEST_IMAGE_DIR ?? '/var/cache/muster-test/images';
export const FIRST_BUILD_MS = 30 * 60_000;
/** Install (a 170 MB gzip'd disk through qemu's user network) and two boots under TCG on a loaded 2-core machine. */
export const INSTALL_MS = 20 * 60_000;
export const DISK_BYTES = 4 * 2 ** 30;

const buildDebImage = (c: InProc) => c.client.request('image-build', { name: 'deb', suite: 'bookworm', packages: [] }, FIRST_BUILD_MS);
type ImageBuilt = Awaited<ReturnType<typeof buildDebImage>>;

export interface DiskLab {
  c: InProc;
  httpPort: number;
  dir: string;
  stop(): Promise<void>;
}

export async function startDiskLab(): Promise<DiskLab> {
  ensureBuilt('agent');
  requireBuild();
  const mqttPort = await freePort();
  const httpPort = await freePort();
  const tmp = tempDir('muster-disk-vm-');
  const c = await startInProc({ mqttPort, httpPort, advertiseUrl: `mqtt://10.0.2.2:${mqttPort}`, build: { imageDir: TEST_IMAGE_DIR, default: 'disk' } } as never);
  return {
    c,
    httpPort,
    dir: tmp.dir,
    async stop() {
      await c.stop();
      tmp.remove();
    },
  };
}

/** The lab of this test file: started before its tests, stopped (with the VM, once one runs) after them. */
export function useDiskLab(): { lab: DiskLab; vm?: DiskVm } {
  const holder = {} as { lab: DiskLab; vm?: DiskVm };
  beforeAll(async () => {
    holder.lab = await startDiskLab();
  }, 120_000);
  afterAll(async () => {
    await holder.vm?.proc.stop('SIGKILL');
    await holder.lab?.stop();
  }, 120_000);
  return holder;
}

export interface PreparedDiskNode {
  built: ImageBuilt;
  /** Every hello of the node's agents: the installer's, the disk's initramfs's, the installed system's. */
  hellos: Hello[];
  /** The installer's progress, as the controller publishes it. */
  progress: string[];
  state(): Promise<string | undefined>;
  build(): Promise<{ state: string; detail?: string | null }>;
}

/** Builds (or finds) the image `deb`, defines `node` with its MAC, sets `settings` and prepares its build. */
export async function prepareDiskNode(lab: DiskLab, node: string, mac: string, settings: string[]): Promise<PreparedDiskNode> {
  const { c } = lab;
  const built = await buildDebImage(c);
  console.log(`image ${built.manifest.key}: ${built.cached ? 'cached' : `built in ${built.manifest.buildMs} ms`}; disk ${built.manifest.disk.sizeBytes} B gzip'd`);
  await c.client.request('define', { range: node, settings: [`mac=${mac}`] });
  await c.client.request('set', { range: node, settings: ['image=deb', ...settings] });
  const prepared = await c.client.request('build', { range: node });
  if (JSON.stringify(prepared.results) !== JSON.stringify([{ node, ok: true, system: 'disk' }])) throw new Error(`build ${node}: ${JSON.stringify(prepared.results)}`);
  const hellos: Hello[] = [];
  await c.client.stream([`${c.client.topics.prefix}/agents/+/hello`], (_t, payload) => hellos.push(JSON.parse(payload.toString()) as Hello));
  const progress: string[] = [];
  await c.client.stream([`${c.client.topics.prefix}/events/build`], (_t, payload) => {
    const e = JSON.parse(payload.toString()) as { details?: { progress?: string } };
    if (e.details?.progress) progress.push(e.details.progress);
  });
  return {
    built,
    hellos,
    progress,
    state: async () => (await c.client.request('show', { node })).state?.phase,
    build: async () => (await c.client.request('build-status', { range: node }))[0]!,
  };
}

export interface VmNic {
  mac: string;
  /** The NIC the firmware boots from (the others get no boot ROM). */
  boots: boolean;
}

export interface VmDisk {
  name: string;
  serial: string;
  /** The disk the firmware tries after the network (UEFI: its boot entries are kept in BootOrder). */
  bootable: boolean;
}

/** A serial line and when the test read it. */
export interface SerialLine {
  at: number;
  text: string;
}

export interface DiskVm {
  proc: Proc;
  startedAt: number;
  serial: SerialLine[];
  /** The first serial line at or after `since` matching `pattern`, waited for. */
  line(pattern: RegExp, since: number, timeoutMs: number): Promise<SerialLine>;
  /** Serial lines at or after `since` that match. */
  linesSince(pattern: RegExp, since: number): SerialLine[];
}

/**
 * A qemu VM (TCG, 2 GiB) with empty disks of DISK_BYTES under `lab.dir` and a virtio NIC per
 * `nics`, each on a user network of its own. BIOS: SeaBIOS boots the network first (`-boot n`,
 * qemu's iPXE ROM). UEFI: OVMF boots the booting NIC first (qemu's iPXE EFI ROM, bootindex 1), then
 * the bootable disk (bootindex 2).
 */
export function startDiskVm(lab: DiskLab, firmware: Firmware, nics: VmNic[], disks: VmDisk[]): DiskVm {
  const tftp = ipxeChainDir(join(lab.dir, 'tftp'), lab.httpPort);
  const uefi = firmware !== 'bios';
  const nicArgs = nics.flatMap((n, i) => [
    '-netdev', `user,id=n${i}${n.boots ? `,tftp=${tftp},bootfile=boot.ipxe` : ''}`,
    '-device', `virtio-net-pci,netdev=n${i},mac=${n.mac}${n.boots ? (uefi ? ',bootindex=1' : '') : ',romfile='}`,
  ]);
  const diskArgs = disks.flatMap((d) => {
    const file = join(lab.dir, `${d.name}.raw`);
    writeFileSync(file, '');
    truncateSync(file, DISK_BYTES);
    return ['-drive', `file=${file},if=none,id=${d.name},format=raw`, '-device', `virtio-blk-pci,drive=${d.name},serial=${d.serial}${uefi && d.bootable ? ',bootindex=2' : ''}`];
  });
  const startedAt = Date.now();
  const proc = start('qemu-system-x86_64', [
    '-accel', 'tcg', '-m', '2048', '-display', 'none', '-serial', 'stdio', '-monitor', 'none',
    ...(uefi ? firmwareArgs(firmware, join(lab.dir, 'vars.fd')) : ['-boot', 'n']),
    ...nicArgs,
    ...diskArgs,
  ]);
  const serial: SerialLine[] = [];
  let partial = '';
  proc.child.stdout!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString('latin1')).split(/\r?\n/);
    partial = lines.pop()!;
    const at = Date.now();
    for (const text of lines) serial.push({ at, text });
  });
  const linesSince = (pattern: RegExp, since: number) => serial.filter((l) => l.at >= since && pattern.test(l.text));
  return {
    proc,
    startedAt,
    serial,
    linesSince,
    line: (pattern, since, timeoutMs) => until(`serial line ${pattern}`, () => linesSince(pattern, since)[0], timeoutMs, 250),
  };
}

/** Marks on the way from power-on to `run`, in ms since power-on; printed as seconds per phase. */
export class PhaseClock {
  /** null: the mark's line was not seen (its phase is summed into the next one). */
  readonly at: Array<[string, number | null]> = [];
  constructor(private readonly startedAt: number) {}

  /** Marks `name` at `at` (default now); returns `at`. */
  mark(name: string, at: number | undefined = Date.now()): number {
    this.at.push([name, at === undefined ? null : at - this.startedAt]);
    return at ?? Date.now();
  }

  /** `dhcp 9.1 s, loader 3.2 s, …; total 301.0 s`: each mark's distance from the one before. */
  summary(): string {
    let before = 0;
    const parts = this.at.map(([name, ms]) => {
      if (ms === null) return `${name} ?`;
      const s = `${name} ${((ms - before) / 1000).toFixed(1)} s`;
      before = ms;
      return s;
    });
    return `${parts.join(', ')}; total ${(before / 1000).toFixed(1)} s`;
  }
}

/** The size of the ext4 filesystem in partition 2 of a disk file, from its superblock (read by the test, not the node). */
export function rootFsBytes(diskFile: string): number {
  const table = JSON.parse(execFileSync('sfdisk', ['-J', diskFile], { encoding: 'utf8' })) as { partitiontable: { sectorsize?: number; partitions: Array<{ start: number }> } };
  const root = table.partitiontable.partitions[1];
  if (!root) throw new Error(`${diskFile} has no partition 2`);
  const superblock = Buffer.alloc(1024);
  const fd = openSync(diskFile, 'r');
  try {
    readSync(fd, superblock, 0, 1024, root.start * (table.partitiontable.sectorsize ?? 512) + 1024);
  } finally {
    closeSync(fd);
  }
  if (superblock.readUInt16LE(0x38) !== 0xef53) throw new Error(`${diskFile}: partition 2 holds no ext4 superblock`);
  const blocks = superblock.readUInt32LE(0x150) * 2 ** 32 + superblock.readUInt32LE(4);
  return blocks * (1024 << superblock.readUInt32LE(24));
}

/** The size of the gzip'd image unpacked (gzip's trailer: the length modulo 4 GiB). */
export function gunzippedBytes(gzFile: string): number {
  const trailer = Buffer.alloc(4);
  const fd = openSync(gzFile, 'r');
  try {
    readSync(fd, trailer, 0, 4, statSync(gzFile).size - 4);
  } finally {
    closeSync(fd);
  }
  return trailer.readUInt32LE(0);
}
