import type { SerialPort } from 'serialport';
import { reasonOf, type ConsoleDriver, type ConsoleKind, type ConsoleSink } from '../driver.js';

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

/** A local serial device (or pty) through `serialport`, which reads without blocking libuv's threadpool. */
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
    // Loaded on first use: a controller without serial consoles never pays for serialport's bindings.
    const { SerialPort } = await import('serialport');
    const port = new SerialPort({ path: this.path, baudRate: this.baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(new Error(`cannot open ${this.path}: ${err.message}`)) : resolve())));
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
    await new Promise<void>((resolve) => port.close(() => resolve()));
  }
}
