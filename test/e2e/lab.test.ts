/**
 * The virtual cluster lab (test/lab/scenario.ts): a BIOS, a UEFI and a Secure Boot VM with empty
 * disks PXE-boot on a bridge in a network namespace through muster's dnsmasq and a real controller;
 * each is discovered, named by the naming rule and reaches run; kernel → run, console logs,
 * correction of a frozen node through QMP and of a panicked one through ipmi_sim, an admin-offline
 * node left alone; then proxy mode beside a site DHCP server boots the UEFI VM again. Runs for real
 * on this machine (TCG); `npm run lab` runs the same scenario for people. Prints each boot's time
 * to run and where it went.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Lab, type LabReport } from '../lab/scenario.js';

const lines: string[] = [];
const lab = new Lab({ log: (line) => lines.push(`${new Date().toISOString().slice(11, 19)} ${line}`) });

// Namespaces, taps and port 67 need root, as CI has; a developer's non-root run skips.
describe.skipIf(process.getuid?.() !== 0)('the VM lab on a bridge', () => {
  afterAll(async () => {
    await lab.close();
    process.stderr.write(`\n[lab]\n${lines.join('\n')}\n`);
  }, 60_000);

  it('boots BIOS, UEFI and Secure Boot VMs through muster dnsmasq, names them by the rule, corrects what hangs (but not what is offline), and boots UEFI in proxy mode', async () => {
    const r: LabReport = await lab.run();
    const { bios, uefi, secureboot } = r.names;

    // Each unknown machine was named by the rule, in the order it said hello.
    expect(r.helloOrder.map((role) => r.names[role])).toEqual(['lab1', 'lab2', 'lab3']);
    // Every VM reached run on its first boot; bios and secureboot again after their correction,
    // uefi again in proxy mode.
    expect(r.boots.filter((b) => b.cause === 'first boot').map((b) => b.role).sort()).toEqual(['bios', 'secureboot', 'uefi']);
    expect(r.boots.filter((b) => b.cause !== 'first boot').map((b) => `${b.role} ${b.cause}`).sort()).toEqual([
      'bios power-cycle (dead-while-online)',
      'secureboot power-cycle (console-panic)',
      'uefi proxy mode',
    ]);
    // Each boot went through muster's dnsmasq: its DHCP answer and boot script were seen for the MAC.
    for (const b of r.boots) {
      expect(b.timeline.dhcp, `${b.role} ${b.cause}: DHCP seen`).not.toBeNull();
      expect(b.timeline.tftp, `${b.role} ${b.cause}: boot script seen`).not.toBeNull();
      expect(b.timeline.kernelInitrd, `${b.role} ${b.cause}: kernel started`).not.toBeNull();
    }
    // UEFI machines (Secure Boot on or off) took the signed chain in dhcp mode; snponly.efi in proxy mode.
    const marks = (role: string, cause: string) => r.boots.find((b) => b.role === role && b.cause === cause)!.timeline.marks.join(' | ');
    for (const role of ['uefi', 'secureboot']) {
      expect(marks(role, 'first boot')).toMatch(/TFTP shimx64\.efi sent.*TFTP grubx64\.efi sent.*TFTP initrd sent/);
    }
    expect(marks('bios', 'first boot')).toContain('iPXE script requested');
    expect(marks('uefi', 'proxy mode')).toMatch(/PXE proxy: boot file snponly\.efi.*iPXE script requested/);

    expect(r.nodes[bios]!.state).toMatchObject({ phase: 'run', liveness: 'alive', admin: 'online' });
    expect(r.nodes[secureboot]!.state).toMatchObject({ phase: 'run', liveness: 'alive', admin: 'online' });

    // Console logs hold the boot output, written by the controller's serial console driver.
    for (const node of [bios, uefi, secureboot]) {
      const log = r.nodes[node]!.consoleTail.join('\n');
      expect(log, `${node} console log`).toContain('Linux version');
      expect(log, `${node} console log`).toMatch(/muster-init: up \(diskless\)/);
    }
    // The Secure Boot VM's kernel ran with Secure Boot on, after its correction too.
    expect(r.nodes[secureboot]!.consoleTail.join('\n')).toContain('Kernel is locked down from EFI Secure Boot');
    // The panic was seen on its console and explains its correction; ipmi_sim's hook did it.
    expect(r.nodes[secureboot]!.console.some((e) => e.details.pattern === 'kernel-panic')).toBe(true);
    expect(r.bmcActions).toEqual(expect.arrayContaining(['set power 0', 'set power 1']));
    for (const [node, policy] of [[bios, 'dead-while-online'], [secureboot, 'console-panic']] as const) {
      const actions = r.nodes[node]!.actions;
      expect(actions.filter((e) => e.details.state === 'failed'), `${node} failed actions`).toEqual([]);
      expect(actions.some((e) => e.details.state === 'done' && e.details.action === 'power-cycle' && e.details.policy === policy), `${node} power-cycled for ${policy}`).toBe(true);
    }

    // uefi: admin-offline and frozen: dead, and nothing done to it.
    expect(r.nodes[uefi]!.state).toMatchObject({ admin: 'offline', liveness: 'dead', reason: 'lab: held for inspection' });
    expect(r.nodes[uefi]!.actions).toEqual([]);
    expect(r.offlineNodeHistory.filter((t) => t.axis === 'admin').map((t) => t.to)).toEqual(['offline']);
    // Power sync may read its power (a reading, `on`); nothing ever switched it off or cycled it.
    expect(r.offlineNodeHistory.filter((t) => t.axis === 'power' && t.to !== 'on')).toEqual([]);
    expect(r.offlineNodeStillFrozen).toBe(true);

    // Proxy mode: the site's server gave the address, to the firmware and to the booted image.
    const uefiMac = '52:54:00:6c:61:02';
    expect(r.siteServerLog).toMatch(new RegExp(`DHCPACK\\(eth0\\) 10\\.99\\.0\\.5\\d ${uefiMac}`));
    expect(r.nodes[uefi]!.consoleTail.join('\n')).toMatch(/lease 10\.99\.0\.5\d on eth0/);

    expect(r.wallSeconds).toBeLessThan(900);
  }, 900_000);
});
