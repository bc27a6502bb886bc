import { resolve } from 'node:path';
import type { Command } from 'commander';
import { isoTime, table } from '../format.js';
import { reportSummary } from '../progress.js';
import { withController } from '../session.js';
import { buildStatusJson, imageBuildJson, imageJson, powerResultJson, printJson } from '../json-output.js';

/** An image build runs mmdebstrap on the controller: minutes the first time. */
const IMAGE_BUILD_REQUEST_MS = 60 * 60_000;

export function registerBuildCommands(program: Command): void {
  const image = program.command('image').description('the build systems\' image catalog');
  image
    .command('add <name>')
    .description('add an image to the netboot catalog, or with --disk to the disk catalog (paths are read by the controller)')
    .requiredOption('--kernel <file>', 'kernel file')
    .requiredOption('--initrd <file>', 'initrd file (for --disk: the installer, muster\'s initramfs)')
    .option('--disk <file>', "gzip'd raw disk image the disk build system's installer writes (GPT, ESP + root)")
    .option('--cmdline <text>', 'kernel command line (muster adds muster.controller= and the node\'s interfaces)')
    .option('--diskless', 'the image is the node\'s system (runs from RAM): boot it every time, never release to disk')
    .option('--replace', 'replace an image of the same name')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  muster image add rocky9 --kernel /srv/img/vmlinuz --initrd /srv/img/initrd.img --cmdline "console=ttyS0,115200"\n')
    .action(async (name: string, o: { kernel: string; initrd: string; disk?: string; cmdline?: string; diskless?: boolean; replace?: boolean; json?: boolean }, cmd: Command) => {
      const disk = o.disk === undefined ? {} : { disk: resolve(o.disk), system: 'disk' };
      const r = await withController(cmd, (c) => c.request('image-add', { name, kernel: resolve(o.kernel), initrd: resolve(o.initrd), ...disk, cmdline: o.cmdline, diskless: !!o.diskless, replace: !!o.replace }));
      if (o.json) return printJson('image add', imageJson(r));
      process.stdout.write(`image ${name} added\n`);
    });
  image
    .command('list')
    .description('list images')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  muster image list --json\n')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const r = await withController(cmd, (c) => c.request('images'));
      if (o.json) return printJson('image list', r.map((i) => ({ ...imageJson(i), system: i.system })));
      const mb = (b?: number) => (b === undefined ? '-' : `${(b / 1048576).toFixed(1)} MB`);
      process.stdout.write(
        table(
          ['IMAGE', 'SYSTEM', 'KIND', 'SIZE', 'SHA256', 'ADDED', 'DETAIL'],
          r.map((i) => [i.name, i.system, i.kind ?? '-', mb(i.sizeBytes), i.sha256?.slice(0, 16) ?? '-', i.addedAt ? isoTime(i.addedAt) : '-', i.detail ?? '']),
        ) + '\n',
      );
    });
  image
    .command('build <name>')
    .description("build a Debian image with mmdebstrap (on the controller; cached by its inputs): for RAM boot into the netboot catalog, as a disk image into the disk catalog")
    .option('--suite <suite>', 'Debian suite', 'bookworm')
    .option('--packages <list>', 'extra packages, comma-separated')
    .option('--kernel-flavour <flavour>', 'linux-image-<flavour>', 'cloud-amd64')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  muster image build compute --packages openssh-server,less\n')
    .action(async (name: string, o: { suite: string; packages?: string; kernelFlavour: string; json?: boolean }, cmd: Command) => {
      const packages = o.packages ? o.packages.split(',').map((p) => p.trim()).filter(Boolean) : [];
      await withController(cmd, async (c) => {
        // The controller reports each step as a build event of this image.
        if (!o.json) {
          await c.stream([c.topics.event('build')], (_t, payload) => {
            const e = JSON.parse(payload.toString()) as { details?: { image?: string; progress?: string } };
            if (e.details?.image === name && e.details.progress) process.stderr.write(`${e.details.progress}\n`);
          });
        }
        const r = await c.request(
          'image-build',
          { name, suite: o.suite, packages, kernelFlavour: o.kernelFlavour },
          IMAGE_BUILD_REQUEST_MS,
        );
        if (o.json) return printJson('image build', imageBuildJson(r));
        const m = r.manifest;
        process.stdout.write(`image ${name}: ${r.cached ? 'cached' : `built in ${(m.buildMs / 1000).toFixed(1)} s`} (${m.key}); root ${(m.root.sizeBytes / 1048576).toFixed(1)} MB sha256 ${m.root.sha256}; disk ${(m.disk.sizeBytes / 1048576).toFixed(1)} MB sha256 ${m.disk.sha256}\n`);
      });
    });

  program
    .command('build <range>')
    .description('prepare nodes to build their image on the next network boot (xCAT nodeset)')
    .option('--status', 'show the build state instead')
    .option('--reboot', 'power-cycle the nodes once prepared')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  muster set rack1 image=rocky9\n  muster build rack1 --reboot\n  muster build rack1 --status\n')
    .action(async (range: string, o: { status?: boolean; reboot?: boolean; json?: boolean }, cmd: Command) => {
      await withController(cmd, async (c) => {
        if (o.status) {
          const r = await c.request('build-status', { range });
          if (o.json) return printJson('build --status', r.map(buildStatusJson));
          return void process.stdout.write(table(['NODE', 'SYSTEM', 'STATE', 'DETAIL'], r.map((x) => [x.node, x.system ?? '-', x.state, x.detail ?? ''])) + '\n');
        }
        const r = await c.request('build', { range });
        const ready = r.results.filter((x) => x.ok).map((x) => x.node);
        const power = o.reboot && ready.length ? await c.request('power', { action: 'cycle', range: ready.join(',') }, Math.max(60_000, ready.length * 30_000)) : null;
        if (o.json) {
          if (r.results.some((x) => !x.ok) || power?.results.some((x) => !x.ok)) process.exitCode = 1;
          return printJson('build', { build: r.results, power: power ? power.results.map(powerResultJson) : null });
        }
        reportSummary(r.results, 'build: ');
        if (power) reportSummary(power.results, 'power cycle: ');
      });
    });
}
