/**
 * FAI in a running controller: configured in the `build.fai` section, selected for a group, its
 * tools resolved through commands.allowedDirs; `muster build` writes the node's pxelinux config
 * with fai-chboot, muster's network boot hands the machine to FAI's pxelinux (bootUrl), and FAI's
 * own sendmon moves the node to done (its next boot the disk) through the fai-monitor muster runs.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProc, type InProc } from '../helpers/inproc.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';
import { addFaiClass, faiServerLayout, pxeFile, sendmon, type FaiServerDirs } from './fai-server.js';

const MAC = '52:54:00:aa:00:07';
const tmp = tempDir('muster-fai-ctl-');
let dirs: FaiServerDirs;
let port: number;
let c: InProc;

beforeAll(async () => {
  dirs = faiServerLayout(tmp.dir);
  addFaiClass(dirs, 'WEB');
  port = await freePort();
  const fai = { etcDir: dirs.etcDir, configSpace: dirs.configSpace, monitorPort: port, classes: ['DEBIAN'], bootUrl: 'http://10.0.0.1/fai' };
  c = await startInProc({ build: { groups: { web: 'fai' }, fai }, commands: { allowedDirs: ['/usr/sbin'] } } as never);
}, 60_000);
afterAll(async () => {
  await c?.stop();
  tmp.remove();
});

describe('fai in the controller', () => {
  it('lists its images, builds a node through fai-chboot and takes done from fai-monitor', async () => {
    const images = await c.client.request('images', {});
    expect(images).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'WEB', system: 'fai' })]));
    await c.client.request('define', { range: 'n007', settings: ['groups=web', `mac=${MAC}`, 'image=WEB', 'tags=rack1'] });
    expect(await c.client.request('build', { range: 'n007' })).toEqual({ results: [{ node: 'n007', ok: true, system: 'fai' }] });
    const text = readFileSync(pxeFile(dirs, MAC), 'utf8');
    expect(text).toContain('ADDCLASSES=DEBIAN,WEB,RACK1 FAI_SENDID=n007');
    expect(text).toContain('FAI_ACTION=install');
    expect((await c.client.request('build-status', { range: 'n007' }))[0]).toMatchObject({ node: 'n007', state: 'prepared', system: 'fai' });
    // muster's own network boot hands the prepared node's machine to FAI's pxelinux (bootUrl).
    const script = async () => (await fetch(`${c.running.httpUrl}/boot/${MAC}.ipxe`)).text();
    expect(await script()).toContain('set 210:string http://10.0.0.1/fai/\nchain http://10.0.0.1/fai/pxelinux.0\n');
    await sendmon(dirs, port, 'n007', 'TASKBEGIN partition');
    // Each report is the node's latest build word (a build event), as `muster nodes` shows it.
    await expect.poll(async () => (await c.client.request('show', { node: 'n007' })).build, { timeout: 10_000 }).toMatchObject({ system: 'fai', state: 'building', detail: 'fai task partition' });
    // No agent runs while FAI installs: its reports put the node in phase build, under the build deadline.
    expect((await c.client.request('show', { node: 'n007' })).state).toMatchObject({ phase: 'build' });
    await sendmon(dirs, port, 'n007', 'TASKEND install 0');
    await expect.poll(async () => (await c.client.request('build-status', { range: 'n007' }))[0]!.state, { timeout: 10_000 }).toBe('done');
    expect(readFileSync(pxeFile(dirs, MAC), 'utf8')).toMatch(/^localboot -1$/m);
    expect((await c.client.request('show', { node: 'n007' })).build).toMatchObject({ system: 'fai', state: 'done', detail: 'fai install finished' });
    // Installed: its next network boot is its disk.
    expect(await script()).toContain('sanboot');
  });

  it('refuses to start with fai-chboot outside commands.allowedDirs', async () => {
    const fai = { etcDir: dirs.etcDir, configSpace: dirs.configSpace, monitorPort: await freePort() };
    await expect(startInProc({ build: { fai }, commands: { allowedDirs: [tmp.dir] } } as never)).rejects.toThrow(
      `config build.fai.chboot: /usr/sbin/fai-chboot is not inside a directory of commands.allowedDirs (${tmp.dir})`,
    );
  });
});
