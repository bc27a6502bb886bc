/**
 * `npm run lab`: the lab scenario for people, with progress and events as they happen (as root).
 * `npm run lab -- --build netboot|disk [--firmware bios|uefi]`: the build scenario instead, one VM
 * built by that build system; `--build fai` (BIOS): one VM installed by Debian's FAI (opt-in: not in
 * `npm test`; the first run builds FAI's nfsroot).
 */
import { parseArgs } from 'node:util';
import { BuildScenario, type LabBuildSystem } from './build-scenario.js';
import type { Firmware } from './firmware.js';
import { Lab } from './scenario.js';
import { timelineSummary } from './timeline.js';

const started = Date.now();
const stamp = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s`;
const log = (line: string) => process.stdout.write(`${stamp()}  ${line}\n`);
const { values } = parseArgs({ options: { build: { type: 'string' }, firmware: { type: 'string' } } });
const firmware = values.firmware ?? 'bios';
const SYSTEMS: readonly string[] = ['netboot', 'disk', 'fai'];
// The scenario's network offers snponly.efi, not the signed chain: no Secure Boot here (the lab has it).
const FIRMWARES: readonly string[] = ['bios', 'uefi'];
if (values.build !== undefined && !SYSTEMS.includes(values.build)) {
  process.stderr.write(`lab: --build must be one of ${SYSTEMS.join(', ')}, not "${values.build}"\n`);
  process.exit(2);
}
if (!FIRMWARES.includes(firmware)) {
  process.stderr.write(`lab: --firmware must be one of ${FIRMWARES.join(', ')}, not "${firmware}"\n`);
  process.exit(2);
}
// FAI's install kernel boots through pxelinux.0 (FAI's TFTP root holds no UEFI loader muster chains to).
if (values.build === 'fai' && firmware !== 'bios') {
  process.stderr.write('lab: --build fai boots FAI through pxelinux.0: --firmware bios only\n');
  process.exit(2);
}
if (values.firmware !== undefined && values.build === undefined) {
  process.stderr.write('lab: --firmware goes with --build (the lab has its own three VMs)\n');
  process.exit(2);
}

async function lab(): Promise<void> {
  const lab = new Lab({ log, verbose: true });
  try {
    const r = await lab.run();
    process.stdout.write(`\nimage: ${r.image.initrd} (${(r.image.bytes / 1048576).toFixed(1)} MB)\nboot times (power-on or action → run):\n`);
    for (const b of r.boots) process.stdout.write(`  ${b.node} ${b.role.padEnd(10)} ${b.cause.padEnd(36)} ${timelineSummary(b.timeline)}\n`);
    const offline = r.names.uefi;
    process.stdout.write(`offline node ${offline}: ${r.nodes[offline]!.actions.length} actions, still frozen: ${r.offlineNodeStillFrozen}\n`);
    process.stdout.write(`wall time: ${r.wallSeconds.toFixed(0)} s\n`);
  } finally {
    await lab.close();
  }
}

async function buildScenario(system: LabBuildSystem, firmware: Firmware): Promise<void> {
  const scenario = new BuildScenario(log, true);
  try {
    const r = await scenario.run([{ system, firmware, mac: '52:54:00:62:73:10' }]);
    if (r.image) process.stdout.write(`\nimage ${r.image.key}: ${r.image.cached ? 'cached' : `built in ${(r.image.buildMs / 1000).toFixed(0)} s`}\n`);
    if (r.faiNfsroot) process.stdout.write(`\nFAI nfsroot ${r.faiNfsroot.dir}: ${r.faiNfsroot.cached ? `cached (its first build took ${r.faiNfsroot.buildSeconds} s)` : `built in ${r.faiNfsroot.buildSeconds} s`}\n`);
    process.stdout.write('boot times (power-on or action → run):\n');
    for (const c of r.cases) for (const b of c.boots) process.stdout.write(`  ${c.node} ${system}/${firmware} ${b.step.padEnd(12)} ${timelineSummary(b.timeline)}\n`);
    for (const c of r.cases.filter((k) => k.steps.length > 0)) process.stdout.write(`${c.node}'s ${system} build, from \`muster build\`:\n${c.steps.map((s) => `  ${s}\n`).join('')}`);
    process.stdout.write(`wall time: ${r.wallSeconds.toFixed(0)} s\n`);
  } finally {
    await scenario.close();
  }
}

let code = 0;
try {
  await (values.build ? buildScenario(values.build as LabBuildSystem, firmware as Firmware) : lab());
} catch (err) {
  process.stderr.write(`lab failed: ${(err as Error).message}\n`);
  code = 1;
}
process.exit(code);
