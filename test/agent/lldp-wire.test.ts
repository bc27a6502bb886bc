/**
 * Switch ports from the wire: Debian's lldpd plays the switch in one network namespace (system
 * name leaf7, port Ethernet1/7) on one end of a veth pair; the real agent runs in the other,
 * where no lldpd runs, so it listens with a private receive-only lldpd. The agent's machine is the
 * real-virtio-vm fixture (its eth0 is the veth's name), so that it has an identity of its own. Its hello reaches a real
 * controller through a unix-socket relay (each namespace talks to its own 127.0.0.1), which
 * identifies the node by the switch port in the port map.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentBin, fixtureCopy, startControllerProc, type ControllerProc } from '../helpers/controller.js';
import { ensureBuilt } from '../helpers/bundle.js';
import { switchLldpd, type SwitchLldpd } from '../helpers/lldpd.js';
import { start, type Proc } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';
import { ip } from '../network/netns.js';

const id = randomBytes(3).toString('hex');
const SWITCH_NS = `muster-l-${id}-sw`;
const NODE_NS = `muster-l-${id}-n`;
const RELAY_PORT = 18830;

describe('LLDP neighbours from the wire (lldpd on a veth pair between namespaces)', () => {
  const tmp = tempDir('muster-lldp-');
  const procs: Proc[] = [];
  let controller: ControllerProc;
  let lldpcli: SwitchLldpd['lldpcli'];

  beforeAll(async () => {
    ensureBuilt('agent');
    // lldpcli is setuid _lldpd: the daemons' sockets must be reachable by that user.
    chmodSync(tmp.dir, 0o755);
    for (const ns of [SWITCH_NS, NODE_NS]) {
      ip('netns', 'add', ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    ip('-n', SWITCH_NS, 'link', 'add', 'swp7', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NODE_NS);
    ip('-n', SWITCH_NS, 'link', 'set', 'swp7', 'up');
    ip('-n', NODE_NS, 'link', 'set', 'eth0', 'up');

    const sw = await switchLldpd(SWITCH_NS, join(tmp.dir, 'switch.socket'), { hostname: 'leaf7', iface: 'swp7', port: 'Ethernet1/7', description: 'n007 eth0' });
    procs.push(sw.proc);
    lldpcli = sw.lldpcli;

    controller = await startControllerProc();
    const mqttPort = new URL(controller.mqttUrl).port;
    const relay = join(tmp.dir, 'mqtt.socket');
    procs.push(start('socat', [`UNIX-LISTEN:${relay},fork`, `TCP:127.0.0.1:${mqttPort}`]));
    await until('the relay socket', () => { try { execFileSync('test', ['-S', relay]); return true; } catch { return false; } }, 10_000, 50);
    procs.push(start('ip', ['netns', 'exec', NODE_NS, 'socat', `TCP-LISTEN:${RELAY_PORT},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${relay}`]));
  }, 60_000);

  afterAll(async () => {
    for (const p of procs.reverse()) await p.stop();
    await controller?.stop();
    for (const ns of [SWITCH_NS, NODE_NS]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // never created
      }
    }
    tmp.remove();
  });

  it('the agent reports leaf7 Ethernet1/7 on eth0; the controller identifies n007 by that switch port, and raises the miswiring alarm when the cable moves', async () => {
    await controller.cli(['define', 'n007']);
    await controller.cli(['switch', 'add', 'leaf7']);
    await controller.cli(['switch', 'port', 'leaf7', 'Ethernet1/7', 'n007', 'nic=eth0']);

    const agentArgs = ['--root', fixtureCopy('real-virtio-vm'), '--lldp-wait', '15'];
    const idOnly = execFileSync('ip', ['netns', 'exec', NODE_NS, process.execPath, agentBin, ...agentArgs, '--id-only'], { encoding: 'utf8', timeout: 30_000 });
    const { fingerprint } = JSON.parse(idOnly) as { fingerprint: { nics: Array<{ name: string; lldp?: Record<string, unknown> }> } };
    expect(fingerprint.nics.find((nic) => nic.name === 'eth0')?.lldp).toMatchObject({
      portIdType: 'local',
      portId: 'Ethernet1/7',
      portDescription: 'n007 eth0',
      systemName: 'leaf7',
      chassisId: expect.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/),
    });

    const events = await mqtt.connectAsync(controller.mqttUrl);
    const received: Array<{ kind: string; message: string; details: Record<string, unknown> }> = [];
    events.on('message', (_topic, payload) => received.push(JSON.parse(payload.toString()) as (typeof received)[number]));
    await events.subscribeAsync(['muster/events/assigned', 'muster/events/drift']);
    const agent = start('ip', ['netns', 'exec', NODE_NS, process.execPath, agentBin, ...agentArgs, '--controller', `mqtt://127.0.0.1:${RELAY_PORT}`, '--interval', '1']);
    procs.push(agent);
    const shown = await until('n007 identified', async () => {
      const n = JSON.parse((await controller.cli(['show', 'n007', '--json'])).stdout) as { agentId?: string | null };
      return n.agentId ? n : null;
    }, 40_000, 250);
    expect(shown.agentId).toBe('mac-02fc00000001');
    await until('the assigned event', () => received.find((e) => e.kind === 'assigned'), 10_000, 50);
    expect(received.find((e) => e.kind === 'assigned')).toMatchObject({ message: 'mac-02fc00000001 is n007 (by switch-port)', details: { by: 'switch-port' } });

    // The cable moves to Ethernet1/9 (the switch now advertises that port): the next hello raises the alarm.
    lldpcli('configure', 'ports', 'swp7', 'lldp', 'portidsubtype', 'local', 'Ethernet1/9', 'description', 'n007 eth0');
    await agent.stop();
    procs.push(start('ip', ['netns', 'exec', NODE_NS, process.execPath, agentBin, ...agentArgs, '--controller', `mqtt://127.0.0.1:${RELAY_PORT}`, '--interval', '1']));
    const alarm = await until('the miswiring alarm', () => received.find((e) => e.kind === 'drift' && e.message.includes('cabled to')), 40_000, 100);
    expect(alarm.message).toBe('n007: cabled to leaf7 Ethernet1/9, the port map says leaf7 Ethernet1/7');
    await events.endAsync();
  }, 90_000);
});
