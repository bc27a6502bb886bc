/**
 * Issue 19, point 2: a holder of the bootstrap token stole a healthy node and got it
 * power-cycled. Replayed against a real controller: the real agent (agent/link.ts) bound to n1
 * heartbeats and holds its own secret; a rogue with the token tries to take over its session,
 * then says hello under an id of its own claiming n1's MAC, then goes silent. n1 stays bound to
 * the real agent, the claim is one `conflict` event, and no power action follows within 60 s of
 * the controller's (fast-forwarded) steady clock. The control at the end shows the watch would
 * have seen an action: once the real agent is gone, n1 is held only by the conflict, and when an
 * admin clears it the controller acts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseControllerUrl } from '../../agent/controller-url.js';
import { AgentLink } from '../../agent/link.js';
import { AgentMessages } from '../../agent/messages.js';
import { systemClock } from '../../controller/clock.js';
import { simFingerprint } from '../../controller/demo/sim-cluster.js';
import { Event, PROTOCOL_VERSION } from '../../shared/protocol.js';
import { Topics } from '../../shared/topics.js';
import { powerScript } from '../reliability/faults-cluster.js';
import { readStore } from '../reliability/lib.js';
import { until } from '../helpers/wait.js';
import { tempDir } from '../helpers/tmp.js';
import { rawConnect, startSecureController, type SecureController } from './secure-controller.js';

const topics = new Topics();
const REAL = 'mac-020000000001';
const ROGUE = 'mac-0200000000ee';
const N1_MAC = simFingerprint(1).bootMac!;
/** The controller's steady clock runs this much ahead of the system's: the test fast-forwards it. */
let ahead = 0;

/**
 * Runs the controller's clock 2.5 times as fast as real time for `ms` of its time. Its tick timer
 * waits up to 1 s of real time, 2.5 s of its own then: 1.5 s late, under the 2 s it would take
 * for a stall (which starts a grace period and would hold every action by itself).
 */
async function fastForward(ms: number): Promise<void> {
  for (let done = 0; done < ms; done += 250) {
    ahead += 150;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const tmp = tempDir('muster-takeover-');
const power = powerScript(tmp.dir);
const events: Event[] = [];
const connects: string[] = [];
let c: SecureController;
let token: string;
let real: AgentLink;

beforeAll(async () => {
  c = await startSecureController(
    {
      heartbeatIntervalS: 1,
      power: { concurrency: 20, staggerMs: 0, pollIntervalS: 0, groups: {} },
      commands: { allowedDirs: [tmp.dir] },
      policies: { grace: '2s', ladder: { backoff: '1s' }, breaker: { settle: '1s' } },
    },
    { steady: () => systemClock.steady() + ahead },
  );
  const watcher = await rawConnect(c.running.mqttUrl, { clientId: 'muster-cli-watch', username: 'admin', password: c.adminPassword });
  watcher.on('message', (_t, payload) => events.push(Event.parse(JSON.parse(payload.toString('utf8')))));
  await watcher.subscribeAsync(topics.allEvents, { qos: 1 });
  token = (await c.admin.request('token-create', {})).token;
  await c.admin.request('define', { range: 'n1', settings: [`macs=${N1_MAC}`, `power=${power.target}`] });

  // Heartbeats every 100 ms of real time: 250 ms of the fast-forwarded clock, under the 1 s interval.
  const messages = new AgentMessages({ agentId: REAL, bootId: 'a'.repeat(32), agentVersion: 'test', fingerprint: simFingerprint(1) }, { now: Date.now, uptime: () => 1 });
  real = new AgentLink({ controllers: [parseControllerUrl(c.running.mqttUrl)], messages, phase: 'run', heartbeatMs: 100, token, log: (line) => line.startsWith('connected') && connects.push(line) });
  real.start();
  await until('n1 bound to the real agent, alive', async () => (await c.admin.request('show', { node: 'n1' })).state?.liveness === 'alive');
  await until('the real agent confirmed its own secret', () => readStore(c.dataDir).agents[REAL]?.credential?.confirmedAt);
  await fastForward(3000); // past the start's grace period
}, 60_000);

afterAll(async () => {
  await real?.stop();
  await c?.stop();
  tmp.remove();
});

describe('a token holder against a healthy, bound node', () => {
  it('cannot take over its agent, cannot rebind it by MAC, and gets it no power action in 60 s', { timeout: 90_000 }, async () => {
    // 1. The takeover: same agent id, the bootstrap token.
    const takeover = await rawConnect(c.running.mqttUrl, { clientId: REAL, username: REAL, password: token }).then(
      (m) => (m.end(true), 'accepted'),
      (err: { code?: number }) => err.code,
    );
    expect(takeover, 'CONNACK of the takeover').toBe(5);

    // 2. A hello under an id of its own, claiming n1's MAC (and no UUID or serial), then silence.
    const rogue = await rawConnect(c.running.mqttUrl, {
      clientId: ROGUE,
      username: ROGUE,
      password: token,
      will: { topic: topics.agent(ROGUE, 'status'), payload: Buffer.from(JSON.stringify({ v: PROTOCOL_VERSION, bootId: 'e'.repeat(32), online: false })), qos: 1, retain: false },
    });
    const claim = { ...simFingerprint(0xee), nics: [{ ...simFingerprint(1).nics[0]! }], bootMac: N1_MAC, dmi: { ...simFingerprint(1).dmi, serial: null } };
    const hello = { v: PROTOCOL_VERSION, agentId: ROGUE, bootId: 'e'.repeat(32), agentVersion: 'rogue', phase: 'run', at: Date.now(), uptime: 1, fingerprint: claim };
    await rogue.publishAsync(topics.agent(ROGUE, 'hello'), JSON.stringify(hello), { qos: 1 });
    await until('the conflict event', () => events.some((e) => e.kind === 'conflict'));
    rogue.stream.destroy(); // silent: the broker sends its will

    await fastForward(60_000);
    const n1 = await c.admin.request('show', { node: 'n1' });
    expect(n1.agentId, 'n1 stays bound to the real agent').toBe(REAL);
    expect(n1.state?.liveness).toBe('alive');
    expect(connects, 'the real agent kept its one connection').toHaveLength(1);
    expect(events.filter((e) => e.kind === 'conflict')).toMatchObject([{ node: 'n1', agentId: ROGUE }]);
    expect(events.filter((e) => e.kind === 'action'), 'automatic actions').toEqual([]);
    expect(events.filter((e) => e.kind === 'policy' && e.details.state === 'grace'), 'grace periods (a stall would hold actions by itself)').toEqual([]);
    expect(power.calls(), 'power actions').toEqual([]);
    expect(n1.conflict?.reason).toMatch(/bound to live agent mac-020000000001/);
  });

  it('control: with the real agent gone n1 is held by the conflict alone, and acted on once an admin clears it', { timeout: 90_000 }, async () => {
    await real.stop();
    await fastForward(20_000);
    expect((await c.admin.request('show', { node: 'n1' })).state?.liveness).toBe('dead');
    expect(power.calls(), 'power actions while the conflict holds n1').toEqual([]);
    await c.admin.request('conflict-clear', { node: 'n1' });
    await fastForward(20_000);
    expect(power.calls().length, 'power actions once cleared').toBeGreaterThan(0);
  });
});
