import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import type { SerialPort } from 'serialport';
import { reasonOf, type ConsoleDriver, type ConsoleKind, type ConsoleSink } from '../driver.js';
import { controllingProcesses, describeUsers, ttyHolders } from '../tty-users.js';

const DEFAULT_BAUD = 115200;

export interface SerialTarget {
  kind: 'serial';
  path: string;
  baudRate: number;
}

/** `serial:/dev/ttyS0@115200` (baud optional). */
export const serialConsole: ConsoleKind<SerialTarget> = {
  kind: 'serial',
  syntax: 'serial:/dev/NAME[@BAUD]',
  claims: (target) => target.startsWith('serial:'),
  parse(target) {
    const m = /^serial:(\/[^@]+)(?:@(\d+))?$/.exec(target);
    if (!m) throw new Error(`expected ${serialConsole.syntax}`);
    const baudRate = m[2] === undefined ? DEFAULT_BAUD : Number(m[2]);
    if (baudRate < 50 || baudRate > 4_000_000) throw new Error(`baud rate ${baudRate} is out of range 50-4000000`);
    return { kind: 'serial', path: m[1]!, baudRate };
  },
  create: (t) => new SerialConsole(t.path, t.baudRate),
};

/**
 * A local serial device (or pty) through `serialport`, which reads without blocking libuv's
 * threadpool. Opened exclusively: a tty that is some process's controlling terminal is refused;
 * `serialport` takes a flock (refusing another muster, or anything else that locks); and the tty
 * is made exclusive (TIOCEXCL), so the kernel refuses any later open by a process without
 * CAP_SYS_ADMIN (`cat`, `socat`, `screen`; root still gets in). The exclusive mode is cleared
 * before closing: it outlives the close on a pty whose other end stays open.
 */
export class SerialConsole implements ConsoleDriver {
  readonly target: string;
  private port: SerialPort | null = null;

  constructor(
    private readonly path: string,
    private readonly baudRate: number,
  ) {
    this.target = `serial:${path}@${baudRate}`;
  }

  async open(sink: ConsoleSink): Promise<void> {
    await this.close();
    const cannot = (why: string) => new Error(`cannot open ${this.path}: ${why}`);
    const file = await stat(this.path).catch((err: Error) => {
      throw cannot(err.message);
    });
    if (file.isCharacterDevice()) {
      const users = await controllingProcesses(file.rdev);
      if (users.length > 0) throw cannot(`it is the controlling terminal of ${describeUsers(users)}; muster does not take a terminal in use`);
    }
    // Loaded on first use: a controller without serial consoles never pays for serialport's bindings.
    const { SerialPort } = await import('serialport');
    const port = new SerialPort({ path: this.path, baudRate: this.baudRate, autoOpen: false, lock: true });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve()))).catch(async (err: Error) => {
      // EBUSY: another holder made it exclusive; "Cannot lock port": another holds its flock.
      if (!/Cannot lock port|resource busy|EBUSY/i.test(err.message)) throw cannot(err.message);
      const holders = await ttyHolders(this.path, file).catch(() => []);
      throw cannot(holders.length > 0 ? `in use by ${describeUsers(holders)}` : `in use by another program (${err.message})`);
    });
    await setExclusive(port, true).catch(async (err: Error) => {
      await new Promise<void>((resolve) => port.close(() => resolve()));
      throw cannot(`cannot make it exclusive (TIOCEXCL): ${err.message}`);
    });
    this.port = port;
    let lastError = '';
    port.on('data', (chunk: Buffer) => sink.data(chunk));
    // A vanished device shows as a read error (EIO) followed by close; report it once, on close.
    port.on('error', (err) => (lastError = err.message));
    port.on('close', () => {
      if (this.port !== port) return;
      this.port = null;
      sink.closed(lastError ? `${this.path}: ${lastError}` : `${this.path} closed`);
    });
  }

  async write(data: Buffer): Promise<void> {
    const port = this.port;
    if (!port) throw new Error(`${this.path} is not open`);
    await new Promise<void>((resolve, reject) =>
      port.write(data, (err) => (err ? reject(new Error(`write to ${this.path} failed: ${reasonOf(err)}`)) : resolve())),
    );
  }

  async close(): Promise<void> {
    const port = this.port;
    this.port = null;
    if (!port?.isOpen) return;
    // A device that vanished cannot be told; it is being closed all the same.
    await setExclusive(port, false).catch(() => undefined);
    await new Promise<void>((resolve) => port.close(() => resolve()));
  }
}

/** TIOCEXCL and TIOCNXCL (asm-generic/ioctls.h: x86, arm, arm64, riscv, s390). */
const EXCLUSIVE_IOCTL = { on: 0x540c, off: 0x540d };

/**
 * Sets or clears the tty's exclusive mode. Node cannot call ioctl(2), so perl (perl-base: in every
 * Debian system) does it on the port's own descriptor, handed over: opening the tty
 * again would be refused once it is exclusive.
 */
async function setExclusive(port: SerialPort, on: boolean): Promise<void> {
  const fd = (port.port as unknown as { fd: number | null } | undefined)?.fd;
  if (typeof fd !== 'number') throw new Error('the port has no descriptor');
  const request = on ? EXCLUSIVE_IOCTL.on : EXCLUSIVE_IOCTL.off;
  // As fd 3, not stdin: libuv makes a child's stdin blocking, and that flag belongs to the open
  // file, shared with ours: serialport's reads would then block a threadpool thread.
  const script = `open(my $tty, q{+<&=3}) or die qq{$!\\n}; ioctl($tty, ${request}, 0) or die qq{$!\\n}`;
  const child = spawn('perl', ['-e', script], { stdio: ['ignore', 'ignore', 'pipe', fd] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`cannot run perl for the ioctl: ${err.message}`)));
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(stderr.trim() || `perl exit ${code}`);
}
