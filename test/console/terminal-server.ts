/**
 * A TCP server playing the node's side of a console: a terminal server port for tcp://, the
 * "UART" ipmi_sim bridges SOL to. The latest connection is the live one.
 */
import net from 'node:net';
import { until } from '../helpers/wait.js';

export interface TerminalServer {
  port: number;
  /** Writes `text` to the live connection (waiting for one); resolves to `text`. */
  say(text: string): Promise<string>;
  /** Everything received on any connection. */
  heard(): string;
  /** Hangs up the live connection. */
  drop(): Promise<void>;
  close(): Promise<void>;
}

export async function terminalServer(): Promise<TerminalServer> {
  let peer: net.Socket | null = null;
  let heard = '';
  const server = net.createServer((s) => {
    peer = s;
    s.on('data', (d) => (heard += d.toString()));
    s.on('error', () => undefined);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const live = () => until('a console connection', () => (peer && !peer.destroyed ? peer : null), 10_000);
  return {
    port: (server.address() as net.AddressInfo).port,
    async say(text: string) {
      (await live()).write(text);
      return text;
    },
    heard: () => heard,
    async drop() {
      peer?.destroy();
    },
    close() {
      peer?.destroy();
      return new Promise<void>((res) => server.close(() => res()));
    },
  };
}
