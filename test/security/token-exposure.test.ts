/**
 * The agents' bootstrap token on an image's kernel command line (`muster.token=`) is redacted in
 * what a viewer gets from the `images` verb, as by the redactor everywhere else.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { redactSecrets } from '../../controller/auth/redact.js';
import { secureControllerForFile } from './secure-controller.js';

const controller = secureControllerForFile([['vera', 'viewer']]);

it('redacts muster.token= in the image list a viewer reads', async () => {
  const c = controller();
  const token = (await c.admin.request('token-create', { note: 'discovery image' })).token;
  const dir = join(c.dataDir, 'images');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'vmlinuz'), Buffer.alloc(4096, 1));
  writeFileSync(join(dir, 'initrd.img'), Buffer.alloc(4096, 2));
  await c.admin.request('image-add', { name: 'discovery', kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), cmdline: `console=ttyS0 muster.token=${token} quiet` });

  const vera = await c.login('vera');
  const seen = JSON.stringify(await vera.request('images'));
  expect(seen).not.toContain(token);
  expect(seen).toContain('console=ttyS0 muster.token=*** quiet');
});

it('redacts every …token= assignment, in query strings and on command lines', () => {
  expect(redactSecrets('muster.token=mt1.abc console=ttyS0')).toBe('muster.token=*** console=ttyS0');
  expect(redactSecrets('"access_token=xyz" and ?x=1&token=abc#f')).toBe('"access_token=***" and ?x=1&token=***#f');
  expect(redactSecrets('MUSTER_TOKEN=abc')).toBe('MUSTER_TOKEN=***');
});
