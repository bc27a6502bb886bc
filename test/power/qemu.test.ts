/** The qemu driver against real qemu processes (`-machine none`: QMP without a guest, starts in ms). */
import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { PowerError } from '../../controller/power/driver.js';
import { withQmp } from '../../controller/power/qmp.js';
import { createPowerDriver } from '../../controller/power/registry.js';
import { start, stopAll, type Proc } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('muster-qemu-');
afterAll(async () => {
  await stopAll();
  tmp.remove();
});

/** Starts qemu with a QMP socket and resolves once the socket exists. `-S` starts it paused. */
async function startVm(sock: string, paused = false): Promise<Proc> {
  const vm = start('qemu-system-x86_64', ['-machine', 'none', '-display', 'none', '-nodefaults', '-qmp', `unix:${sock},server=on,wait=off`, ...(paused ? ['-S'] : [])]);
  await vi.waitFor(() => expect(existsSync(sock) || vm.child.exitCode !== null).toBe(true), { timeout: 10_000, interval: 20 });
  if (vm.child.exitCode !== null) throw new Error(`qemu exited: ${vm.output()}`);
  return vm;
}

/** What qemu itself reports, read over a separate QMP connection. */
const qemuStatus = (sock: string) => withQmp(sock, new AbortController().signal, (q) => q.execute('query-status')) as Promise<{ status: string }>;
const freeze = (sock: string) => withQmp(sock, new AbortController().signal, (q) => q.execute('stop'));

describe('qemu driver', () => {
  it('a running or frozen VM is on; cycle and reset revive a frozen VM; off quits it', async () => {
    const sock = join(tmp.dir, 'vm1.sock');
    const vm = await startVm(sock);
    const d = createPowerDriver(`qemu://${sock}`, 'vm1');
    expect(d.nativeCycle).toBe(true);
    expect(await d.status()).toBe('on');

    await freeze(sock); // what the lab does to simulate a hung node
    expect((await qemuStatus(sock)).status).toBe('paused');
    expect(await d.status()).toBe('on');
    await d.cycle();
    expect((await qemuStatus(sock)).status).toBe('running');

    await freeze(sock);
    await d.reset();
    expect((await qemuStatus(sock)).status).toBe('running');

    await d.off();
    expect(await vm.exited).toMatchObject({ code: 0 });
    expect(await d.status()).toBe('off');
    await d.off(); // already off: nothing to do
    const err = (await d.on().catch((e: unknown) => e)) as PowerError;
    expect(err.message).toBe('node vm1: qemu power on failed: the qemu process has quit, and a quit VM cannot be powered on through QMP (configure a qemuLaunch hook)');
    expect(((await d.reset().catch((e: unknown) => e)) as PowerError).message).toContain('the VM is off (qemu process gone): nothing to reset');
  });

  it('powers a quit VM on through the launcher hook and resumes it', async () => {
    const sock = join(tmp.dir, 'vm2.sock');
    const launched: string[] = [];
    const d = createPowerDriver(`qemu://${sock}`, 'vm2', {
      qemuLaunch: async (node, path) => {
        launched.push(`${node} ${path}`);
        start('qemu-system-x86_64', ['-machine', 'none', '-display', 'none', '-nodefaults', '-S', '-qmp', `unix:${path},server=on,wait=off`]);
      },
    });
    expect(await d.status()).toBe('off');
    await d.on();
    expect(launched).toEqual([`vm2 ${sock}`]);
    expect((await qemuStatus(sock)).status).toBe('running'); // launched paused (-S), then cont
    await d.on(); // already running: no second launch
    expect(launched).toHaveLength(1);
    await d.off();
    await vi.waitFor(() => expect(existsSync(sock)).toBe(false), { timeout: 5_000, interval: 20 });
  });

  it('a QMP socket that never greets times out', async () => {
    const sock = join(tmp.dir, 'mute.sock');
    const mute = net.createServer(() => undefined);
    await new Promise<void>((resolve) => mute.listen(sock, resolve));
    try {
      const err = (await createPowerDriver(`qemu://${sock}`, 'vm3', { timeoutMs: 300 }).status().catch((e: unknown) => e)) as PowerError;
      expect(err).toMatchObject({ code: 'timeout', message: 'node vm3: qemu power status failed: timed out after 300 ms' });
    } finally {
      await new Promise((resolve) => mute.close(resolve));
    }
  });
});
