/**
 * End to end on a real machine: qemu's iPXE chains to the netboot HTTP handler, fetches the
 * node's script, kernel and initrd, and boots a real kernel whose /init prints its command line.
 * Proves the templates are valid iPXE and that BOOTIF and muster.if= reach the kernel.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNetbootHttpHandler } from '../../controller/provision/netboot/http.js';
import { NetbootBuildSystem } from '../../controller/provision/netboot/netboot.js';
import { CMDLINE_LINE, cmdlineInitramfs } from '../helpers/cmdline-initramfs.js';
import { start, type Proc } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { labKernelDir } from '../lab/image.js';
import { ipxeChainDir } from '../lab/vm.js';

const MAC = '52:54:00:12:34:56';
const tmp = tempDir('muster-netboot-qemu-');
const requests: string[] = [];
let netboot: NetbootBuildSystem;
let server: http.Server;
let qemu: Proc | undefined;

beforeAll(async () => {
  netboot = await NetbootBuildSystem.open({ dataDir: join(tmp.dir, 'data'), controllerUrl: 'mqtt://10.0.2.2:1883' });
  await netboot.addImage('probe', { kernel: join(labKernelDir(), 'vmlinuz'), initrd: cmdlineInitramfs(tmp.dir), cmdline: 'console=ttyS0 quiet panic=-1' });
  await netboot.configure('n001', { image: 'probe', tags: [], interfaces: [{ name: 'eth0', dhcp: false, addresses: ['10.1.0.11/16'], gateway: '10.1.0.1', mtu: 9000 }] });
  await netboot.prepare('n001');
  const handler = createNetbootHttpHandler({ netboot, nodeByMac: (mac) => (mac === MAC ? { name: 'n001' } : null) });
  server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (!handler(req, res)) {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
}, 120_000);

afterAll(async () => {
  await qemu?.stop('SIGKILL');
  await new Promise((resolve) => server.close(resolve));
  await netboot.close();
  tmp.remove();
});

it('a prepared node PXE-boots its image with BOOTIF and muster.if= on the command line', async () => {
  const port = (server.address() as AddressInfo).port;
  const tftp = ipxeChainDir(join(tmp.dir, 'tftp'), port);
  qemu = start('qemu-system-x86_64', [
    '-accel', 'tcg', '-m', '256', '-display', 'none', '-serial', 'stdio', '-no-reboot', '-boot', 'n',
    '-netdev', `user,id=n0,tftp=${tftp},bootfile=boot.ipxe`,
    '-device', `virtio-net-pci,netdev=n0,mac=${MAC}`,
  ]);
  const m = await qemu.waitFor(CMDLINE_LINE, 100_000);
  const cmdline = (m as RegExpMatchArray)[1]!;
  expect(cmdline).toContain('console=ttyS0 quiet panic=-1 muster.controller=mqtt://10.0.2.2:1883');
  expect(cmdline).toContain('BOOTIF=01-52-54-00-12-34-56');
  expect(cmdline).toContain('muster.if=eth0:10.1.0.11/16,gw=10.1.0.1,mtu=9000');
  // iPXE percent-encodes the MAC's colons; the handler decodes path segments.
  expect(requests).toEqual([`GET /boot/${encodeURIComponent(MAC)}.ipxe`, 'GET /images/probe/kernel', 'GET /images/probe/initrd']);
  // Serving the script moved nothing: the node's own agent says when its build started.
  expect((await netboot.status('n001')).state).toBe('prepared');
}, 120_000);
