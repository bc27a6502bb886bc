/**
 * A disk build's progress where an admin looks: the installer's reports (posted as muster's
 * installer does, to the URL its boot script names) reach `muster nodes` (`build 45%` in the phase
 * column), `muster show` (a `build:` line) and their JSON, and its done and failed reports are
 * `build` events with the installer's words.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Event } from '../../shared/protocol.js';
import { requireBuild, runCli } from '../helpers/controller.js';
import { startInProc, type InProc } from '../helpers/inproc.js';
import { installReportUrl } from '../helpers/install-report.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

const MAC = '52:54:00:00:45:01';
const tmp = tempDir('muster-build-progress-');
const events: Event[] = [];
let c: InProc;

beforeAll(async () => {
  requireBuild();
  c = await startInProc({ build: { groups: { disky: 'disk' }, imageDirs: [tmp.dir] } } as never);
  await c.client.stream([c.client.topics.event('build')], (_t, p) => void events.push(Event.parse(JSON.parse(p.toString()))));
  const file = (name: string) => {
    const path = join(tmp.dir, name);
    writeFileSync(path, `${name} bytes`);
    return path;
  };
  await runCli(c.running.mqttUrl, ['image', 'add', 'deb', '--kernel', file('vmlinuz'), '--initrd', file('installer.img'), '--disk', file('disk.img.gz')]);
});
afterAll(async () => {
  await c?.stop();
  tmp.remove();
});

it('shows a disk build going from prepared through 45% to done in nodes and show, and its end as a build event', async () => {
  const cli = (...args: string[]) => runCli(c.running.mqttUrl, args);
  await cli('define', 'd45', `mac=${MAC}`, 'groups=disky', 'image=deb');
  await cli('build', 'd45');
  const post = async (body: string) => expect((await fetch(await installReportUrl(c.running.httpUrl!, MAC), { method: 'POST', body })).status).toBe(200);

  await post('progress 45 writing image to /dev/sda');
  expect((await cli('nodes', 'd45')).stdout).toMatch(/^d45\s+build 45%\s/m);
  expect((await cli('show', 'd45')).stdout).toMatch(/^build\s+disk building: 45% writing image to \/dev\/sda \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\)$/m);
  const [row] = JSON.parse((await cli('nodes', 'd45', '--json')).stdout) as Array<{ build: { system: string; state: string; detail: string; at: string } }>;
  expect(row!.build).toMatchObject({ system: 'disk', state: 'building', detail: '45% writing image to /dev/sda' });
  expect(Number.isNaN(Date.parse(row!.build.at))).toBe(false);

  await post('done /dev/sda sha256 ab12');
  const shown = JSON.parse((await cli('show', 'd45', '--json')).stdout) as { build: { state: string; detail: string } };
  expect(shown.build).toMatchObject({ state: 'done', detail: 'installed image deb (/dev/sda sha256 ab12); boots its disk' });
  // Not building any more: the phase column is the phase again.
  expect((await cli('nodes', 'd45')).stdout).not.toMatch(/build 45%/);
  const done = await until('the done event', () => events.find((e) => e.node === 'd45' && e.details.state === 'done'));
  expect(done.message).toBe('d45 build done: installed image deb (/dev/sda sha256 ab12); boots its disk');

  // Built again, and this time the installer finds no disk: failed, in its words.
  await cli('build', 'd45');
  await post('failed no disk matches the rule size>=100G (disks: sda 10.7 GB)');
  const failed = await until('the failed event', () => events.find((e) => e.node === 'd45' && e.details.state === 'failed'));
  expect(failed.details.detail).toBe('install failed: no disk matches the rule size>=100G (disks: sda 10.7 GB)');
  expect((await cli('show', 'd45')).stdout).toMatch(/^build\s+disk failed: install failed: no disk matches/m);

  // Removed and defined again: a new node, with no build word of the old one's.
  await cli('undefine', 'd45');
  await cli('define', 'd45', `mac=${MAC}`, 'groups=disky');
  expect((JSON.parse((await cli('show', 'd45', '--json')).stdout) as { build: unknown }).build).toBeNull();
});
