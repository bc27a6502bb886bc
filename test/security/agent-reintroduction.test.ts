/**
 * Issue 19, point 2, its last gap: the bootstrap token alone may only introduce a *new* agent id.
 * A holder of the token connected as a known node's agent id whenever that agent was not
 * connected. Now the token brings a node's agent back only within `auth.reintroduceWindow` after
 * muster saw the node boot. Replayed against a real controller with a real agent (agent/link.ts)
 * bound to n1 that confirmed its own secret and went away: the rogue is refused; after a power
 * cycle muster runs on n1 the machine's re-introduction (a diskless reboot: no secret, the token)
 * is accepted, once; after the window the token is refused again; and the secret the
 * re-introduction replaced, presented again, is a second claimant: a conflict that holds n1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseControllerUrl } from '../../agent/controller-url.js';
import { AgentLink, secretHash } from '../../agent/link.js';
import { AgentMessages } from '../../agent/messages.js';
import { simFingerprint } from '../../controller/demo/sim-cluster.js';
import { Event } from '../../shared/protocol.js';
import { Topics } from '../../shared/topics.js';
import { powerScript } from '../reliability/faults-cluster.js';
import { readStore } from '../reliability/lib.js';
import { until } from '../helpers/wait.js';
import { tempDir } from '../helpers/tmp.js';
import { rawConnect, startSecureController, type SecureController } from './secure-controller.js';

const topics = new Topics();
const AGENT = 'mac-020000000001';
const N1_MAC = simFingerprint(1).bootMac!;
const WINDOW_MS = 60_000;
/** The controller's wall clock runs this much ahead of the system's: the test moves it past the window. */
let ahead = 0;

const tmp = tempDir('muster-reintroduce-');
const power = powerScript(tmp.dir);
const events: Event[] = [];
/** Why the controller refused each agent connect, in order. */
const refusals: string[] = [];
let c: SecureController;
let token: string;

/** The node's machine booting muster's diskless image: a new boot, no secret, the token. */
function boot(bootId: string, secrets: string[]): AgentLink {
  const messages = new AgentMessages({ agentId: AGENT, bootId: bootId.repeat(32), agentVersion: 'test', fingerprint: simFingerprint(1) }, { now: Date.now, uptime: () => 1 });
  const link = new AgentLink({ controllers: [parseControllerUrl(c.running.mqttUrl)], messages, phase: 'run', heartbeatMs: 500, token, onSecret: (s) => secrets.push(s), log: () => undefined });
  link.start();
  return link;
}

/** A connect as the agent with `password`: the CONNACK code (0: accepted, then closed). */
async function connectAs(password: string): Promise<number> {
  return rawConnect(c.running.mqttUrl, { clientId: AGENT, username: AGENT, password }).then(
    (m) => (m.end(true), 0),
    (err: { code?: number }) => err.code ?? -1,
  );
}

const credential = () => readStore(c.dataDir).agents[AGENT]?.credential;
const sessionGone = () => until('the agent disconnected', () => !c.running.broker!.principalOf(AGENT));

beforeAll(async () => {
  c = await startSecureController(
    {
      heartbeatIntervalS: 1,
      // No automatic action: the only power action is the test's own.
      dryRun: true,
      power: { concurrency: 20, staggerMs: 0, pollIntervalS: 0, groups: {} },
      commands: { allowedDirs: [tmp.dir] },
      auth: { reintroduceWindow: `${WINDOW_MS / 1000}s` },
    },
    { now: () => Date.now() + ahead },
  );
  c.running.ctx.events.owner('test').on('agent:claim-refused', ({ reason }) => refusals.push(reason));
  const watcher = await rawConnect(c.running.mqttUrl, { clientId: 'muster-cli-watch', username: 'admin', password: c.adminPassword });
  watcher.on('message', (_t, payload) => events.push(Event.parse(JSON.parse(payload.toString('utf8')))));
  await watcher.subscribeAsync(topics.allEvents, { qos: 1 });
  token = (await c.admin.request('token-create', {})).token;
  await c.admin.request('define', { range: 'n1', settings: [`macs=${N1_MAC}`, `power=${power.target}`] });
}, 60_000);

afterAll(async () => {
  await c?.stop();
  tmp.remove();
});

describe("the bootstrap token against a known node's agent id", () => {
  const firstSecrets: string[] = [];
  const secondSecrets: string[] = [];

  it('a rogue with the token cannot connect as the agent of n1 while n1 is down and muster saw no boot of it', { timeout: 60_000 }, async () => {
    const first = boot('a', firstSecrets);
    await until('the agent bound to n1 stored its own secret', () => credential()?.confirmedAt);
    expect((await c.admin.request('show', { node: 'n1' })).agentId).toBe(AGENT);
    await first.stop();
    await sessionGone();

    expect(await connectAs(token), 'CONNACK of the rogue').toBe(5);
    expect(refusals.at(-1)).toMatch(/^agent mac-020000000001: token re-introduction refused: no boot of n1 seen by muster in the last 1 min; power-cycle it through muster/);
    const conflict = await until('the conflict event naming the agent', () => events.find((e) => e.kind === 'conflict' && e.agentId === AGENT));
    expect(conflict).toMatchObject({ node: 'n1', details: { held: false } });
    expect(conflict.message).toMatch(/no boot of n1 seen by muster/);
    // Only an event: the node's automatic correction (a power cycle through muster) still brings it back.
    expect((await c.admin.request('show', { node: 'n1' })).conflict).toBeNull();
  });

  it('after a power cycle muster ran on n1, its machine comes back with the token and a new secret, once', { timeout: 60_000 }, async () => {
    await c.admin.request('power', { action: 'cycle', range: 'n1' });
    expect(power.calls()).toEqual([expect.stringMatching(/^cycle /)]);
    const second = boot('b', secondSecrets);
    await until('the re-introduced agent stored a new secret', () => secondSecrets.length === 1 && credential()?.confirmedAt && credential()!.hash === secretHash(secondSecrets[0]!));
    expect(credential()!.previousHash, 'the replaced secret is kept').toBe(secretHash(firstSecrets[0]!));
    expect((await c.admin.request('show', { node: 'n1' })).agentId).toBe(AGENT);
    await second.stop();
    await sessionGone();

    // The boot is used up: a second token claimant within the window is refused too.
    expect(await connectAs(token)).toBe(5);
    expect(refusals.at(-1)).toMatch(/n1 already came back after its last boot seen by muster \(power cycle \(admin admin\)\)/);
    // The machine's own secret still works.
    expect(await connectAs(`${secondSecrets[0]} ${token}`)).toBe(0);
  });

  it('after the window the token is refused again, until an admin who checked the machine clears the refusal', { timeout: 60_000 }, async () => {
    await sessionGone();
    ahead += WINDOW_MS + 1000;
    expect(await connectAs(token)).toBe(5);
    expect(refusals.at(-1)).toMatch(/no boot of n1 seen by muster in the last 1 min \(the last: power cycle \(admin admin\), 1 min \d+ s ago\)/);

    // `muster conflict clear` decides the refusal the node's admins were told of (the first since the boot).
    const { cleared } = await c.admin.request('conflict-clear', { node: 'n1' });
    expect(cleared).toMatchObject({ agentId: AGENT, reason: expect.stringMatching(/n1 already came back after its last boot/) });
    expect(await connectAs(token)).toBe(0);
    await expect(c.admin.request('conflict-clear', { node: 'n1' })).rejects.toThrow('node n1 has no identity conflict and no refused re-introduction of its agent');
  });

  it('the secret the re-introduction replaced, presented again, is a second claimant: refused, and n1 held as a conflict', { timeout: 60_000 }, async () => {
    expect(await connectAs(`${firstSecrets[0]} ${token}`)).toBe(5);
    const n1 = await until('n1 in conflict', async () => {
      const s = await c.admin.request('show', { node: 'n1' });
      return s.conflict ? s : null;
    });
    expect(n1.conflict).toMatchObject({ agentId: AGENT, reason: expect.stringMatching(/two machines claim to be agent mac-020000000001 of n1/) });
    expect(events.filter((e) => e.kind === 'conflict' && e.details.held === true)).toMatchObject([{ node: 'n1', agentId: AGENT }]);
    expect(power.calls(), "only the test's own power action").toHaveLength(1);

    // An admin decides: the conflict is cleared, and the machine may come back with the token.
    await c.admin.request('conflict-clear', { node: 'n1' });
    expect(await connectAs(token)).toBe(0);
  });
});
