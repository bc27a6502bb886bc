/**
 * Planted secrets (BMC passwords in power and console URLs, an agent token) never show in what the
 * CLI prints, the controller's logs, the events on the wire or exports — unless an admin asks
 * with --show-secrets; a viewer cannot.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControllerClient } from '../../cli/client.js';
import { musterBin, startControllerProc, type ControllerProc } from '../helpers/controller.js';

const SECRET = 'PLANTED-s3cret-4711';
const TOKEN_SECRET = 'PLANTED-query-token-0815';
const execFileP = promisify(execFile);
let controller: ControllerProc;
let wire: ControllerClient;
const wireLog: string[] = [];
const printed: string[] = [];

/** `muster ARGS` as the first admin (or anonymously: a viewer on this controller). */
async function muster(args: string[], as: 'admin' | 'anonymous' | { user: string; password: string } = 'admin', input = ''): Promise<{ code: number; out: string }> {
  const env = { ...process.env, NO_COLOR: '1', MUSTER_USER: '', MUSTER_PASSWORD: '', MUSTER_PASSWORD_FILE: '' };
  if (as === 'admin') Object.assign(env, { MUSTER_USER: 'admin', MUSTER_PASSWORD_FILE: join(controller.dataDir, 'admin-password') });
  else if (as !== 'anonymous') Object.assign(env, { MUSTER_USER: as.user, MUSTER_PASSWORD: as.password });
  try {
    const run = execFileP(process.execPath, [musterBin, '--controller', controller.mqttUrl, ...args], { env, timeout: 30_000 });
    run.child.stdin?.end(input);
    const { stdout, stderr } = await run;
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

beforeAll(async () => {
  // Anonymous clients are viewers here; the admin logs in with the first-start password.
  controller = await startControllerProc(['--anonymous-role', 'viewer'], { env: { MUSTER_LOG_LEVEL: 'debug' } });
  const { readFileSync } = await import('node:fs');
  wire = await ControllerClient.connect({ url: controller.mqttUrl, username: 'admin', password: readFileSync(join(controller.dataDir, 'admin-password'), 'utf8').trim() });
  await wire.stream(['muster/#'], (topic, payload) => wireLog.push(`${topic} ${payload.toString('utf8')}`));
});
afterAll(async () => {
  await wire?.close();
  await controller?.stop();
});

describe('secrets', () => {
  it('are kept out of CLI output, logs, events and exports', async () => {
    const define = await muster(['define', 'n1', `power=redfish://root:${SECRET}@127.0.0.1:1/Systems/1`, `console=sol:ipmi://admin:${SECRET}@127.0.0.1:1`]);
    expect(define.code, define.out).toBe(0);
    // A secret in a query option: fence agents take any option, so a site may write one there.
    const withToken = await muster(['define', 'n2', `power=fence://root:${SECRET}@127.0.0.1:1/redfish?token=${TOKEN_SECRET}`]);
    expect(withToken.code, withToken.out).toBe(0);
    for (const args of [['show', 'n1'], ['show', 'n1', '--json'], ['show', 'n2'], ['nodes', '--json'], ['export'], ['export', '--format', 'csv'], ['power', 'status', 'n1'], ['power', 'off', 'n1'], ['history', 'n1']]) {
      const r = await muster(args);
      printed.push(`$ muster ${args.join(' ')}\n${r.out}`);
    }
    const shown = printed.join('\n');
    expect(shown).toContain('redfish://root:***@127.0.0.1:1');
    expect(shown).toContain('sol:ipmi://admin:***@127.0.0.1:1');
    // The power calls failed against port 1 and said so: the error is there, the secret is not.
    expect(shown).toMatch(/n1/);
    const token = await muster(['token', 'create', '--note', 'secrets test']);
    expect(token.code, token.out).toBe(0);
    const agentToken = token.out.match(/mt1\.[A-Za-z0-9_-]{43}/)![0];
    await muster(['token', 'list']).then((r) => printed.push(r.out));
    // What the controller logged and published all along.
    // The admin's own requests carry the secrets to the controller (only admins may read requests;
    // TLS keeps them off the network): everything else on the wire must not.
    const published = wireLog.filter((l) => !l.startsWith('muster/request/'));
    for (const [what, text] of [['CLI output', printed.join('\n')], ['controller log', controller.proc.output()], ['events and states on the wire', published.join('\n')]] as const) {
      for (const secret of [SECRET, TOKEN_SECRET, agentToken]) expect(text.split('\n').filter((l) => l.includes(secret)), `${what} holds ${secret.slice(0, 10)}…`).toEqual([]);
    }
    expect(wireLog.some((l) => l.startsWith('muster/events/'))).toBe(true);
  }, 180_000); // a dozen CLI processes, each a few seconds on a loaded 2-core machine

  it('muster user add takes the new password from stdin; the user then logs in with it', async () => {
    const add = await muster(['user', 'add', 'vera', '--role', 'viewer'], 'admin', 'vera-secret-pw\n');
    expect(add.out).toBe('user vera added (viewer)\n');
    expect((await muster(['whoami'], { user: 'vera', password: 'vera-secret-pw' })).out).toBe('vera (viewer)\n');
    const wrong = await muster(['whoami'], { user: 'vera', password: 'nope-nope' });
    expect(wrong.code).not.toBe(0);
    expect(wrong.out).toMatch(/refused user vera: bad user name or password/);
    expect(controller.proc.output()).not.toContain('vera-secret-pw');
  });

  it('are shown by export --show-secrets to an admin, and refused to a viewer', async () => {
    const admin = await muster(['export', '--show-secrets']);
    expect(admin.out).toContain(`redfish://root:${SECRET}@127.0.0.1:1`);
    expect(admin.out).toContain(`?token=${TOKEN_SECRET}`);
    const viewer = await muster(['export', '--show-secrets'], 'anonymous');
    expect(viewer.code).not.toBe(0);
    expect(viewer.out).toMatch(/export: needs the admin role; anonymous is viewer/);
    expect(viewer.out).not.toContain(SECRET);
  });
});
