/**
 * The CLI's connection timeout (issue 26, point 5c). Found: connecting waited a fixed 5 s for the
 * controller's CONNACK whatever `--timeout` said: `--timeout 1` still hung 5 s, and `--timeout 60`
 * gave up after 5 s on a controller busy starting. Rule: every wait for the controller follows
 * --timeout, the connection as each request. The "controller" here accepts TCP and never answers.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ControllerClient } from '../../cli/client.js';
import { runCli } from '../helpers/controller.js';

let server: Server;
let url = '';
const sockets = new Set<Socket>();
let connected: () => void = () => {};

beforeAll(async () => {
  server = createServer((s) => {
    sockets.add(s);
    s.once('data', () => connected());
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});

describe('connecting to a controller that does not answer', () => {
  it('gives up after --timeout, saying so', async () => {
    const r = await runCli(url, ['--timeout', '1', 'nodes'], { allowFail: true });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`muster: no answer from the controller at ${url} within 1 s (--timeout)`);
  });

  it('waits as long as the timeout says, past 5 s (fake clock)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const sent = new Promise<void>((resolve) => (connected = resolve));
      let outcome: string | null = null;
      const attempt = ControllerClient.connect({ url, timeoutMs: 10_000 }).then(
        () => (outcome = 'connected'),
        (err: Error) => (outcome = err.message),
      );
      await sent; // the CONNECT packet reached the server
      await vi.advanceTimersByTimeAsync(9_000);
      expect(outcome).toBeNull();
      await vi.advanceTimersByTimeAsync(1_500);
      await attempt;
      expect(outcome).toBe(`no answer from the controller at ${url} within 10 s (--timeout)`);
    } finally {
      vi.useRealTimers();
    }
  });
});
