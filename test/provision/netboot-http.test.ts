import { createHash, randomBytes } from 'node:crypto';
import { utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetbootHttpHandler } from '../../controller/provision/netboot/http.js';
import { NetbootBuildSystem } from '../../controller/provision/netboot/netboot.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('muster-netboot-http-');
const kernelBytes = randomBytes(1000);
let netboot: NetbootBuildSystem;
let server: http.Server;
let port: number;
const logged: string[] = [];

const MAC_PREPARED = '52:54:00:00:00:01';
const MAC_RELEASED = '52:54:00:00:00:02';
const MAC_UNKNOWN = '52:54:00:00:00:99';
const nodesByMac: Record<string, { name: string }> = { [MAC_PREPARED]: { name: 'n001' }, [MAC_RELEASED]: { name: 'n002' } };

beforeAll(async () => {
  netboot = await NetbootBuildSystem.open({ dataDir: join(tmp.dir, 'data'), controllerUrl: 'mqtt://10.0.2.2:1883', discoveryImage: 'discover' });
  for (const [name, kernel] of [['rocky9', kernelBytes], ['discover', Buffer.from('discovery kernel')]] as const) {
    writeFileSync(join(tmp.dir, `${name}.kernel`), kernel);
    writeFileSync(join(tmp.dir, `${name}.initrd`), `initrd of ${name}`);
    await netboot.addImage(name, { kernel: join(tmp.dir, `${name}.kernel`), initrd: join(tmp.dir, `${name}.initrd`), cmdline: 'console=ttyS0' });
  }
  const interfaces = [{ name: 'eth0', dhcp: false, addresses: ['10.1.0.11/16'], gateway: '10.1.0.1', mtu: 9000 }];
  await netboot.configure('n001', { image: 'rocky9', tags: [], interfaces });
  await netboot.prepare('n001');
  await netboot.configure('n002', { image: 'rocky9', tags: [], interfaces: [] });
  await netboot.prepare('n002');
  await netboot.release('n002');
  const handler = createNetbootHttpHandler({ netboot, nodeByMac: (mac) => nodesByMac[mac] ?? null, log: (m) => logged.push(m) });
  server = http.createServer((req, res) => {
    if (!handler(req, res)) {
      res.writeHead(404);
      res.end('not netboot');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await netboot.close();
  tmp.remove();
});

/** A raw request: the path goes on the wire exactly as given (fetch would normalise `..`). */
function request(path: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('boot scripts per MAC', () => {
  it('a prepared node gets its build script, and is building only once its agent says so', async () => {
    expect((await request(`/boot/${MAC_PREPARED}.ipxe`, { method: 'HEAD' })).status).toBe(200);
    expect((await netboot.status('n001')).state).toBe('prepared');
    const r = await request(`/boot/${MAC_PREPARED}.ipxe`);
    expect(r.status).toBe(200);
    const script = r.body.toString();
    expect(script.startsWith('#!ipxe\n')).toBe(true);
    const base = `http://127.0.0.1:${port}`;
    expect(script).toContain(
      `kernel ${base}/images/rocky9/kernel initrd=initrd console=ttyS0 muster.controller=mqtt://10.0.2.2:1883 BOOTIF=01-\${net0/mac:hexhyp} muster.if=eth0:10.1.0.11/16,gw=10.1.0.1,mtu=9000 || goto failed\n`,
    );
    expect(script).toContain(`initrd --name initrd ${base}/images/rocky9/initrd || goto failed\n`);
    expect(script).not.toMatch(/\{\{/);
    // Anyone may fetch any MAC's script: the fetch moves nothing.
    expect((await netboot.status('n001')).state).toBe('prepared');
    const since = (await netboot.status('n001')).since!;
    expect(await netboot.buildStarted('n001', since - 1, 'a boot from before it was prepared')).toBe(false);
    expect(await netboot.buildStarted('n001', since, 'its agent booted')).toBe(true);
    expect(await netboot.status('n001')).toMatchObject({ state: 'building', detail: 'its agent booted' });
    // A reboot during the build builds again; the other MAC spelling (iPXE hexhyp) works too.
    const again = await request(`/boot/${MAC_PREPARED.replace(/:/g, '-')}.ipxe`);
    expect(again.body.toString()).toContain('/images/rocky9/kernel');
  });

  it('a released node boots its local disk, as its firmware does it', async () => {
    const r = await request(`/boot/${MAC_RELEASED}.ipxe`);
    expect(r.status).toBe(200);
    expect(r.body.toString()).toContain('iseq ${platform} efi && exit 1 ||\nsanboot --no-describe --drive 0x80 || exit 1\n');
    expect(r.body.toString()).toContain('n002 is not prepared to build');
  });

  it('an unknown machine gets the discovery image, without interfaces', async () => {
    const script = (await request(`/boot/${MAC_UNKNOWN}.ipxe`)).body.toString();
    expect(script).toContain(`kernel http://127.0.0.1:${port}/images/discover/kernel initrd=initrd console=ttyS0 muster.controller=mqtt://10.0.2.2:1883 BOOTIF=01-\${net0/mac:hexhyp} || goto failed`);
    expect(script).not.toContain('muster.if=');
  });

  it('renders grub scripts (Secure Boot, read over TFTP) from the same decisions, BOOTIF with the MAC that asked', async () => {
    const mac = '52:54:00:00:00:98';
    const discovery = await netboot.bootScript(mac, null, '', 'grub');
    expect(discovery).toContain('if linux /images/discover/kernel console=ttyS0 muster.controller=mqtt://10.0.2.2:1883 BOOTIF=01-52-54-00-00-00-98; then\n  if initrd /images/discover/initrd; then\n    boot\n');
    expect(discovery).toContain('configfile ${prefix}/grub.cfg\n');
    const local = await netboot.bootScript(MAC_RELEASED, 'n002', '', 'grub');
    expect(local).toContain('echo "muster: n002 is not prepared to build, booting the local disk"\n');
    expect(local.endsWith('\nexit 1\n')).toBe(true);
  });

  it('refuses what is not a MAC', async () => {
    const r = await request('/boot/not-a-mac.ipxe');
    expect(r.status).toBe(404);
    expect(r.body.toString()).toContain('/boot/<mac>.ipxe');
  });
});

describe('image files', () => {
  const path = '/images/rocky9/kernel';

  it('serves the whole file with its checksum as ETag', async () => {
    const r = await request(path);
    expect(r.status).toBe(200);
    expect(r.body.equals(kernelBytes)).toBe(true);
    expect(r.headers['accept-ranges']).toBe('bytes');
    expect(r.headers.etag).toBe(`"${createHash('sha256').update(kernelBytes).digest('hex')}"`);
  });

  it('serves the first bytes of a Range', async () => {
    const r = await request(path, { headers: { Range: 'bytes=0-99' } });
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe('bytes 0-99/1000');
    expect(r.headers['content-length']).toBe('100');
    expect(r.body.equals(kernelBytes.subarray(0, 100))).toBe(true);
  });

  it('serves a suffix range and an open-ended range', async () => {
    const suffix = await request(path, { headers: { Range: 'bytes=-10' } });
    expect(suffix.status).toBe(206);
    expect(suffix.headers['content-range']).toBe('bytes 990-999/1000');
    expect(suffix.body.equals(kernelBytes.subarray(990))).toBe(true);
    const open = await request(path, { headers: { Range: 'bytes=995-' } });
    expect(open.headers['content-range']).toBe('bytes 995-999/1000');
    expect(open.body.equals(kernelBytes.subarray(995))).toBe(true);
  });

  it('answers 416 for a range beyond the end', async () => {
    const r = await request(path, { headers: { Range: 'bytes=1000-1100' } });
    expect(r.status).toBe(416);
    expect(r.headers['content-range']).toBe('bytes */1000');
    expect(r.body.length).toBe(0);
  });

  it('ignores a multi-range (sends it all)', async () => {
    const r = await request(path, { headers: { Range: 'bytes=0-1,5-6' } });
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(1000);
  });

  it('HEAD gives the headers without a body', async () => {
    const r = await request(path, { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe('1000');
    expect(r.body.length).toBe(0);
    const ranged = await request(path, { method: 'HEAD', headers: { Range: 'bytes=10-19' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers['content-length']).toBe('10');
  });

  it('404 for an unknown image or part, 405 for other methods', async () => {
    expect((await request('/images/nope/kernel')).status).toBe(404);
    expect((await request('/images/rocky9/vmlinuz')).status).toBe(404);
    const post = await request(path, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('refuses path traversal', async () => {
    for (const p of ['/images/../../../etc/passwd', '/images/%2e%2e/kernel', '/images/rocky9%2f..%2f..%2fetc/kernel', '/boot/..%2f..%2fetc%2fpasswd', '/images/rocky9/%00']) {
      const r = await request(p);
      expect(r.status, p).toBe(400);
      expect(r.body.toString()).toContain('refused path');
    }
  });

  it('leaves other URLs to the server', async () => {
    const r = await request('/dashboard');
    expect(r.status).toBe(404);
    expect(r.body.toString()).toBe('not netboot');
  });

  it('refuses to serve a file changed since it was added', async () => {
    const file = join(tmp.dir, 'discover.initrd');
    utimesSync(file, new Date(), new Date(Date.now() + 60_000));
    const r = await request('/images/discover/initrd');
    expect(r.status).toBe(500);
    expect(r.body.toString()).toContain('image discover initrd is missing or changed since it was added');
    expect(logged.join('\n')).toContain(`${file} is missing or changed`);
  });
});
