/**
 * `muster doctor`'s DHCP, TFTP and loader checks on a real dnsmasq in a network namespace the test
 * makes: the supervised dnsmasq runs and its TFTP answers a read of the BIOS loader on the
 * interface's address (the probe runs inside the namespace, as dnsmasq does); a loader taken away
 * fails both the TFTP read and the loader check.
 */
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetworkConfig } from '../../controller/network/config.js';
import type { DoctorCheck } from '../../shared/verbs/results.js';
import { startInProc, type InProc } from '../helpers/inproc.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';
import { TestNetwork } from './netns.js';

const root = process.getuid?.() === 0;

// Namespaces and binding port 69 need root, as CI has; a developer's non-root run skips.
describe.skipIf(!root)('muster doctor on the provisioning network', () => {
  let lab: TestNetwork;
  let tftp: { dir: string; remove: () => void };
  let c: InProc;

  beforeAll(async () => {
    lab = new TestNetwork();
    tftp = tempDir('muster-tftp-');
    chmodSync(tftp.dir, 0o755);
    mkdirSync(join(tftp.dir, 'root'));
    writeFileSync(join(tftp.dir, 'root', 'undionly.kpxe'), Buffer.alloc(1500, 1));
    writeFileSync(join(tftp.dir, 'root', 'snponly.efi'), Buffer.alloc(100, 2));
    const network = NetworkConfig.parse({ mode: 'proxy', interface: 'br0', subnet: '10.99.0.0/24', httpUrl: 'http://10.99.0.1:8080', netns: lab.server, tftpRoot: join(tftp.dir, 'root') });
    // dnsmasq drops root and must still reach its hosts file in the data dir.
    c = await startInProc({ network }, { prepare: (dir) => chmodSync(dir, 0o755) });
  });
  afterAll(async () => {
    await c?.stop();
    lab?.remove();
    tftp?.remove();
  });

  const checks = async () => (await c.client.request('doctor', { checks: ['dhcp', 'tftp', 'loaders'] })).checks;
  const byId = (all: DoctorCheck[], id: string) => all.find((x) => x.id === id)!;

  it('sees dnsmasq running and its TFTP answering a read of the loader on the interface address', async () => {
    const all = await until('dnsmasq answering TFTP', async () => {
      const r = await checks();
      return r.every((x) => x.status === 'ok') ? r : undefined;
    }, 20_000, 250);
    expect(byId(all, 'dhcp').detail).toMatch(/^muster's dnsmasq runs \(pid \d+\) on br0$/);
    expect(byId(all, 'tftp').detail).toBe('read undionly.kpxe from 10.99.0.1: first block of 512 bytes');
    expect(byId(all, 'loaders').detail).toBe(`${join(tftp.dir, 'root')}: undionly.kpxe, snponly.efi present; no package checksums to compare`);
  });

  it('fails TFTP and the loader check when the loader is gone', async () => {
    rmSync(join(tftp.dir, 'root', 'undionly.kpxe'));
    const all = await checks();
    expect(byId(all, 'tftp')).toMatchObject({ status: 'fail', detail: expect.stringMatching(/^read undionly\.kpxe from 10\.99\.0\.1: TFTP error 1: .*not found/i), fix: expect.stringContaining('tftpRoot') });
    expect(byId(all, 'loaders')).toMatchObject({ status: 'fail', detail: `${join(tftp.dir, 'root')}: undionly.kpxe is missing` });
  });
});
