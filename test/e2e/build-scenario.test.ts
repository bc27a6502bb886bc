/**
 * One scenario, two build systems (test/lab/build-scenario.ts): a BIOS VM whose group's build
 * system is `netboot` and one whose group's is `disk`, both with empty disks, PXE-boot the
 * discovery image on the lab's bridge, are named by the rule, built by `muster build --reboot`, and
 * reach `run` in Debian: in RAM (root on tmpfs) and from the disk, which also survives one more
 * power cycle without being built again. Prints each boot's time to run and where it went.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { BuildScenario, type BuildCaseReport } from '../lab/build-scenario.js';
import { timelineSummary } from '../lab/timeline.js';

const lines: string[] = [];
const scenario = new BuildScenario((line) => lines.push(`${new Date().toISOString().slice(11, 19)} ${line}`));

// Namespaces, taps and port 67 need root, as CI has; a developer's non-root run skips.
describe.skipIf(process.getuid?.() !== 0)('one scenario, the build system switched by config', () => {
  afterAll(async () => {
    await scenario.close();
    process.stderr.write(`\n[build scenario]\n${lines.join('\n')}\n`);
  }, 60_000);

  // UEFI's chains are booted to run by the lab (firmware PXE → snponly.efi → iPXE, proxy mode) and
  // by disk-uefi (iPXE's EFI ROM → installer → the disk); pxe.test.ts checks snponly.efi in dhcp
  // mode. A third VM here cost a third more time on two cores and booted no other path.
  it('builds a BIOS VM into Debian in RAM (netboot) and one onto its disk (disk), each from an empty disk to run', async () => {
    const r = await scenario.run([
      { system: 'netboot', firmware: 'bios', mac: '52:54:00:62:73:03' },
      { system: 'disk', firmware: 'bios', mac: '52:54:00:62:73:02' },
    ]);
    const byCase = (system: string, firmware: string): BuildCaseReport => r.cases.find((c) => c.system === system && c.firmware === firmware)!;
    for (const c of r.cases) {
      console.log(`${c.node} ${c.system}/${c.firmware}: ${c.boots.map((b) => `${b.step} ${timelineSummary(b.timeline)}`).join('; ')}`);
      // Each boot reached run under systemd: Debian, not the discovery image's init.
      for (const b of c.boots) expect(b.state, `${c.node} ${b.step}`).toMatchObject({ phase: 'run', liveness: 'alive', admin: 'online' });
      expect(c.serial.join('\n'), `${c.node}: Debian booted`).toMatch(/Welcome to .*Debian/);
    }

    const ram = byCase('netboot', 'bios');
    expect(ram.boots.map((b) => b.step)).toEqual(['discovery', 'build']);
    expect(ram.buildStates[0]).toBe('prepared');
    // iPXE fetched its script, then the image's kernel and root (over HTTP; the lab's forwarder
    // hides the guest's address, so the fetches are not tied to its MAC), and systemd ran from RAM.
    expect(ram.boots[1]!.timeline.marks.join(' | ')).toMatch(/iPXE script requested.*kernel banner on the serial port/);
    expect(ram.serial.join('\n')).toMatch(/Welcome to .*Debian/);
    // A diskless image: it boots the image again on its next network boot, never its empty disk.
    expect(ram.script).toMatch(/kernel \S+\/images\/deb\/kernel/);

    const disk = byCase('disk', 'bios');
    expect(disk.boots.map((b) => b.step)).toEqual(['discovery', 'disk boot', 'power-cycle']);
    // Built once: prepared, written, done; the power cycle after it built nothing.
    expect(disk.buildStates.filter((s) => s !== 'building')).toEqual(['prepared', 'done']);
    expect(disk.serial.join('\n')).toMatch(/muster-init: installing http:\S+ onto \/dev\/vda/);
    expect(disk.buildDetail).toMatch(/^installed image deb \(\/dev\/vda sha256 [0-9a-f]{64}, root \d+ MiB, BIOS: no UEFI boot entries to set, the network boot sends it to its disk\); boots its disk$/);
    // Recorded as installed: its network boot goes to the disk (BIOS: sanboot).
    expect(disk.script).toContain('sanboot --no-describe --drive 0x80');
    expect(disk.serial.join('\n')).toMatch(/muster-init: root=LABEL=muster-root/);
    // After the last cycle muster's script (sanboot) sent it to its disk: no installer (phase build), no write.
    expect(disk.boots[2]!.timeline.marks.join(' | ')).toContain('iPXE script requested');
    expect(disk.phasesAfterLastCycle.slice(-3)).toEqual(['kernel', 'init', 'run']);
    expect(disk.phasesAfterLastCycle).not.toContain('build');
    const again = disk.serialAfterLastCycle.join('\n');
    expect(again).not.toMatch(/muster-init: installing/);
    expect(again).toMatch(/muster-init: root=LABEL=muster-root/);
  }, 40 * 60_000);
});
