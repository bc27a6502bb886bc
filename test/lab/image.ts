/**
 * The lab's boot image: the Debian cloud kernel (boot/fetch-kernel.sh, cached in .lab/kernel/)
 * and muster's netboot initramfs (boot/build-initramfs.sh, cached in .lab/initramfs/).
 */
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/controller.js';

export interface LabImage {
  kernel: string;
  initrd: string;
  initrdBytes: number;
  /** The build script's summary line: size, modules, cached or built in how long. */
  summary: string;
}

/** Runs a boot/ script; its last stdout line is the answer, stderr its report. */
function runBootScript(script: string, args: string[]): { result: string; report: string } {
  const r = spawnSync(join(repoRoot, 'boot', script), args, { encoding: 'utf8', maxBuffer: 16 << 20 });
  const report = (r.stderr ?? '').trim();
  if (r.status !== 0) throw new Error(`boot/${script} failed (${r.error?.message ?? `exit ${r.status}`}): ${report.split('\n').slice(-5).join(' | ')}`);
  return { result: r.stdout.trim().split('\n').pop() ?? '', report };
}

/** The cloud kernel's directory (vmlinuz, lib/modules/<version>/), downloaded once. */
export function labKernelDir(): string {
  return runBootScript('fetch-kernel.sh', []).result;
}

/** Kernel + initramfs for lab VMs; needs dist/agent.js (`node scripts/build.mjs`). */
export function labImage(): LabImage {
  const kernelDir = labKernelDir();
  const { result: initrd, report } = runBootScript('build-initramfs.sh', ['--kernel-dir', kernelDir]);
  return { kernel: join(kernelDir, 'vmlinuz'), initrd, initrdBytes: statSync(initrd).size, summary: report.split('\n').pop() ?? '' };
}
