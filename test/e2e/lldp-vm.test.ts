/**
 * Switch ports learnt in the netboot image: a qemu VM (TCG, direct boot of the lab kernel and
 * muster's netboot initramfs) has its NIC on a tap in a bridge inside a namespace; Debian's lldpd
 * plays the switch on that tap (system name leaf7, port Ethernet1/7). The agent in the initramfs
 * says hello at once, listens with its own lldpd in the background and sends the neighbour in a
 * new hello; the controller (a real process, reached from the namespace through a socat pair over
 * a unix socket) binds the node defined only by that switch port. The VM's address comes from a
 * dnsmasq playing the site's DHCP server.
 */
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hello } from '../../shared/protocol.js';
import { startControllerProc, type ControllerProc } from '../helpers/controller.js';
import { switchLldpd } from '../helpers/lldpd.js';
import { start, type Proc } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';
import { labImage } from '../lab/image.js';
import { TestNetwork } from '../network/netns.js';

const MAC = '52:54:00:00:07:07';

// Namespaces, taps and lldpd's raw sockets need root, as CI has; a developer's non-root run skips.
describe.skipIf(process.getuid?.() !== 0)('the netboot image learns its switch port from LLDP (VM on a bridge)', () => {
  let lab: TestNetwork;
  let tmp: { dir: string; remove: () => void };
  let controller: ControllerProc | null = null;
  const procs: Proc[] = [];

  beforeAll(() => {
    tmp = tempDir('muster-lldp-vm-');
    // lldpd's monitor runs as _lldpd: its socket's directory must be reachable by that user.
    chmodSync(tmp.dir, 0o755);
    lab = new TestNetwork();
    lab.tap('tap0');
  });
  afterAll(async () => {
    for (const p of procs.reverse()) await p.stop();
    await controller?.stop();
    lab?.remove();
    tmp?.remove();
  });

  it('the agent reports leaf7 Ethernet1/7 on eth0 in a second hello, and the controller binds n007 by that port', async () => {
    const image = labImage();
    // The switch: lldpd on the tap, the VM's cable.
    procs.push((await switchLldpd(lab.server, join(tmp.dir, 'switch.socket'), { hostname: 'leaf7', iface: 'tap0', port: 'Ethernet1/7', description: 'n007 eth0' })).proc);
    procs.push(await lab.siteServer(tmp.dir));

    controller = await startControllerProc();
    await controller.cli(['define', 'n007']);
    await controller.cli(['switch', 'add', 'leaf7']);
    await controller.cli(['switch', 'port', 'leaf7', 'Ethernet1/7', 'n007', 'nic=eth0']);
    procs.push(...(await lab.forward(1883, Number(new URL(controller.mqttUrl).port), tmp.dir)));

    const watcher = await mqtt.connectAsync(controller.mqttUrl);
    const hellos: Hello[] = [];
    /** When each hello came, in seconds after qemu started. */
    const helloAt: string[] = [];
    let started = 0;
    const events: Array<{ kind: string; message: string; details: Record<string, unknown> }> = [];
    watcher.on('message', (topic, payload) => {
      const message = JSON.parse(payload.toString('utf8'));
      if (topic.endsWith('/hello')) {
        hellos.push(message as Hello);
        helloAt.push(((Date.now() - started) / 1000).toFixed(1));
      } else {
        events.push(message as (typeof events)[number]);
      }
    });
    await watcher.subscribeAsync(['muster/agents/+/hello', 'muster/events/assigned', 'muster/events/discovered']);

    started = Date.now();
    const vm = start('ip', [
      'netns', 'exec', lab.server, 'qemu-system-x86_64',
      '-accel', 'tcg', '-m', '512', '-display', 'none', '-vga', 'none', '-monitor', 'none', '-serial', 'stdio', '-no-reboot',
      '-kernel', image.kernel, '-initrd', image.initrd,
      '-append', `console=ttyS0 muster.controller=mqtt://10.99.0.1:1883 muster.interval=1 BOOTIF=01-${MAC.replaceAll(':', '-')}`,
      '-netdev', 'tap,id=n0,ifname=tap0,script=no,downscript=no', '-device', `virtio-net-pci,netdev=n0,mac=${MAC}`,
    ]);
    procs.push(vm);
    const assigned = await until('n007 assigned', () => events.find((e) => e.kind === 'assigned'), 150_000, 100).catch((err: Error) => {
      throw new Error(`${err.message}; hellos: ${hellos.length}; console: ${vm.output().slice(-2000)}`);
    });
    console.log(`hellos at +${helloAt.join(' s, +')} s; n007 bound by its switch port at +${((Date.now() - started) / 1000).toFixed(1)} s after qemu started (${image.summary})`);

    // The first hello did not wait for the switch: the agent was discovered, then bound by the
    // next hello, which carries what it heard.
    const agentId = hellos[0]!.agentId;
    const eth0 = (h: Hello) => h.fingerprint.nics.find((nic) => nic.name === 'eth0');
    expect(eth0(hellos[0]!)?.lldp).toBeUndefined();
    expect(eth0(hellos.at(-1)!)?.mac).toBe(MAC);
    expect(eth0(hellos.at(-1)!)?.lldp).toEqual({
      chassisId: expect.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/),
      portIdType: 'local',
      portId: 'Ethernet1/7',
      portDescription: 'n007 eth0',
      systemName: 'leaf7',
    });
    expect(hellos.every((h) => h.agentId === agentId && h.bootId === hellos[0]!.bootId)).toBe(true);
    expect(events.map((e) => e.kind)).toEqual(['discovered', 'assigned']);
    expect(assigned).toMatchObject({ message: `${agentId} is n007 (by switch-port)`, details: { by: 'switch-port' } });
    expect(JSON.parse((await controller.cli(['show', 'n007', '--json'])).stdout)).toMatchObject({ agentId });
    expect(vm.output()).toContain('LLDP: eth0 → leaf7 Ethernet1/7: hello sent again');
    await watcher.endAsync();
  }, 240_000);
});
