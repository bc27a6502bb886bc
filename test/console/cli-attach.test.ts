/**
 * `muster console` as people use it, the CLI bundle against an in-process demo controller (its
 * `sim://` consoles echo what the writer types): one writer named user@host, a forced takeover
 * told to the displaced writer at once, `&F` to take it back, and `--tail N [--follow]`.
 */
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { musterBin, requireBuild, runCli } from '../helpers/controller.js';
import { startInProc, type InProc } from '../helpers/inproc.js';
import { start, type Proc } from '../helpers/proc.js';
import { until } from '../helpers/wait.js';

let c: InProc;
const me = `anonymous@${hostname()}`;
const cli = (...args: string[]): Proc => start(process.execPath, [musterBin, '--controller', c.running.mqttUrl, 'console', 'demo01', ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
const type = (p: Proc, keys: string) => p.child.stdin!.write(keys);

beforeAll(async () => {
  requireBuild();
  c = await startInProc({ demo: 1 });
  // The boot text is in the log: the node has printed its login prompt.
  await until('demo01 at its login prompt', async () => (await c.client.request('console-tail', { node: 'demo01', lines: 1 })).lines[0]?.endsWith('demo01 login: '));
});
afterAll(async () => c?.stop());

describe('muster console', () => {
  it('names the writer as user@host; a forced writer is told at once, reads on, and takes the writer back with &F', async () => {
    const alice = cli();
    await alice.waitFor('[attached to demo01 read-write; &. detaches, &? lists escapes]');

    const refused = await runCli(c.running.mqttUrl, ['console', 'demo01'], { allowFail: true });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`muster: node demo01: console is attached read-write by ${me}, use --force or --read-only\n`);

    const bob = cli('--force');
    await bob.waitFor(`[attached to demo01 read-write, displacing ${me};`);
    await alice.waitFor(`[displaced: ${me} took the writer of demo01; reading on, read-only; &F takes it back, &. detaches]`);
    expect((await c.client.request('console-tail', { node: 'demo01', lines: 1 })).lines[0]).toMatch(new RegExp(`\\[muster\\] writer ${me} took over from ${me} \\(force\\)$`));

    // The displaced writer's keys are not sent; the new writer's are (the node echoes them to all).
    type(alice, 'from-alice\r');
    type(bob, 'from-bob\r');
    await alice.waitFor('from-bob');
    expect(alice.output()).toContain('[read-only: keys are not sent; &F takes the writer, &. detaches]');

    type(alice, '&F');
    await alice.waitFor(`[attached to demo01 read-write, displacing ${me};`);
    await bob.waitFor('[displaced: ');
    type(alice, 'alice-again\r');
    await bob.waitFor('alice-again');

    type(alice, '&.');
    expect(await alice.exited).toEqual({ code: 0, signal: null });
    expect(alice.output()).toContain('[detached from demo01]');
    expect((await c.client.request('consoles'))[0]!.writer).toBeNull();
    bob.child.stdin!.end();
    expect(await bob.exited).toEqual({ code: 0, signal: null });
    const log = (await c.client.request('console-tail', { node: 'demo01', lines: 20 })).lines.join('\n');
    expect(log).toContain('from-bob');
    expect(log).toContain('alice-again');
    expect(log).not.toContain('from-alice');
  });

  it('--tail N prints the last N lines and exits; with --follow, then live output like tail -n N -f', async () => {
    const last = (await c.client.request('console-tail', { node: 'demo01', lines: 3 })).lines;
    const tail = await runCli(c.running.mqttUrl, ['console', 'demo01', '--tail', '3']);
    expect(tail.stdout).toBe(last.map((l) => `${l}\n`).join(''));

    const follow = cli('--tail', '3', '--follow');
    const notice = '[following demo01 read-only; Ctrl-C stops]\n';
    await follow.waitFor(notice);
    // stdout and stderr are two pipes read into one buffer: the notice may come first.
    expect(follow.output().replace(notice, '').startsWith(last.map((l) => `${l}\n`).join(''))).toBe(true);
    await c.client.request('console-attach', { node: 'demo01' });
    await c.client.request('console-write', { node: 'demo01', data: Buffer.from('live-line\r').toString('base64') });
    await follow.waitFor('live-line\r\n');
    await c.client.request('console-detach', { node: 'demo01' });
    await follow.stop('SIGINT');
    expect(await follow.exited).toEqual({ code: 0, signal: null });
  });

  it('drops a writer whose CLI was killed when another attaches, without --force', async () => {
    const gone = cli();
    await gone.waitFor('[attached to demo01 read-write;');
    gone.child.kill('SIGKILL');
    await gone.exited;
    // The broker notices the closed connection on its own time: until then the writer is held.
    const r = await until('the killed writer dropped', () => c.client.request('console-attach', { node: 'demo01', host: 'ws9' }).catch(() => null));
    expect(r.displaced).toBeNull();
    expect((await c.client.request('consoles'))[0]!.writer).toBe('anonymous@ws9');
    await c.client.request('console-detach', { node: 'demo01' });
  });

  it('refuses --force with --read-only, and a bad --tail', async () => {
    const both = await runCli(c.running.mqttUrl, ['console', 'demo01', '--read-only', '--force'], { allowFail: true });
    expect(both.stderr).toBe('muster: --force takes the writer: it cannot go with --follow or --read-only\n');
    const bad = await runCli(c.running.mqttUrl, ['console', 'demo01', '--tail', 'x'], { allowFail: true });
    expect(bad.stderr).toBe('muster: --tail "x" must be a whole number ≥ 1\n');
  });
});
