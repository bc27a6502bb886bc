/**
 * The Debian package (`npm run package`, scripts/package.sh) installed into a fresh Debian root made
 * with mmdebstrap: lintian finds no errors or warnings, systemd-analyze accepts the unit, and the controller
 * starts from the installed files as the muster user. The root (trixie: its nodejs is 20, which the
 * package depends on) is cached as a tarball named by its inputs under /var/cache/muster-test, so
 * only the first run on a machine downloads it (about 4 minutes here). Later runs take 3 to 5 minutes
 * on a loaded 2-core machine, mostly packaging (xz), lintian and apt install; every step has its own
 * timeout.
 * Needs root (mmdebstrap, chroot, mounts), like the network tests.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/bundle.js';
import { requireBuild } from '../helpers/controller.js';
import { start, stopAll } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';

const root = process.getuid?.() === 0;
const ROOT_CACHE = '/var/cache/muster-test/deb-roots';
const SUITE = 'trixie';
/** What an admin's host has before `apt install ./muster_*.deb`, besides the package's own Depends. */
const INCLUDE = ['systemd', 'nodejs', 'adduser', 'libstdc++6', 'bash-completion'];
const FIRST_ROOT_MS = 15 * 60_000;
const PACKAGE_MS = 5 * 60_000;

let work: ReturnType<typeof tempDir>;
let deb: string;
let debRoot: string;

function run(cmd: string, args: string[], timeout = 120_000): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}${r.stdout}`.slice(0, 6000));
  return r.stdout;
}

/** The first Debian mirror of apt's own sources (as boot/build-os-image.sh picks it). */
function aptMirror(): string {
  const sources = execFileSync('sh', ['-c', 'cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true'], { encoding: 'utf8' });
  const deb822 = [...sources.matchAll(/^URIs:\s*(\S+)/gm)].map((m) => m[1]!);
  const oneLine = [...sources.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/gm)].map((m) => m[1]!);
  const mirror = [...deb822, ...oneLine].find((u) => !u.includes('-security'));
  if (!mirror) throw new Error("no Debian mirror in apt's sources");
  return mirror;
}

/** A tarball of a minimal Debian root, made once per set of inputs. */
function cachedRoot(): string {
  const mirror = aptMirror();
  const mmdebstrap = run('mmdebstrap', ['--version']).trim();
  const key = createHash('sha256').update(JSON.stringify({ SUITE, INCLUDE, mirror, mmdebstrap })).digest('hex').slice(0, 16);
  const tar = join(ROOT_CACHE, `${SUITE}-${key}.tar`);
  if (existsSync(tar)) return tar;
  mkdirSync(ROOT_CACHE, { recursive: true });
  const partial = `${tar}.${process.pid}.partial.tar`;
  run('mmdebstrap', ['--variant=apt', `--include=${INCLUDE.join(',')}`, '--quiet', SUITE, partial, mirror], FIRST_ROOT_MS);
  renameSync(partial, tar);
  return tar;
}

/** `cmd` inside the root, with /proc and /dev mounted in a private mount namespace (gone with the process). */
function inRoot(cmd: string[]): [string, string[]] {
  const script = 'mount -t proc proc "$0/proc" && mount --bind /dev "$0/dev" && exec chroot "$0" "$@"';
  return ['unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, debRoot, ...cmd]];
}
const runInRoot = (cmd: string[], timeout?: number) => run(...inRoot(cmd), timeout);

beforeAll(async () => {
  if (!root) return;
  requireBuild();
  work = tempDir('muster-deb-');
  deb = run('bash', [join(repoRoot, 'scripts', 'package.sh'), join(work.dir, 'out')], PACKAGE_MS).trim();
  const tar = cachedRoot();
  debRoot = join(work.dir, 'root');
  mkdirSync(debRoot);
  run('tar', ['-xf', tar, '-C', debRoot]);
  execFileSync('cp', [deb, join(debRoot, 'tmp', 'muster.deb')]);
  // apt resolves the package's Depends from what the root already has.
  runInRoot(['apt-get', 'install', '-y', '/tmp/muster.deb'], 300_000);
}, FIRST_ROOT_MS + PACKAGE_MS + 300_000);

afterAll(async () => {
  await stopAll();
  work?.remove();
});

describe.skipIf(!root)('the Debian package (needs root: mmdebstrap, chroot)', () => {
  it('passes lintian without errors or warnings (overrides: packaging/debian/lintian-overrides)', () => {
    const r = spawnSync('lintian', ['--fail-on', 'error,warning', '--tag-display-limit', '0', deb], { encoding: 'utf8', timeout: 300_000 });
    expect(r.stdout.split('\n').filter((l) => /^[EW]: /.test(l)), r.stdout).toEqual([]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  }, 300_000);

  it('installs the unit, the config as a conffile, the CLI with completion, the agent and boot files', () => {
    const rootPath = (p: string) => join(debRoot, p);
    expect(existsSync(rootPath('lib/systemd/system/muster-controller.service'))).toBe(true);
    expect(runInRoot(['dpkg-query', '-W', '-f', '${Conffiles}', 'muster'])).toContain('/etc/muster/controller.yaml');
    for (const f of ['usr/share/muster/dist/agent.js', 'usr/share/muster/dist/agent-network.js', 'usr/share/muster/boot/ipxe/node.ipxe', 'usr/share/muster/boot/build-os-image.sh']) expect(existsSync(rootPath(f)), f).toBe(true);
    expect(runInRoot(['sh', '-c', 'command -v muster'])).toBe('/usr/bin/muster\n');
    const completion = runInRoot(['bash', '-c', '. /usr/share/bash-completion/completions/muster && complete -p muster']);
    expect(completion).toContain('complete -F _muster muster');
    // The data directory: the muster user's, 0700 (the store holds BMC passwords).
    const data = statSync(rootPath('var/lib/muster'));
    expect(data.mode & 0o777).toBe(0o700);
    expect(runInRoot(['stat', '-c', '%U:%G', '/var/lib/muster'])).toBe('muster:muster\n');
    expect(runInRoot(['id', '-nG', 'muster'])).toMatch(/\bdialout\b/);
  });

  it('has a unit that systemd-analyze verify accepts', () => {
    const r = spawnSync(...inRoot(['systemd-analyze', 'verify', '/lib/systemd/system/muster-controller.service']), { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr + r.stdout).toBe('');
    expect(r.status).toBe(0);
  });

  it('starts the controller from the installed files as the muster user, with the shipped config', async () => {
    // The shipped config as it is, except ports: the test's own (0: free ones the OS picks).
    const [cmd, args] = inRoot(['setpriv', '--reuid=muster', '--regid=muster', '--init-groups', '--reset-env', 'muster', 'controller', '--config', '/etc/muster/controller.yaml', '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--admin-port', '0']);
    const controller = start(cmd, args);
    const ready = await controller.waitFor(/muster controller ready: mqtt=mqtt:\/\/127\.0\.0\.1:\d+ .*data=\/var\/lib\/muster/, 60_000);
    expect(ready).toBeTruthy();
    // A clean stop on SIGTERM (as systemd stops it), given time on a loaded machine before the helper's SIGKILL.
    controller.child.kill('SIGTERM');
    const exit = await Promise.race([controller.exited, new Promise((resolve) => setTimeout(resolve, 30_000, 'still running'))]);
    expect(exit, controller.output().slice(-2000)).toEqual({ code: 0, signal: null });
    expect(controller.output()).toContain('muster controller stopped');
    // What it wrote is the muster user's.
    expect(runInRoot(['stat', '-c', '%U', '/var/lib/muster/store.json'])).toBe('muster\n');
  }, 90_000);
});
