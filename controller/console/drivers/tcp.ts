import net from 'node:net';
import type { ConsoleDriver, ConsoleKind, ConsoleSink } from '../driver.js';
import { parseUrl, unbracket } from '../target.js';

export interface TcpTarget {
  kind: 'tcp';
  host: string;
  port: number;
}

/** `tcp://host:port` */
export const tcpConsole: ConsoleKind<TcpTarget> = {
  kind: 'tcp',
  syntax: 'tcp://HOST:PORT',
  claims: (target) => target.startsWith('tcp:'),
  parse(target) {
    const url = parseUrl(target);
    if (!url || !url.hostname || !url.port || (url.pathname !== '' && url.pathname !== '/')) throw new Error(`expected ${tcpConsole.syntax}`);
    return { kind: 'tcp', host: unbracket(url.hostname), port: Number(url.port) };
  },
  create: (t) => new TcpConsole(t.host, t.port),
};

/** A raw TCP console: terminal servers, ser2net, qemu `-serial tcp:`/socket chardevs. */
export class TcpConsole implements ConsoleDriver {
  readonly target: string;
  private socket: net.Socket | null = null;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly connectTimeoutMs = 10_000,
  ) {
    this.target = `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  async open(sink: ConsoleSink): Promise<void> {
    await this.close();
    const socket = net.connect({ host: this.host, port: this.port });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`cannot connect to ${this.target}: ${err.message}`));
      });
    });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    this.socket = socket;
    let lastError = '';
    socket.on('data', (chunk) => sink.data(chunk));
    socket.on('error', (err) => (lastError = err.message));
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = null;
      sink.closed(lastError ? `${this.target}: ${lastError}` : `${this.target} closed the connection`);
    });
  }

  async write(data: Buffer): Promise<void> {
    const socket = this.socket;
    if (!socket) throw new Error(`${this.target} is not connected`);
    await new Promise<void>((resolve, reject) => socket.write(data, (err) => (err ? reject(new Error(`write to ${this.target} failed: ${err.message}`)) : resolve())));
  }

  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = null;
    if (!socket || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.destroy();
    });
  }
}
