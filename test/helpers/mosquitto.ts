import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { start, type Proc } from './proc.js';

/**
 * A real Mosquitto 2 broker on a loopback port (a free one unless given), anonymous, for tests;
 * with `websockets`, also MQTT over WebSocket on another free port (`wsUrl`), as a dashboard reaches it.
 */
export async function startMosquitto(onPort?: number, opts: { websockets?: boolean } = {}): Promise<{ url: string; port: number; wsUrl: string | null; proc: Proc }> {
  const port = onPort ?? (await freePort());
  const wsPort = opts.websockets ? await freePort() : null;
  const dir = mkdtempSync(join(tmpdir(), 'muster-mosq-'));
  const conf = join(dir, 'mosquitto.conf');
  const ws = wsPort === null ? [] : [`listener ${wsPort} 127.0.0.1`, 'protocol websockets'];
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, ...ws, 'allow_anonymous true', 'persistence false', 'set_tcp_nodelay true', 'log_type error', 'log_type warning', 'log_type notice', 'log_type information', 'log_dest stderr', ''].join('\n'));
  const proc = start('mosquitto', ['-c', conf]);
  await proc.waitFor(/mosquitto version [\d.]+ running/, 10_000);
  return { url: `mqtt://127.0.0.1:${port}`, port, wsUrl: wsPort === null ? null : `ws://127.0.0.1:${wsPort}`, proc };
}
