/** `--demo N` under the default (secure) settings: the simulated agents use the controller's internal token. */
import { afterAll, expect, it } from 'vitest';
import { startSecureController, type SecureController } from './secure-controller.js';

let c: SecureController | undefined;
afterAll(async () => c?.stop());

it('lets the demo agents in with the internal token, while anonymous agents stay refused', async () => {
  c = await startSecureController({ demo: 2, heartbeatIntervalS: 1 });
  expect(c.running.ctx.config.auth.anonymousAgents).toBe(false);
  const end = Date.now() + 10_000;
  let rows: Array<{ node: string; liveness: string; agentId: string | null }> = [];
  while (Date.now() < end) {
    rows = await c.admin.request('nodes', { range: 'demo[01-02]' });
    if (rows.every((r) => r.agentId !== null && r.liveness === 'alive')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(rows.map((r) => [r.node, r.liveness, r.agentId !== null])).toEqual([
    ['demo01', 'alive', true],
    ['demo02', 'alive', true],
  ]);
});
