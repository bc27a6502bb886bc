/**
 * muster's dnsmasq on a real network: a bridge inside network namespaces this test makes, with
 * real DHCP clients (busybox udhcpc), a PXE ROM's DHCP steps (pxe-probe.mjs) and busybox tftp in a
 * namespace playing the node. Every address lives inside the namespaces.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultExtensions } from '../../controller/extensions.js';
import type { ControllerEvents } from '../../controller/events.js';
import type { z } from 'zod';
import { NetworkConfig } from '../../controller/network/config.js';
import { ProvisioningNetwork } from '../../controller/network/service.js';
import type { Event } from '../../shared/protocol.js';
import { expectCliJson } from '../helpers/cli-json.js';
import { runCli } from '../helpers/controller.js';
import { startInProc, type InProc } from '../helpers/inproc.js';
import type { Proc } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';
import { inNs, ip, TestNetwork, udhcpc } from './netns.js';

const root = process.getuid?.() === 0;
const UNKNOWN = '52:54:00:00:00:01';
const N002 = '52:54:00:00:00:02';
const PROBE = join(import.meta.dirname, 'pxe-probe.mjs');
const HTTP = 'http://10.99.0.1:8080';

/** A controller with a `network:` section, and a handle on its provisioning network. */
async function controllerWith(network: z.input<typeof NetworkConfig>): Promise<{ c: InProc; net: ProvisioningNetwork; events: Event[] }> {
  let net: ProvisioningNetwork | undefined;
  const c = await startInProc({ network: NetworkConfig.parse(network) }, {
    // dnsmasq drops root and must still reach its hosts file in the data dir.
    prepare: (dir) => chmodSync(dir, 0o755),
    extensions: (ctx) => {
      const exts = defaultExtensions(ctx);
      net = exts.find((e): e is ProvisioningNetwork => e instanceof ProvisioningNetwork);
      return exts;
    },
  });
  const events: Event[] = [];
  await c.running.ctx.bus.subscribe('muster/events/boot', (_t, payload) => events.push(JSON.parse(payload.toString('utf8')) as Event));
  return { c, net: net!, events };
}

/** How many times dnsmasq has (re)read its hosts file: it logs each read. */
function hostsReads(c: InProc): number {
  const file = join(c.dataDir, 'network', 'dnsmasq.log');
  // The log file appears with dnsmasq's first line.
  const log = existsSync(file) ? readFileSync(file, 'utf8') : '';
  return log.split('\n').filter((l) => / read .*dhcp-hosts/.test(l)).length;
}

// Namespaces, bridges and binding port 67 need root, as CI has; a developer's non-root run skips.
it('a controller without network: runs no DHCP and its dhcp verbs say so', async () => {
  const c = await startInProc();
  try {
    await expect(c.client.request('dhcp-leases')).rejects.toThrow('muster runs no DHCP here: the controller config has no network: section (docs/network.md)');
    await expect(c.client.request('dhcp-show')).rejects.toThrow('no network: section');
  } finally {
    await c.stop();
  }
});

// Namespaces, bridges and port 67 need root, as CI has; a developer's non-root run skips.
describe.skipIf(!root)('provisioning network on a real bridge', () => {
  let lab: TestNetwork;
  let tmp: { dir: string; remove: () => void };

  beforeAll(() => {
    tmp = tempDir('muster-dhcp-');
    lab = new TestNetwork();
  });
  afterAll(() => {
    lab?.remove();
    tmp?.remove();
  });

  const dhcp = (ns: string, args: string[]) => udhcpc(ns, tmp.dir, args);

  describe('dhcp mode', () => {
    let c: InProc;
    let net: ProvisioningNetwork;
    let events: Event[];
    let node: string;
    /** Muster's evidence that a node booted (what lets its agent back in with the token). */
    const booting: Array<ControllerEvents['node:booting']> = [];

    beforeAll(async () => {
      node = lab.peer('node', UNKNOWN);
      ({ c, net, events } = await controllerWith({ mode: 'dhcp', interface: 'br0', subnet: '10.99.0.0/24', pool: { start: '10.99.0.100', end: '10.99.0.199' }, httpUrl: HTTP, netns: lab.server }));
      c.running.ctx.events.owner('test').on('node:booting', (e) => booting.push(e));
      await until('dnsmasq to read its hosts file', () => hostsReads(c) >= 1);
    });
    afterAll(async () => {
      await c?.stop();
      if (node) ip('netns', 'del', node);
    });

    it('offers a pool address and the BIOS loader to an unknown machine', () => {
      const lease = dhcp(node, ['-V', 'PXEClient:Arch:00000:UNDI:002001', '-x', '0x5d:0000']);
      expect(lease.ip).toMatch(/^10\.99\.0\.1\d\d$/);
      expect(lease.boot_file).toBe('undionly.kpxe');
      expect(lease.siaddr).toBe('10.99.0.1');
    });

    it('gives a defined node its fixed address and name once it is defined (hosts file, SIGHUP)', async () => {
      const reads = hostsReads(c);
      await c.client.request('define', { range: 'n002', settings: [`mac=${N002}`, `if.eth0=10.99.0.12/24,mac=${N002}`] });
      await until('dnsmasq to re-read its hosts file', () => hostsReads(c) > reads);
      expect(net.renderedConfig().hosts).toContain(`${N002},10.99.0.12,n002`);
      ip('-n', node, 'link', 'set', 'eth0', 'address', N002);
      const lease = dhcp(node, ['-V', 'PXEClient:Arch:00007:UNDI:003016', '-x', '0x5d:0007']);
      expect(lease).toMatchObject({ ip: '10.99.0.12', hostname: 'n002', boot_file: 'snponly.efi', siaddr: '10.99.0.1' });
    });

    it('sends iPXE (user class iPXE) the script URL and UEFI HTTP boot the loader URL', () => {
      expect(dhcp(node, ['-x', '0x4d:69505845']).boot_file).toBe(`${HTTP}/boot/\${netX/mac}.ipxe`);
      expect(dhcp(node, ['-V', 'HTTPClient:Arch:00016:UNDI:003001', '-x', '0x5d:0010']).boot_file).toBe(`${HTTP}/loaders/snponly.efi`);
    });

    it('serves the UEFI loader over TFTP', () => {
      ip('-n', node, 'addr', 'add', '10.99.0.12/24', 'dev', 'eth0');
      const got = join(tmp.dir, 'snponly.efi');
      inNs(node, 'busybox', ['tftp', '-g', '-r', 'snponly.efi', '-l', got, '10.99.0.1']);
      expect(readFileSync(got).equals(readFileSync('/usr/lib/ipxe/snponly.efi'))).toBe(true);
    });

    it('serves the UEFI HTTP boot loader on the controller HTTP port, and only the loaders', async () => {
      const got = await fetch(`${c.running.httpUrl}/loaders/snponly.efi`);
      expect(got.status).toBe(200);
      expect(Buffer.from(await got.arrayBuffer()).equals(readFileSync('/usr/lib/ipxe/snponly.efi'))).toBe(true);
      const other = await fetch(`${c.running.httpUrl}/loaders/ipxe.lkrn`);
      expect(other.status).toBe(404);
      expect(await other.text()).toBe('no loader "ipxe.lkrn": known are undionly.kpxe, snponly.efi\n');
    });

    it('publishes each step as a boot event of the node (or of the unknown MAC)', async () => {
      const steps = await until('the TFTP step as an event', () => {
        const mine = events.filter((e) => e.node === 'n002').map((e) => e.details.step);
        return mine.includes('tftp-sent') && mine;
      });
      expect(steps).toEqual(expect.arrayContaining(['dhcp-discover', 'dhcp-offer', 'dhcp-request', 'dhcp-ack', 'boot-file', 'tftp-sent']));
      expect(events.find((e) => e.node === 'n002' && e.details.step === 'boot-file')?.message).toBe('n002: boot file snponly.efi');
      expect(events.find((e) => e.node === 'n002' && e.details.step === 'tftp-sent')?.message).toBe('n002: TFTP snponly.efi sent');
      const unknown = events.find((e) => e.details.mac === UNKNOWN && e.details.step === 'dhcp-ack')!;
      expect(unknown.node).toBeNull();
      expect(unknown.message).toMatch(/^unknown machine 52:54:00:00:00:01: DHCP ack 10\.99\.0\.1\d\d$/);
    });

    it('journals the steps of a defined node: muster history --axis boot, and the script it asked for', async () => {
      expect((await fetch(`${c.running.httpUrl}/boot/${N002}.ipxe`)).status).toBe(200);
      const { transitions } = await c.client.request('history', { node: 'n002', axis: 'boot' });
      const causes = transitions.map((t) => `${t.to}: ${t.cause}`);
      expect(causes).toEqual(expect.arrayContaining(['dhcp-ack: DHCP ack 10.99.0.12', 'boot-file: boot file snponly.efi', 'tftp-sent: TFTP snponly.efi sent', 'script: iPXE script requested']));
      expect(transitions.every((t) => t.axis === 'boot' && t.node === 'n002')).toBe(true);
    });

    it("counts the steps only a booting machine takes as evidence that the node booted: not an ack (a lease renewal has one), nor a script asked for from another address", () => {
      expect(booting.every((e) => e.node === 'n002')).toBe(true);
      const seen = booting.map((e) => e.what);
      expect(seen).toEqual(expect.arrayContaining([expect.stringMatching(/^DHCP offer 10\.99\.0\.12\b.*\(52:54:00:00:00:02\)$/), `boot file snponly.efi (${N002})`, `TFTP snponly.efi sent (${N002})`]));
      expect(seen.filter((w) => /DHCP ack|script/.test(w))).toEqual([]);
    });

    it('lists leases with node names, and shows what dnsmasq runs with (muster dhcp leases / show)', async () => {
      const leases = await c.client.request('dhcp-leases');
      expect(leases.find((l) => l.mac === N002)).toMatchObject({ ip: '10.99.0.12', node: 'n002' });
      expect(leases.find((l) => l.mac === UNKNOWN)).toMatchObject({ node: null });
      const shown = await c.client.request('dhcp-show');
      expect(shown).toEqual(net.renderedConfig());
      expect(shown.config).toContain('dhcp-range=10.99.0.100,10.99.0.199');
      // The CLI's --json forms of both (times as ISO-8601).
      const cliLeases = expectCliJson('dhcp leases', (await runCli(c.running.mqttUrl, ['dhcp', 'leases', '--json'])).stdout);
      expect(cliLeases.find((l) => l.mac === N002)).toMatchObject({ node: 'n002', expiresAt: expect.stringMatching(/Z$/) });
      expect(expectCliJson('dhcp show', (await runCli(c.running.mqttUrl, ['dhcp', 'show', '--json'])).stdout)).toEqual(shown);
    });

    it('starts dnsmasq again when it dies', async () => {
      const pids = () => ip('netns', 'pids', lab.server).trim().split('\n').filter(Boolean);
      const [before] = pids();
      execFileSync('kill', ['-KILL', before!]);
      await until('a new dnsmasq', () => pids().length === 1 && pids()[0] !== before && hostsReads(c) > 0, 15_000);
      ip('-n', node, 'addr', 'flush', 'dev', 'eth0');
      await until('a lease from the new dnsmasq', () => {
        try {
          return dhcp(node, []).ip === '10.99.0.12';
        } catch {
          return false;
        }
      }, 20_000);
    });
  });

  describe('proxy mode beside a site DHCP server', () => {
    let c: InProc;
    let site: Proc;
    let events: Event[];
    let node: string;

    beforeAll(async () => {
      // The probe listens 2.5 s: the site server offers at once (no-ping).
      site = await lab.siteServer(tmp.dir);
      node = lab.peer('pnode', N002);
      ({ c, events } = await controllerWith({ mode: 'proxy', interface: 'br0', subnet: '10.99.0.0/24', httpUrl: HTTP, netns: lab.server }));
      await c.client.request('define', { range: 'n002', settings: [`mac=${N002}`] });
      await until('dnsmasq to read its hosts file', () => hostsReads(c) >= 1);
    });
    afterAll(async () => {
      await c?.stop();
      await site?.stop();
    });

    interface Offer { yiaddr: string; siaddr: string; serverId: string; file: string; vendorClass: string | null; menuItem: number | null }
    const probe = (args: string[]): Offer[] => inNs(node, process.execPath, [PROBE, ...args]).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Offer);

    it('the address comes from the site server, the boot file from muster (BIOS, then iPXE)', async () => {
      const offers = probe([N002, 'PXEClient:Arch:00000:UNDI:002001', '0']);
      const address = offers.find((o) => o.serverId === '10.99.0.2');
      const pxe = offers.find((o) => o.serverId === '10.99.0.1');
      expect(address).toMatchObject({ file: '', vendorClass: null });
      expect(address!.yiaddr).toMatch(/^10\.99\.0\.5\d$/);
      // muster's proxy offer: no address, only the PXE menu the ROM then asks the boot server about.
      expect(pxe).toMatchObject({ yiaddr: '0.0.0.0', vendorClass: 'PXEClient' });
      expect(pxe!.menuItem).not.toBeNull();

      ip('-n', node, 'addr', 'add', `${address!.yiaddr}/24`, 'dev', 'eth0');
      const [boot] = probe([N002, 'PXEClient:Arch:00000:UNDI:002001', '0', '-', '10.99.0.1', address!.yiaddr, String(pxe!.menuItem)]);
      expect(boot).toMatchObject({ file: 'undionly.kpxe', siaddr: '10.99.0.1' });

      const [ipxeMenu] = probe([N002, 'PXEClient:Arch:00000:UNDI:002001', '0', 'iPXE']).filter((o) => o.serverId === '10.99.0.1');
      const [ipxeBoot] = probe([N002, 'PXEClient:Arch:00000:UNDI:002001', '0', 'iPXE', '10.99.0.1', address!.yiaddr, String(ipxeMenu!.menuItem)]);
      expect(ipxeBoot!.file).toBe(`${HTTP}/boot/\${netX/mac}.ipxe`);

      inNs(node, 'busybox', ['tftp', '-g', '-r', 'undionly.kpxe', '-l', join(tmp.dir, 'undionly.kpxe'), '10.99.0.1']);
      const steps = await until('the proxy steps as events', () => {
        const mine = events.filter((e) => e.node === 'n002').map((e) => `${e.details.step} ${e.details.file ?? ''}`.trim());
        return mine.includes('tftp-sent /usr/lib/ipxe/undionly.kpxe') && mine;
      });
      expect(steps).toEqual(expect.arrayContaining(['pxe-proxy', 'boot-file undionly.kpxe']));
    });
  });
});
