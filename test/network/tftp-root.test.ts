import { lstatSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { NetworkConfig } from '../../controller/network/config.js';
import { GRUB_CONFIG } from '../../controller/network/dnsmasq-config.js';
import { fillTftpRoot, writeGrubBoot } from '../../controller/network/tftp-root.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('muster-tftp-root-');
afterAll(() => tmp.remove());

it('fills the Secure Boot TFTP root: loaders, shim and grub linked, grub.cfg written, what is missing named', async () => {
  const dir = join(tmp.dir, 'tftp');
  const net = NetworkConfig.parse({ mode: 'proxy', interface: 'br0', subnet: '10.99.0.0/24', httpUrl: 'http://10.99.0.1:8080', secureBoot: true, grub: '/nonexistent/grubnetx64.efi.signed' });
  const missing = await fillTftpRoot(net, dir);
  expect(missing).toEqual(["/nonexistent/grubnetx64.efi.signed (TFTP grubx64.efi) is missing: install Debian's grub-efi-amd64-signed package or set the path in network:"]);
  expect(readlinkSync(join(dir, 'shimx64.efi'))).toBe('/usr/lib/shim/shimx64.efi.signed');
  expect(readlinkSync(join(dir, 'snponly.efi'))).toBe('/usr/lib/ipxe/snponly.efi');
  expect(readFileSync(join(dir, 'grub/grub.cfg'), 'utf8')).toBe(GRUB_CONFIG);
  // dnsmasq, as root, serves only world-readable files.
  expect(lstatSync(join(dir, 'grub/grub.cfg')).mode & 0o004).toBe(0o004);
  // A restart links again over what is there.
  expect(await fillTftpRoot(net, dir)).toHaveLength(1);
});

it("writes a machine's grub script and links every image's files where the scripts name them", async () => {
  const dir = join(tmp.dir, 'tftp');
  for (const f of ['k', 'i']) writeFileSync(join(tmp.dir, f), f);
  await writeGrubBoot(dir, '52:54:00:00:00:07', { script: 'exit 1\n', images: [{ name: 'sb', kernel: join(tmp.dir, 'k'), initrd: join(tmp.dir, 'i') }] });
  expect(readFileSync(join(dir, 'grub/52:54:00:00:00:07.grub'), 'utf8')).toBe('exit 1\n');
  expect(readFileSync(join(dir, 'images/sb/kernel'), 'utf8')).toBe('k');
  expect(readFileSync(join(dir, 'images/sb/initrd'), 'utf8')).toBe('i');
});
