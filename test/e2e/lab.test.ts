/**
 * The virtual cluster lab (test/lab/scenario.ts): three qemu VMs PXE-boot muster's image from a
 * real controller; identification (MAC, assign, naming), kernel → run, console logs, correction of
 * a frozen node through QMP and of a panicked one through ipmi_sim, and an admin-offline node left
 * alone. Runs for real on this machine (TCG); `npm run lab` runs the same scenario for people.
 */
import { afterAll, expect, it } from 'vitest';
import { Lab, type LabReport } from '../lab/scenario.js';

const lines: string[] = [];
const lab = new Lab({ log: (line) => lines.push(`${new Date().toISOString().slice(11, 19)} ${line}`) });

afterAll(async () => {
  await lab.close();
  process.stderr.write(`\n[lab]\n${lines.join('\n')}\n`);
}, 60_000);

it('boots three VMs through the controller, identifies them, and corrects what hangs (but not what is offline)', async () => {
  const r: LabReport = await lab.run();

  // Every node came up and reached run; n1 and lab3 twice (first boot + after their correction).
  expect(r.boots.filter((b) => b.cause === 'first boot').map((b) => b.node).sort()).toEqual(['lab3', 'n1', 'n2']);
  expect(r.boots.filter((b) => b.cause !== 'first boot').map((b) => `${b.node} ${b.cause}`).sort()).toEqual([
    'lab3 power-cycle (console-panic)',
    'n1 power-cycle (dead-while-online)',
  ]);
  expect(r.nodes.n1!.state).toMatchObject({ phase: 'run', liveness: 'alive', admin: 'online' });
  expect(r.nodes.lab3!.state).toMatchObject({ phase: 'run', liveness: 'alive', admin: 'online' });

  // Console logs hold the boot output, written by the controller's serial console driver.
  for (const node of ['n1', 'n2', 'lab3']) {
    const log = r.nodes[node]!.consoleTail.join('\n');
    expect(log, `${node} console log`).toContain('Linux version');
    expect(log, `${node} console log`).toMatch(/muster-init: up \(diskless\)/);
  }
  // The panic was seen on lab3's console and explains its correction; ipmi_sim's hook did it.
  expect(r.nodes.lab3!.console.some((e) => e.details.pattern === 'kernel-panic')).toBe(true);
  expect(r.nodes.lab3!.consoleTail.join('\n')).toContain('Kernel panic - not syncing');
  expect(r.bmcActions).toEqual(expect.arrayContaining(['set power 0', 'set power 1']));
  for (const [node, policy] of [['n1', 'dead-while-online'], ['lab3', 'console-panic']] as const) {
    const actions = r.nodes[node]!.actions;
    expect(actions.filter((e) => e.details.state === 'failed'), `${node} failed actions`).toEqual([]);
    expect(actions.some((e) => e.details.state === 'done' && e.details.action === 'power-cycle' && e.details.policy === policy), `${node} power-cycled for ${policy}`).toBe(true);
  }

  // n2: admin-offline and frozen: dead, and nothing done to it.
  expect(r.nodes.n2!.state).toMatchObject({ admin: 'offline', liveness: 'dead', reason: 'lab: held for inspection' });
  expect(r.nodes.n2!.actions).toEqual([]);
  expect(r.offlineNodeHistory.filter((t) => t.axis === 'admin').map((t) => t.to)).toEqual(['offline']);
  // Power sync may read its power (a reading, `on`); nothing ever switched it off or cycled it.
  expect(r.offlineNodeHistory.filter((t) => t.axis === 'power' && t.to !== 'on')).toEqual([]);
  expect(r.offlineNodeStillFrozen).toBe(true);

  expect(r.wallSeconds).toBeLessThan(600);
}, 600_000);
