/**
 * `command:` power targets run a program as the controller's user, and an admin sets them over
 * MQTT (define, set, import): without a limit, a stolen admin session runs any file the controller
 * can reach. Programs run only from `commands.allowedDirs` of the config file, checked after
 * resolving symlinks and `..`: refused when set, and again when run (a target stored earlier).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ControllerClient } from '../../cli/client.js';
import { ControllerConfig } from '../../controller/config.js';
import { startController } from '../../controller/controller.js';
import { defaultExtensions } from '../../controller/extensions.js';
import { createLogger } from '../../controller/log.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

const tmp = tempDir('muster-command-programs-');
const allowed = join(tmp.dir, 'allowed');
const elsewhere = join(tmp.dir, 'elsewhere');
mkdirSync(allowed);
mkdirSync(elsewhere);
/** A power script that leaves `<name>.ran` beside it when run. */
function script(dir: string, name: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\ntouch ${path}.ran\n[ "$1" = status ] && echo on\nexit 0\n`);
  chmodSync(path, 0o755);
  return path;
}
const good = script(allowed, 'pdu.sh');
const evil = script(elsewhere, 'evil.sh');
symlinkSync(evil, join(allowed, 'link.sh'));
afterAll(() => tmp.remove());

/** A controller on `dataDir` whose config allows command: programs from `dirs`; an admin client. */
async function controllerAllowing(dataDir: string, dirs: string[], extra: Partial<ControllerConfig> = {}) {
  const cfg = ControllerConfig.parse({ dataDir, host: '127.0.0.1', mqttPort: 0, wsPort: null, httpPort: null, admin: { host: '127.0.0.1', port: null, tls: null }, storeDebounceMs: 20, power: { pollIntervalS: 0 }, commands: { allowedDirs: dirs }, ...extra });
  const running = await startController(cfg, { log: createLogger({ level: 'silent', pretty: false }), extensions: defaultExtensions });
  const admin = await ControllerClient.connect({ url: running.mqttUrl, username: 'admin', password: readFileSync(join(dataDir, 'admin-password'), 'utf8').trim(), timeoutMs: 10_000 });
  return {
    admin,
    async stop() {
      await admin.close();
      await running.stop();
    },
  };
}

const refusal = (p: Promise<unknown>) => p.then(
  () => 'accepted',
  (err: Error) => err.message,
);

describe('command: programs on a real controller', () => {
  it('refuses define, set and import of a program outside commands.allowedDirs, by path, by .. and by symlink', async () => {
    const c = await controllerAllowing(join(tmp.dir, 'data1'), [allowed]);
    try {
      expect(await refusal(c.admin.request('define', { range: 'n1', settings: [`power=command:${evil}`] }))).toBe(`node n1: power: ${evil} is not inside a directory of commands.allowedDirs (${allowed})`);
      expect(await c.admin.request('define', { range: 'n1', settings: [`power=command:${good}`] })).toEqual({ created: ['n1'], changed: [], replacedPower: [] });
      // The URL resolves the `..` before the check sees it.
      expect(await refusal(c.admin.request('set', { range: 'n1', settings: [`power=command:${allowed}/../elsewhere/evil.sh?cycle=native`] }))).toContain(`node n1: power: ${evil} is not inside`);
      expect(await refusal(c.admin.request('set', { range: 'n1', settings: [`power=command:${join(allowed, 'link.sh')}`] }))).toContain(`(${evil}) is not inside`);
      const imported = await c.admin.request('import', { text: `name,power\nn2,command:${evil}\n`, format: 'csv' });
      expect(imported).toEqual({ imported: false, problems: [{ line: null, message: `node n2: power: ${evil} is not inside a directory of commands.allowedDirs (${allowed})` }] });

      expect((await c.admin.request('power', { action: 'on', range: 'n1' })).results).toMatchObject([{ node: 'n1', ok: true }]);
      expect(existsSync(`${good}.ran`)).toBe(true);
      expect(existsSync(`${evil}.ran`)).toBe(false);
    } finally {
      await c.stop();
    }
  });

  it('does not run a stored target whose program the config no longer allows', async () => {
    const dataDir = join(tmp.dir, 'data2');
    const before = await controllerAllowing(dataDir, [elsewhere]);
    await before.admin.request('define', { range: 'n3', settings: [`power=command:${evil}`] });
    // Allowed then, the new target is read at once; only a run after the config change counts.
    await until('the new target read', () => existsSync(`${evil}.ran`));
    await before.stop();
    rmSync(`${evil}.ran`);
    const after = await controllerAllowing(dataDir, [allowed]);
    try {
      const [result] = (await after.admin.request('power', { action: 'on', range: 'n3' })).results;
      expect(result).toMatchObject({ node: 'n3', ok: false, error: expect.stringContaining(`${evil} is not inside a directory of commands.allowedDirs (${allowed})`) });
      expect(existsSync(`${evil}.ran`)).toBe(false);
    } finally {
      await after.stop();
    }
  });

  it('refuses to start with a build tool outside commands.allowedDirs', async () => {
    const start = controllerAllowing(join(tmp.dir, 'data3'), [allowed], { build: { commands: [{ name: 'xcat', executable: evil }] } });
    await expect(start).rejects.toThrow(`config build.commands xcat: ${evil} is not inside a directory of commands.allowedDirs (${allowed})`);
    expect(existsSync(`${evil}.ran`)).toBe(false);
  });
});
