/**
 * A lab VM: qemu (TCG) that PXE-boots through iPXE from the controller's HTTP port, with its
 * serial port on a pty (for the controller's serial console driver) and a QMP socket (for the
 * `qemu` power driver, and for the lab to freeze it). Started paused (`-S`) so the console can be
 * attached before the first byte; `boot()` lets it run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withQmp } from '../../controller/power/qmp.js';
import { start, type Proc } from '../helpers/proc.js';

export interface LabVmOptions {
  name: string;
  mac: string;
  /** A directory of its own: TFTP root, QMP socket. */
  dir: string;
  /** The controller's HTTP port on the host (the guest reaches it at 10.0.2.2). */
  httpPort: number;
  memoryMb?: number;
}

/**
 * A TFTP root for qemu's `-netdev user,tftp=DIR,bootfile=boot.ipxe`: its built-in TFTP serves only
 * this first script, which chains to the controller's HTTP port (10.0.2.2 is the host's loopback).
 */
export function ipxeChainDir(dir: string, httpPort: number): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'boot.ipxe'), `#!ipxe\nchain http://10.0.2.2:${httpPort}/boot/\${net0/mac}.ipxe\n`);
  return dir;
}

export class LabVm {
  /** When the VM was last let run (boot or power action), for boot times. */
  bootedAt = 0;

  private constructor(
    readonly name: string,
    readonly mac: string,
    readonly qmpSocket: string,
    readonly pty: string,
    readonly proc: Proc,
  ) {}

  static async start(o: LabVmOptions): Promise<LabVm> {
    const tftp = ipxeChainDir(join(o.dir, 'tftp'), o.httpPort);
    const qmpSocket = join(o.dir, 'qmp.sock');
    const proc = start('qemu-system-x86_64', [
      '-name', o.name, '-accel', 'tcg', '-m', String(o.memoryMb ?? 512), '-S',
      '-display', 'none', '-vga', 'none', '-monitor', 'none', '-boot', 'n',
      '-netdev', `user,id=n0,tftp=${tftp},bootfile=boot.ipxe`,
      '-device', `virtio-net-pci,netdev=n0,mac=${o.mac}`,
      '-serial', 'pty',
      '-qmp', `unix:${qmpSocket},server=on,wait=off`,
    ]);
    const m = (await proc.waitFor(/char device redirected to (\/dev\/pts\/\d+)/, 20_000)) as RegExpMatchArray;
    return new LabVm(o.name, o.mac, qmpSocket, m[1]!, proc);
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

  async stop(): Promise<void> {
    await this.proc.stop('SIGKILL');
  }
}
