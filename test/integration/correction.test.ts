/**
 * Correction with real parts: a `muster controller` process, five real agent processes (fixture
 * copies with their own DMI UUIDs) connected through a TCP relay the test controls, and a
 * `command` power driver whose script appends each call to a file.
 *  - killing one agent's process → exactly one power action for that node, transitions journalled;
 *  - cutting every agent's broker connection at once → zero power actions and one incident.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliJson } from '../../shared/cli-output.js';
import { expectCliJson } from '../helpers/cli-json.js';
import { agentBin, twoNicsIbMachine, startControllerProc, type ControllerProc } from '../helpers/controller.js';
import { freePort } from '../helpers/ports.js';
import { start, stopAll, type Proc } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';
import { partitionableLink } from '../helpers/link.js';

const N = 5;
const uuid = (i: number) => `4c4c4544-0058-4b10-8032-b7c04f5140${i.toString(16).padStart(2, '0')}`;

let controller: ControllerProc;
let link: Awaited<ReturnType<typeof partitionableLink>>;
let powerLog: string;
const agents: Proc[] = [];
const tmp = tempDir('muster-correction-');

beforeAll(async () => {
  powerLog = join(tmp.dir, 'power.log');
  const script = join(tmp.dir, 'power.sh');
  writeFileSync(script, `#!/bin/sh\necho "$1 $2" >> ${powerLog}\n[ "$1" = status ] && echo on\nexit 0\n`);
  chmodSync(script, 0o755);
  const config = join(tmp.dir, 'muster.yaml');
  writeFileSync(
    config,
    ['heartbeatIntervalS: 1', `commands: { allowedDirs: [${JSON.stringify(tmp.dir)}] }`, 'policies:', '  grace: 3s', '  ladder:', '    backoff: 1s', '    awaitBoot: 10m', '  breaker:', '    window: 30s', ''].join('\n'),
  );
  controller = await startControllerProc(['--config', config]);
  for (let i = 1; i <= N; i++) await controller.cli(['define', `n00${i}`, 'groups=rack1', `uuid=${uuid(i)}`, `power=command:${script}`]);
  link = await partitionableLink(Number(new URL(controller.mqttUrl).port), await freePort());
  for (let i = 1; i <= N; i++) {
    const root = twoNicsIbMachine(i);
    agents.push(start(process.execPath, [agentBin, '--root', root, '--controller', link.url, '--interval', '1', '--phase', 'run']));
  }
  await Promise.all(agents.map((a) => a.waitFor('hello sent')));
});

afterAll(async () => {
  await stopAll();
  await link?.close();
  await controller?.stop();
  tmp.remove();
});

const powerCalls = () => (existsSync(powerLog) ? readFileSync(powerLog, 'utf8').split('\n').filter((l) => l && !l.startsWith('status')) : []);
const nodes = async () => expectCliJson('nodes', (await controller.cli(['nodes', '--json'])).stdout);
let watch: Proc;
/** Events of a kind so far, as `muster watch --json` printed them. */
type Evidence = Exclude<CliJson<'watch'>, { kind: 'transition' }>;
async function events(kind: Evidence['kind']): Promise<Evidence[]> {
  return watch
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => expectCliJson('watch', l))
    .filter((e): e is Evidence => e.kind === kind);
}

describe('automatic correction with real agents', () => {
  it('power-cycles exactly once for one killed agent, and never for a mass silence', async () => {
    await until('all alive in run', async () => ((await nodes()).every((n) => n.state.liveness === 'alive' && n.state.phase === 'run')));
    watch = start(process.execPath, [join(import.meta.dirname, '../../bin/muster.js'), '--controller', controller.mqttUrl, 'watch', '--json']);
    // Past the grace period after start.
    await new Promise((r) => setTimeout(r, 3000));

    await agents[0]!.stop('SIGKILL');
    await until('a power action for n001', async () => (powerCalls().length > 0));
    expect(powerCalls()).toEqual(['reset n001']);
    const history = expectCliJson('history', (await controller.cli(['history', 'n001', '--json'])).stdout);
    expect(history.filter((t) => t.axis === 'liveness').map((t) => t.to)).toEqual(['alive', 'dead']);
    expect(history.find((t) => t.to === 'dead')!.cause).toMatch(/will/);
    // The automatic actions are in the journal, with the policy and the attempt.
    const journalled = expectCliJson('history', (await controller.cli(['history', 'n001', '--axis', 'action', '--json'])).stdout);
    expect(journalled[0]).toMatchObject({ to: 'define done', by: 'anonymous' });
    expect(journalled.slice(1, 3)).toEqual([
      expect.objectContaining({ to: 'console-tail started', by: 'policy dead-while-online', attempt: 1 }),
      expect.objectContaining({ to: 'console-tail done', by: 'policy dead-while-online', attempt: 1 }),
    ]);
    expect(journalled.find((t) => t.to === 'reset started')).toMatchObject({ by: 'policy dead-while-online', attempt: 1 });

    // Every remaining agent loses its broker connection at the same moment.
    await link.cut();
    await until('the incident', async () => ((await events('incident')).some((e) => e.details.state === 'frozen')));
    await until('all silent nodes dead', async () => ((await nodes()).filter((n) => n.state.liveness === 'dead').length === N));
    // Well past suspect, dead and the backoff: still only the one action from before.
    await new Promise((r) => setTimeout(r, 4000));
    expect(powerCalls()).toEqual(['reset n001']);
    const incidents = (await events('incident')).filter((e) => e.details.state === 'frozen');
    expect(incidents).toHaveLength(1);
    expect(incidents[0]!.details).toMatchObject({ group: 'rack1' });
    // Where the admin looks: why nothing happens, and how many nodes the breaker holds.
    expect((await controller.cli(['show', 'n002'])).stdout).toMatch(/^next .*held: mass-silence breaker holds group rack1 \(muster policy resume rack1\)/m);
    const summary = expectCliJson('summary', (await controller.cli(['summary', '--json'])).stdout);
    expect(summary.find((s) => s.group === 'rack1')!.held.breaker).toBeGreaterThanOrEqual(N - 1);

    const metrics = await (await fetch(`${controller.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/^muster_breaker_frozen\{group="rack1"\} 1$/m);
    expect(metrics).toMatch(/^muster_nodes\{axis="liveness",value="dead"\} 5$/m);

    // The admin sees the frozen group and resumes it explicitly.
    expect(expectCliJson('policy status', (await controller.cli(['policy', 'status', '--json'])).stdout)).toEqual([{ group: 'rack1', since: incidents[0]!.at }]);
    const notFrozen = await controller.cli(['policy', 'resume', 'rack9'], { allowFail: true });
    expect(notFrozen.stderr).toMatch(/group "rack9" is not frozen \(frozen: rack1\)/);
    expect((await controller.cli(['policy', 'resume', 'rack1'])).stdout).toBe('group rack1 resumed\n');
    await until('the resume event', async () => ((await events('incident')).some((e) => e.details.state === 'resumed')));
  });
});
