/**
 * OS images made from Debian's packages (`muster image build`): boot/build-os-image.sh run as a
 * child process, its output (a kernel, a root for RAM boot, an installer initramfs and a disk
 * image) cached in a directory named by a hash of the inputs, so a second build of the same
 * inputs costs a hash of the agent bundle.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { OsImageInputs } from '../../shared/verbs/args.js';
import { lastLine, runProgram } from '../process/run.js';


const OsImageFile = z.object({ path: z.string(), sizeBytes: z.number(), sha256: z.string() });
export const OsImageManifest = z.object({
  key: z.string(),
  inputs: OsImageInputs.extend({ agentSha256: z.string(), scriptVersion: z.string() }),
  kernel: OsImageFile,
  root: OsImageFile,
  /** muster's initramfs, which installs the disk image (and boots the installed disk). */
  installer: OsImageFile,
  /** The GPT disk image (ESP + root), gzip'd. */
  disk: OsImageFile,
  buildMs: z.number(),
  builtAt: z.number(),
});
export type OsImageManifest = z.output<typeof OsImageManifest>;

export interface OsImageBuilder {
  /** boot/build-os-image.sh */
  script: string;
  /** dist/agent.js, which goes into the image. */
  agent: string;
  /** Other files that go into the image (systemd units, the initramfs and the scripts that make it): part of the cache key. */
  extraFiles: readonly string[];
  /** Cache: one directory per input hash. */
  imageDir: string;
  now: () => number;
}

/** The cache key: everything that changes what the script builds, packages in any order. */
export function osImageKey(inputs: OsImageInputs, agentSha256: string, scriptVersion: string): string {
  const canonical = JSON.stringify([inputs.suite, [...new Set(inputs.packages)].sort(), inputs.kernelFlavour, agentSha256, scriptVersion]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The image for these inputs: from the cache, or built now (progress lines to `onProgress`). */
export async function buildOsImage(b: OsImageBuilder, inputs: OsImageInputs, opts: { signal: AbortSignal; onProgress: (line: string) => void }): Promise<OsImageManifest & { cached: boolean }> {
  if (!existsSync(b.agent)) throw new Error(`image build: agent bundle ${b.agent} is missing (node scripts/build.mjs)`);
  const version = await runProgram(b.script, ['--version'], { signal: opts.signal });
  if (version.code !== 0) throw new Error(`image build: ${b.script} --version failed: ${lastLine(version.stderr)}`);
  const scriptVersion = version.stdout.trim();
  // The agent and the units beside it: one hash of what muster puts into the image.
  const agentSha256 = createHash('sha256')
    .update((await Promise.all([b.agent, ...b.extraFiles].map(sha256File))).join(' '))
    .digest('hex');
  const key = osImageKey(inputs, agentSha256, scriptVersion);
  const dir = join(b.imageDir, key);
  const manifestFile = join(dir, 'manifest.json');
  const cached = () => ({ ...OsImageManifest.parse(JSON.parse(readFileSync(manifestFile, 'utf8'))), cached: true });
  if (existsSync(manifestFile)) return cached();

  mkdirSync(b.imageDir, { recursive: true });
  const stage = `${dir}.building-${process.pid}-${b.now()}`;
  const started = b.now();
  try {
    const args = ['--out', stage, '--suite', inputs.suite, '--kernel-flavour', inputs.kernelFlavour, '--agent', b.agent];
    if (inputs.packages.length) args.push('--packages', inputs.packages.join(','));
    const r = await runProgram(b.script, args, { signal: opts.signal, onStderrLine: opts.onProgress });
    if (r.code !== 0) throw new Error(`image build failed (exit ${r.code ?? r.signal}): ${lastLine(r.stderr) || 'no output'}`);
    const file = async (name: string) => {
      const path = join(dir, name);
      return { path, sizeBytes: statSync(join(stage, name)).size, sha256: await sha256File(join(stage, name)) };
    };
    const manifest: OsImageManifest = { key, inputs: { ...inputs, agentSha256, scriptVersion }, kernel: await file('vmlinuz'), root: await file('root.cpio.gz'), installer: await file('installer.img'), disk: await file('disk.img.gz'), buildMs: b.now() - started, builtAt: b.now() };
    writeFileSync(join(stage, 'manifest.json'), JSON.stringify(manifest, null, 1));
    // A rename: a half-built image is never found in the cache.
    try {
      renameSync(stage, dir);
    } catch (err) {
      // A concurrent build of the same inputs finished first: its image is as good.
      if (existsSync(manifestFile)) return cached();
      throw new Error(`image build: cannot move ${stage} to ${dir}: ${(err as Error).message}`);
    }
    return { ...manifest, cached: false };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
