/**
 * A lab VM: qemu (TCG) inside the lab network's namespace, its NIC on a tap in the bridge where
 * muster's dnsmasq answers, an empty disk, and the firmware of a real machine (firmware.ts). Its
 * serial port is a pty (for the controller's serial console driver) that qemu also copies to a
 * log file, read here to time the boot; a QMP socket serves the `qemu` power driver and lets the
 * lab freeze it. Started paused (`-S`); `boot()` lets it run.
 */
import { closeSync, existsSync, mkdirSync, openSync, readSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withQmp } from '../../controller/power/qmp.js';
import { start, type Proc } from '../helpers/proc.js';
import { until } from '../helpers/wait.js';
import { firmwareArgs, pxeNic, type Firmware } from './firmware.js';

export interface LabVmOptions {
  name: string;
  mac: string;
  firmware: Firmware;
  /** A directory of its own: QMP socket, disk, firmware variables, serial log. */
  dir: string;
  /** The namespace holding the bridge, and the tap on it the VM's NIC uses. */
  netns: string;
  tap: string;
  /** Guest memory (default 512 MiB: muster's initramfs); a Debian root in RAM needs more. */
  memoryMiB?: number;
  /** The empty disk's size (default 64 MiB); a disk build needs room for its image. */
  diskMiB?: number;
}

/**
 * A TFTP root for qemu's `-netdev user,tftp=DIR,bootfile=boot.ipxe` (VM tests without the lab
 * network): its built-in TFTP serves only this first script, which chains to the controller's HTTP
 * port (10.0.2.2 is the host's loopback).
 */
export function ipxeChainDir(dir: string, httpPort: number): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'boot.ipxe'), `#!ipxe\nchain http://10.0.2.2:${httpPort}/boot/\${net0/mac}.ipxe\n`);
  return dir;
}

/** A line the VM wrote on its serial port, and when the lab read it. */
export interface SerialLine {
  at: number;
  text: string;
}

export class LabVm {
  /** When the VM was last let run (boot or power action), for boot times. */
  bootedAt = 0;
  readonly serial: SerialLine[] = [];
  private serialOffset = 0;
  private serialPartial = '';
  private readonly serialTimer: NodeJS.Timeout;

  private constructor(
    readonly name: string,
    readonly mac: string,
    readonly firmware: Firmware,
    readonly qmpSocket: string,
    readonly pty: string,
    readonly proc: Proc,
    private readonly serialLog: string,
  ) {
    // Read often enough that a line's time says when it was written (within a quarter second).
    this.serialTimer = setInterval(() => this.readSerial(), 250);
  }

  static async start(o: LabVmOptions): Promise<LabVm> {
    const qmpSocket = join(o.dir, 'qmp.sock');
    const serialLog = join(o.dir, 'serial.log');
    const disk = join(o.dir, 'disk.img');
    // An empty disk: nothing to boot from but the network.
    writeFileSync(disk, '');
    truncateSync(disk, (o.diskMiB ?? 64) * 2 ** 20);
    writeFileSync(serialLog, '');
    const proc = start('ip', [
      'netns', 'exec', o.netns,
      'qemu-system-x86_64', '-name', o.name, '-accel', 'tcg', '-m', String(o.memoryMiB ?? 512), '-S',
      ...firmwareArgs(o.firmware, join(o.dir, 'vars.fd')),
      '-display', 'none', '-vga', 'none', '-monitor', 'none',
      '-netdev', `tap,id=n0,ifname=${o.tap},script=no,downscript=no`,
      '-device', pxeNic(o.firmware, o.mac, 'n0'),
      '-drive', `if=none,id=d0,format=raw,file=${disk}`,
      '-device', 'virtio-blk-pci,drive=d0,bootindex=2',
      '-chardev', `pty,id=s0,logfile=${serialLog}`, '-serial', 'chardev:s0',
      '-qmp', `unix:${qmpSocket},server=on,wait=off`,
    ]);
    const m = (await proc.waitFor(/char device redirected to (\/dev\/pts\/\d+)/, 20_000)) as RegExpMatchArray;
    // qemu names the pty before it opens the QMP socket.
    await until(`vm ${o.name}: its QMP socket`, () => existsSync(qmpSocket), 20_000);
    return new LabVm(o.name, o.mac, o.firmware, qmpSocket, m[1]!, proc, serialLog);
  }

  async qmp(command: string): Promise<unknown> {
    const signal = AbortSignal.timeout(10_000);
    return withQmp(this.qmpSocket, signal, (q) => q.execute(command)).catch((err: Error) => {
      throw new Error(`vm ${this.name}: QMP ${command} failed: ${err.message}`);
    });
  }

  /** Lets the paused VM run: it PXE-boots. */
  async boot(): Promise<void> {
    this.bootedAt = Date.now();
    await this.qmp('cont');
  }

  /** Freezes the VM (QMP `stop`): the guest hangs, its TCP connections stay open, so no MQTT will. */
  async freeze(): Promise<void> {
    await this.qmp('stop');
  }

  async running(): Promise<boolean> {
    const r = (await this.qmp('query-status')) as { running?: boolean };
    return r.running === true;
  }

  /** The first serial line at or after `since` that matches, or null. */
  serialLine(pattern: RegExp, since: number): SerialLine | null {
    this.readSerial();
    return this.serial.find((l) => l.at >= since && pattern.test(l.text)) ?? null;
  }

  private readSerial(): void {
    const fd = openSync(this.serialLog, 'r');
    try {
      const buf = Buffer.alloc(1 << 16);
      for (let n; (n = readSync(fd, buf, 0, buf.length, this.serialOffset)) > 0; ) {
        this.serialOffset += n;
        const lines = (this.serialPartial + buf.subarray(0, n).toString('latin1')).split(/\r?\n/);
        this.serialPartial = lines.pop()!;
        const at = Date.now();
        for (const text of lines) this.serial.push({ at, text });
      }
    } finally {
      closeSync(fd);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.serialTimer);
    await this.proc.stop('SIGKILL');
  }
}
