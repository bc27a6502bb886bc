/**
 * A BIOS VM (SeaBIOS + the ipxe-qemu ROM) on a tap in a bridge inside network namespaces PXE-boots
 * through muster's dnsmasq and fetches its iPXE script from muster's HTTP server: in dhcp mode with
 * its fixed address, in proxy mode with an address from a second dnsmasq playing the site's server.
 * Every address lives inside the namespaces; the controller's HTTP port (127.0.0.1) is reached
 * from the namespace through a socat pair over a unix socket.
 */
import { chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { Extension } from '../../controller/context.js';
import { defaultExtensions } from '../../controller/extensions.js';
import { NetworkConfig } from '../../controller/network/config.js';
import type { Event } from '../../shared/protocol.js';
import { startInProc, type InProc } from '../helpers/inproc.js';
import { start, type Proc } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';
import { TestNetwork } from '../network/netns.js';

const MAC = '52:54:00:00:00:07';
const SCRIPT_URL = 'http://10.99.0.1:8080/boot/${netX/mac}.ipxe';

// Namespaces, taps and port 67 need root, as CI has; a developer's non-root run skips.
describe.skipIf(process.getuid?.() !== 0)('a BIOS VM PXE-boots through muster dnsmasq', () => {
  let lab: TestNetwork;
  let tmp: { dir: string; remove: () => void };
  /** What one case started, stopped after it (last first). */
  let procs: Proc[] = [];
  let c: InProc | null = null;

  beforeAll(() => {
    tmp = tempDir('muster-pxe-');
    lab = new TestNetwork();
    lab.tap('tap0');
  });
  afterEach(async () => {
    for (const p of procs.reverse()) await p.stop();
    procs = [];
    await c?.stop();
    c = null;
  });
  afterAll(() => {
    lab?.remove();
    tmp?.remove();
  });

  /** A controller with this network, node n007 defined, its HTTP port on 10.99.0.1:8080, and the VM booting. */
  async function boot(network: z.input<typeof NetworkConfig>): Promise<{ scriptsFetched: string[]; events: Event[] }> {
    const scriptsFetched: string[] = [];
    const events: Event[] = [];
    // Sees which boot scripts are asked for, and leaves the answer to the netboot route.
    const observer: Extension = {
      name: 'test-observer',
      start: async (ctx) => ctx.http.mount((req) => (req.url?.startsWith('/boot/') && scriptsFetched.push(decodeURIComponent(req.url)), false)),
    };
    c = await startInProc({ network: NetworkConfig.parse(network) }, { prepare: (dir) => chmodSync(dir, 0o755), extensions: (ctx) => [observer, ...defaultExtensions(ctx)] });
    await c.running.ctx.bus.subscribe('muster/events/boot', (_t, payload) => events.push(JSON.parse(payload.toString('utf8')) as Event));
    await c.client.request('define', { range: 'n007', settings: [`mac=${MAC}`, `if.eth0=10.99.0.17/24,mac=${MAC}`] });
    const sock = join(tmp.dir, `http-${network.mode}.sock`);
    procs.push(start('socat', [`UNIX-LISTEN:${sock},fork`, `TCP:127.0.0.1:${new URL(c.running.httpUrl!).port}`]));
    await until('the unix socket', () => existsSync(sock));
    procs.push(start('ip', ['netns', 'exec', lab.server, 'socat', 'TCP-LISTEN:8080,bind=10.99.0.1,fork,reuseaddr', `UNIX-CONNECT:${sock}`]));
    procs.push(
      start('ip', [
        'netns', 'exec', lab.server, 'qemu-system-x86_64', '-accel', 'tcg', '-m', '256', '-display', 'none', '-vga', 'none', '-monitor', 'none', '-boot', 'n',
        '-netdev', 'tap,id=n0,ifname=tap0,script=no,downscript=no', '-device', `virtio-net-pci,netdev=n0,mac=${MAC}`,
      ]),
    );
    await until('the VM to fetch its boot script', () => scriptsFetched.length > 0, 120_000, 200);
    return { scriptsFetched, events };
  }

  it('dhcp mode: gets its fixed address and the script URL, and fetches /boot/<mac>.ipxe', async () => {
    const { scriptsFetched, events } = await boot({ mode: 'dhcp', interface: 'br0', subnet: '10.99.0.0/24', pool: { start: '10.99.0.100', end: '10.99.0.199' }, httpUrl: 'http://10.99.0.1:8080', netns: lab.server });
    expect(scriptsFetched[0]).toBe(`/boot/${MAC}.ipxe`);
    const steps = events.filter((e) => e.node === 'n007').map((e) => e.message);
    expect(steps).toContain('n007: DHCP ack 10.99.0.17');
    expect(steps).toContain(`n007: boot file ${SCRIPT_URL}`);
  });

  it('proxy mode: the address from the site server, the script URL from muster', async () => {
    const siteServer = await lab.siteServer(tmp.dir);
    procs.push(siteServer);
    const { scriptsFetched, events } = await boot({ mode: 'proxy', interface: 'br0', subnet: '10.99.0.0/24', httpUrl: 'http://10.99.0.1:8080', netns: lab.server });
    expect(scriptsFetched[0]).toBe(`/boot/${MAC}.ipxe`);
    expect(siteServer.output()).toMatch(/DHCPACK\(eth0\) 10\.99\.0\.5\d 52:54:00:00:00:07/);
    const steps = events.filter((e) => e.node === 'n007').map((e) => e.message);
    expect(steps).toContain('n007: PXE proxy offer');
    expect(steps).toContain(`n007: PXE boot server: boot file ${SCRIPT_URL}`);
  });
});
