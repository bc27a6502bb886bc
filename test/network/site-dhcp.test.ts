/**
 * The snippets docs/network.md gives for pointing an existing DHCP server at muster, read from the
 * doc and run: ISC dhcpd and Kea in a network namespace, busybox udhcpc as the clients.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start, type Proc } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { TestNetwork, udhcpc } from './netns.js';

const DOC = readFileSync(join(import.meta.dirname, '../../docs/network.md'), 'utf8');
/** The fenced block after `<!-- tested: NAME -->` in docs/network.md. */
function snippet(name: string): string {
  const m = new RegExp(`<!-- tested: ${name} -->\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\``).exec(DOC);
  if (!m) throw new Error(`docs/network.md has no snippet marked "tested: ${name}"`);
  return m[1]!;
}

const SCRIPT_URL = 'http://10.99.0.1:8080/boot/${netX/mac}.ipxe';
/** Each client as udhcpc plays it, and the file the doc's table says it must get. */
const CLIENTS: Array<{ what: string; args: string[]; file: string }> = [
  { what: 'a BIOS PXE ROM', args: ['-V', 'PXEClient:Arch:00000:UNDI:002001', '-x', '0x5d:0000'], file: 'undionly.kpxe' },
  { what: 'x86-64 UEFI (arch 7)', args: ['-V', 'PXEClient:Arch:00007:UNDI:003016', '-x', '0x5d:0007'], file: 'snponly.efi' },
  { what: 'x86-64 UEFI (arch 9)', args: ['-V', 'PXEClient:Arch:00009:UNDI:003016', '-x', '0x5d:0009'], file: 'snponly.efi' },
  { what: 'iPXE (user class iPXE)', args: ['-V', 'PXEClient:Arch:00000:UNDI:002001', '-x', '0x5d:0000', '-x', '0x4d:69505845'], file: SCRIPT_URL },
];

// Namespaces, bridges and port 67 need root, as CI has; a developer's non-root run skips.
describe.skipIf(process.getuid?.() !== 0)('existing DHCP servers configured as docs/network.md says', () => {
  let lab: TestNetwork;
  let tmp: { dir: string; remove: () => void };
  let node: string;

  beforeAll(() => {
    tmp = tempDir('muster-site-dhcp-');
    lab = new TestNetwork();
    node = lab.peer('node', '52:54:00:00:00:01');
  });
  afterAll(() => {
    lab?.remove();
    tmp?.remove();
  });

  const bootFile = (args: string[]) => udhcpc(node, tmp.dir, args).boot_file;

  async function serving(server: Proc, ready: string, check: () => void): Promise<void> {
    try {
      await server.waitFor(ready, 20_000);
      check();
    } finally {
      await server.stop();
    }
  }

  it('ISC dhcpd', async () => {
    const conf = join(tmp.dir, 'dhcpd.conf');
    writeFileSync(conf, snippet('isc-dhcpd'));
    writeFileSync(join(tmp.dir, 'dhcpd.leases'), '');
    const dhcpd = start('ip', ['netns', 'exec', lab.server, 'dhcpd', '-f', '-d', '-4', '-cf', conf, '-lf', join(tmp.dir, 'dhcpd.leases'), '-pf', join(tmp.dir, 'dhcpd.pid'), 'br0']);
    await serving(dhcpd, 'Server starting service', () => {
      for (const c of CLIENTS) expect(bootFile(c.args), c.what).toBe(c.file);
    });
  });

  it('Kea', async () => {
    const conf = join(tmp.dir, 'kea-dhcp4.conf');
    const dhcp4 = JSON.parse(`{${snippet('kea')}}`) as Record<string, unknown>;
    writeFileSync(conf, JSON.stringify({ Dhcp4: { 'interfaces-config': { interfaces: ['br0'] }, 'lease-database': { type: 'memfile', persist: false }, subnet4: [{ subnet: '10.99.0.0/24', pools: [{ pool: '10.99.0.100 - 10.99.0.199' }] }], ...dhcp4 } }));
    const kea = start('ip', ['netns', 'exec', lab.server, 'kea-dhcp4', '-c', conf], { env: { ...process.env, KEA_LOCKFILE_DIR: tmp.dir, KEA_PIDFILE_DIR: tmp.dir } });
    await serving(kea, 'DHCP4_STARTED', () => {
      for (const c of CLIENTS) expect(bootFile(c.args), c.what).toBe(c.file);
    });
  });
});
