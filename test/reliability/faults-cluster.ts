/**
 * A simulated cluster for the fault tests (issue 9, item 7): nodes n001… defined from a CSV node
 * table whose MACs are the swarm agents' (bench/soak-swarm.ts, simFingerprint numbering), a
 * `command:` power script that appends every call to a file, short policy timings, and readers
 * for what the controller did: the journal, `muster nodes`, and the event stream.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { simFingerprint } from '../../controller/demo/sim-cluster.js';
import type { NodeStateJson } from '../../shared/cli-output.js';
import { Event, Transition } from '../../shared/protocol.js';
import { Topics } from '../../shared/topics.js';
import { Swarm } from '../../bench/soak-swarm-client.js';
import { expectCliJson } from '../helpers/cli-json.js';
import type { ControllerProc } from '../helpers/controller.js';
import { until } from './lib.js';

/** Agents heartbeat this often; the controller is told the same. */
export const HEARTBEAT_S = 1;
export const GRACE_S = 5;
/** A lone silent node is acted on after this: short, so a false `dead` would show as an action. */
export const SETTLE_S = 3;
export const BREAKER_WINDOW_S = 10;

export const nodeName = (i: number) => `n${String(i).padStart(3, '0')}`;

/**
 * Controller config: 1 s heartbeats, `graceS` grace (GRACE_S), no power polling (every script call
 * is an action), command: scripts from `dir`; `extra` lines appended (a store, brokers,
 * federation), in `name`.
 */
export function writeFaultConfig(dir: string, extra: readonly string[] = [], name = 'muster.yaml', graceS = GRACE_S): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    [
      `heartbeatIntervalS: ${HEARTBEAT_S}`,
      'power:',
      '  pollIntervalS: 0',
      'policies:',
      `  grace: ${graceS}s`,
      '  ladder:',
      '    backoff: 1s',
      '  breaker:',
      `    window: ${BREAKER_WINDOW_S}s`,
      `    settle: ${SETTLE_S}s`,
      // powerScript writes the power script here.
      `commands: { allowedDirs: [${JSON.stringify(dir)}] }`,
      ...extra,
      '',
    ].join('\n'),
  );
  return file;
}

/**
 * A power script that appends `ACTION NODE` to a log for every call, followed by the caller's
 * `MUSTER_TEST_CALLER` when its environment has one (which controller made it); `hangOn` nodes
 * never finish (the driver's timeout must kill them). Status prints `on`.
 */
export function powerScript(dir: string, hangOn: readonly string[] = []): { target: string; calls(): string[] } {
  const log = join(dir, 'power.log');
  const script = join(dir, 'power.sh');
  const hang = hangOn.map((n) => `[ "$2" = "${n}" ] && exec sleep 600\n`).join('');
  writeFileSync(script, `#!/bin/sh\necho "$1 $2\${MUSTER_TEST_CALLER:+ $MUSTER_TEST_CALLER}" >> ${log}\n${hang}[ "$1" = status ] && echo on\nexit 0\n`);
  chmodSync(script, 0o755);
  return {
    // Native cycle: the script is called once with `cycle` (no off → verify off → on).
    target: `command:${script}?cycle=native`,
    /** Every call but `status` (power sync reads are not actions). */
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l && !l.startsWith('status')) : []),
  };
}

/** Defines n001…n<count> in one import: the swarm agent i's MAC, the groups, the power target. */
export async function defineNodes(controller: Pick<ControllerProc, 'cli'>, dir: string, count: number, power: string, groupOf: (i: number) => string = () => 'rack1'): Promise<void> {
  const csv = join(dir, 'nodes.csv');
  const rows = Array.from({ length: count }, (_, k) => `${nodeName(k + 1)},${groupOf(k + 1)},${simFingerprint(k + 1).bootMac},${power}`);
  writeFileSync(csv, ['name,groups,macs,power', ...rows, ''].join('\n'));
  await controller.cli(['import', csv]);
}

/** A node's name and its state, as `muster nodes --json` has them. */
export type NodeRow = { node: string } & NodeStateJson;

export async function nodeRows(controller: Pick<ControllerProc, 'cli'>): Promise<NodeRow[]> {
  const rows = expectCliJson('nodes', (await controller.cli(['--timeout', '10', 'nodes', '--json'])).stdout);
  return rows.map((r) => ({ node: r.node, ...r.state }));
}

/** Resolves when all `count` nodes are alive in `run` (undefined otherwise, for `until`). */
export async function allAliveInRun(controller: Pick<ControllerProc, 'cli'>, count: number): Promise<true | undefined> {
  const rows = await nodeRows(controller).catch(() => []);
  return rows.length === count && rows.every((r) => r.liveness === 'alive' && r.phase === 'run') ? true : undefined;
}

/**
 * Forks a swarm whose agents run already (phase `run`, 1 s heartbeats), each slice through its
 * own broker URL, and waits until the controller has every node alive in `run`.
 */
export async function launchSwarm(name: string, controller: Pick<ControllerProc, 'cli'>, slices: ReadonlyArray<{ url: string; first: number; count: number }>): Promise<Swarm> {
  const swarm = await Swarm.launch(name);
  for (const { url, first, count } of slices) await swarm.start({ url, first, count, heartbeatMs: HEARTBEAT_S * 1000, bootS: null, phase: 'run', connectRate: 500 });
  const total = slices.reduce((sum, s) => sum + s.count, 0);
  await until(`${total} nodes alive in run`, () => allAliveInRun(controller, total), 60_000, 500);
  return swarm;
}

/**
 * After a restart: every swarm agent connected again (a new connection each, counted from
 * `connectsBefore`; the controller's own view may still be the one it loaded), then every node
 * alive in `run`.
 */
export async function awaitReconnected(swarm: Swarm, controller: ControllerProc, count: number, connectsBefore: number): Promise<void> {
  await until('every agent reconnected', async () => {
    const s = await swarm.stats();
    return s.connected === count && s.connects >= connectsBefore + count ? true : undefined;
  }, 30_000, 250);
  await until('every node alive in run again', () => allAliveInRun(controller, count), 30_000, 500);
}

/**
 * Waits out the time in which a node that is (still or again) silent after `from` would have
 * gone dead and, alone in its group, been reset: the settle time and a few heartbeats. Proving
 * that nothing happens takes watching for a while.
 */
export async function watchWindow(from: number): Promise<void> {
  const end = from + (SETTLE_S + 3 * HEARTBEAT_S) * 1000;
  await until('the watch window', () => (Date.now() >= end ? true : undefined), 30_000, 250);
}

/** The controller's transition journal (DATA/journal.jsonl), every readable line. */
export function journal(dataDir: string): Transition[] {
  const file = join(dataDir, 'journal.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((l) => {
      try {
        const t = Transition.safeParse(JSON.parse(l));
        return t.success ? [t.data] : [];
      } catch {
        return [];
      }
    });
}

/** Liveness transitions to `dead` at or after `since` (epoch ms). */
export const deadSince = (dataDir: string, since: number) => journal(dataDir).filter((t) => t.axis === 'liveness' && t.to === 'dead' && t.at >= since);

/** Every controller event, as an admin's client sees it; reconnects across broker and controller restarts. */
export class EventRecorder {
  readonly events: Event[] = [];
  private constructor(private readonly client: MqttClient) {}

  static async connect(url: string): Promise<EventRecorder> {
    const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 300, resubscribe: true });
    const recorder = new EventRecorder(client);
    client.on('error', () => {}); // a restarting broker refuses or resets: reconnect
    client.on('message', (_topic, payload) => {
      const e = Event.safeParse(JSON.parse(payload.toString('utf8')));
      if (e.success) recorder.events.push(e.data);
    });
    await client.subscribeAsync(new Topics().allEvents, { qos: 1 });
    return recorder;
  }

  of(kind: string, state?: string): Event[] {
    return this.events.filter((e) => e.kind === kind && (state === undefined || e.details.state === state));
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}
