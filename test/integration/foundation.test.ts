/**
 * The whole first slice with real parts: a `muster controller` process, three agent processes from
 * dist/agent.js on fixture machines, a real `mosquitto_sub` watching `muster/#`, and the CLI.
 * Runs once on the embedded broker and once with `--broker` against a real Mosquitto.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { AgentStatus, Event, NodeState } from '../../shared/protocol.js';
import { expectCliJson } from '../helpers/cli-json.js';
import { startControllerProc, startAgent, type ControllerProc } from '../helpers/controller.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { start, stopAll, type Proc } from '../helpers/proc.js';
import { until } from '../helpers/wait.js';

afterAll(stopAll);

/** Lines of `mosquitto_sub -v`: topic, space, payload. */
function messages(sub: Proc): Array<{ topic: string; payload: string }> {
  return sub
    .output()
    .split('\n')
    .filter((l) => l.startsWith('muster/'))
    .map((l) => {
      const i = l.indexOf(' ');
      return { topic: l.slice(0, i), payload: l.slice(i + 1) };
    });
}


const REAL = 'mac-02fc00000001'; // test/fixtures/real-virtio-vm (lowest physical MAC)
const IB = 'uuid-4c4c4544-0058-4b10-8032-b7c04f514a33'; // test/fixtures/two-nics-ib (DMI UUID)
const ODD = 'serial-SN-_4711'; // test/fixtures/odd (no DMI UUID, virtual NICs only)

describe.each([
  ['embedded aedes broker', false],
  ['external Mosquitto broker', true],
])('foundation end to end on the %s', (_name, external) => {
  let controller: ControllerProc;
  let sub: Proc;
  const agents: Proc[] = [];

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await sub?.stop();
    await controller?.stop();
  });

  it('identifies, assigns, publishes state and events, and sees a killed and a frozen agent die (by their wills)', async () => {
    let brokerUrl: string;
    if (external) {
      const mosq = await startMosquitto();
      controller = await startControllerProc(['--broker', mosq.url]);
      brokerUrl = mosq.url;
    } else {
      controller = await startControllerProc();
      brokerUrl = controller.mqttUrl;
    }
    const { hostname, port } = new URL(brokerUrl);
    sub = start('mosquitto_sub', ['-h', hostname, '-p', port, '-t', 'muster/#', '-v', '-i', 'watcher-test']);
    // mosquitto_sub prints nothing until a message arrives: define a node to see the first one.
    await until('mosquitto_sub to subscribe', async () => {
      await controller.cli(['define', 'n001', 'groups=rack1', 'mac=02:FC:00:00:00:01']);
      return messages(sub).some((m) => m.topic === 'muster/nodes/n001/state') || undefined;
    });

    // The agent that freezes below heartbeats every 10 s, its liveness (keepalive) from 1 s.
    agents.push(startAgent('real-virtio-vm', brokerUrl), startAgent('two-nics-ib', brokerUrl, ['--interval', '10', '--liveness', '1']), startAgent('odd', brokerUrl));
    await Promise.all(agents.map((a) => a.waitFor('hello sent')));

    // n001 was predefined by MAC: bound by the rule, alive.
    const n001 = await until('n001 alive', async () => {
      const rows = expectCliJson('nodes', (await controller.cli(['nodes', 'n001', '--json'])).stdout);
      return rows[0]?.state.liveness === 'alive' ? rows[0] : undefined;
    });
    expect(n001.agentId).toBe(REAL);

    // The other two are discovered; assign one by agent id with the CLI.
    const discovered = await until('two discovered agents', async () => {
      const d = JSON.parse((await controller.cli(['discovered', '--json'])).stdout) as Array<{ agentId: string }>;
      return d.length === 2 ? d : undefined;
    });
    expect(discovered.map((d) => d.agentId).sort()).toEqual([IB, ODD].sort());
    expect((await controller.cli(['assign', IB, 'n002'])).stdout).toContain(`${IB} is now n002`);
    const assignTwice = await controller.cli(['assign', ODD, 'n002'], { allowFail: true });
    expect(assignTwice.code).not.toBe(0);
    expect(assignTwice.stderr).toMatch(/node n002 is already bound to uuid-/);
    // Its hello told its 10 s interval, longer than the controller's heartbeat.interval (5 s).
    await until('the interval warning', () => /node n002: the agent heartbeats every 10 s but heartbeat.interval is 5 s/.test(controller.proc.output()));

    // The watcher saw the retained state of n002 and the events, each valid per the schema.
    const n002 = await until('n002 state alive on the wire', () =>
      messages(sub)
        .filter((m) => m.topic === 'muster/nodes/n002/state')
        .map((m) => NodeState.parse(JSON.parse(m.payload)))
        .find((s) => s.liveness === 'alive' && s.agentId === IB),
    );
    expect(n002.phase).toBe('kernel');
    const events = messages(sub)
      .filter((m) => m.topic.startsWith('muster/events/'))
      .map((m) => Event.parse(JSON.parse(m.payload)));
    expect(events.filter((e) => e.kind === 'discovered').map((e) => e.agentId).sort()).toEqual([IB, ODD].sort());
    expect(events.find((e) => e.kind === 'assigned' && e.node === 'n002')?.details).toMatchObject({ by: 'admin' });
    expect(events.find((e) => e.kind === 'assigned' && e.node === 'n001')?.details).toMatchObject({ by: 'mac' });
    expect(events.some((e) => e.kind === 'transition' && e.node === 'n001' && e.details.axis === 'liveness' && e.details.to === 'alive')).toBe(true);

    // A phase reported by a boot hook reaches the node state.
    const hook = start(process.execPath, [new URL('../../dist/agent.js', import.meta.url).pathname, 'phase', 'run', '--root', (agents[1] as Proc & { root: string }).root, '--controller', brokerUrl]);
    await hook.exited;
    await until('n002 in run', async () => (expectCliJson('show', (await controller.cli(['show', 'n002', '--json'])).stdout).state?.phase === 'run'));

    // kill -9 an agent: the broker sends its will, the node goes dead, the journal has it.
    await agents[0]!.stop('SIGKILL');
    const will = await until('the will of n001', () => messages(sub).find((m) => m.topic === `muster/agents/${REAL}/status`));
    expect(AgentStatus.parse(JSON.parse(will.payload)).online).toBe(false);
    await until('n001 dead', () =>
      messages(sub)
        .filter((m) => m.topic === 'muster/nodes/n001/state')
        .map((m) => NodeState.parse(JSON.parse(m.payload)))
        .find((s) => s.liveness === 'dead'),
    );
    const history = expectCliJson('history', (await controller.cli(['history', 'n001', '--axis', 'liveness', '--json'])).stdout);
    expect(history.map((t) => t.to)).toEqual(['alive', 'dead']);
    expect(history[1]!.cause).toMatch(/will/);

    // A frozen agent (SIGSTOP, socket open) sends nothing: the broker gives up on it at 1.5 × its
    // keepalive (5 s, from its 1 s liveness, not its 10 s heartbeats) and sends its will, before
    // the controller's silence rule (20 s) would judge it.
    agents[1]!.child.kill('SIGSTOP');
    const dead = await until(
      'n002 dead',
      async () => expectCliJson('history', (await controller.cli(['history', 'n002', '--axis', 'liveness', '--json'])).stdout).find((t) => t.to === 'dead'),
      30_000,
      500,
    );
    expect(dead.cause).toMatch(/will/);
    await agents[1]!.stop('SIGKILL');
  });
});
