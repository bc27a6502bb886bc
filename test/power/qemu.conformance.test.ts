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
import { powerConformance, type SeenCommand } from './conformance.js';

const tmp = tempDir('muster-qemu-');
afterAll(async () => {
  await stopAll();
  tmp.remove();
});

const qemuArgs = (sockets: string[], paused: boolean) => [
  '-machine', 'none', '-display', 'none', '-nodefaults',
  ...sockets.flatMap((s) => ['-qmp', `unix:${s},server=on,wait=off`]),
  ...(paused ? ['-S'] : []),
];

/** Starts qemu with QMP sockets and resolves once they exist. `-S` starts it paused. */
async function startVm(sockets: string[], paused = false): Promise<Proc> {
  const vm = start('qemu-system-x86_64', qemuArgs(sockets, paused));
  await vi.waitFor(() => expect(sockets.every((s) => existsSync(s)) || vm.child.exitCode !== null).toBe(true), { timeout: 10_000, interval: 20 });
  if (vm.child.exitCode !== null) throw new Error(`qemu exited: ${vm.output()}`);
  return vm;
}

/**
 * A second QMP monitor on the VM, held open: it hears the VM's own events (RESET, SHUTDOWN, and
 * CLOSED when the process ends) and answers query-status. Replies come in order after the events
 * before them, so a round trip means every earlier event has been heard.
 */
function observe(socket: string, onEvent: (event: string) => void) {
  const sock = net.connect(socket);
  const waiting: Array<(reply: { return?: unknown }) => void> = [];
  let buffered = '';
  sock.on('data', (d: Buffer) => {
    buffered += d.toString('utf8');
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const msg = JSON.parse(buffered.slice(0, nl)) as { event?: string; return?: unknown; QMP?: unknown };
      buffered = buffered.slice(nl + 1);
      if (msg.event) onEvent(msg.event);
      else if (!msg.QMP) waiting.shift()?.(msg);
    }
  });
  sock.on('error', () => undefined); // the VM quitting ends the connection
  let open = true;
  const closed = new Promise<void>((resolve) =>
    sock.on('close', () => {
      open = false;
      for (const w of waiting.splice(0)) w({});
      onEvent('CLOSED');
      resolve();
    }),
  );
  /** The reply to `command`; an empty one when the VM has quit. */
  const ask = (command: string) =>
    new Promise<{ return?: unknown }>((resolve) => {
      if (!open) return resolve({});
      waiting.push(resolve);
      sock.write(`${JSON.stringify({ execute: command })}\n`);
    });
  const ready = ask('qmp_capabilities');
  return { ask, ready, closed, isOpen: () => open };
}

powerConformance('qemu', async () => {
  const sock = join(tmp.dir, 'n1.sock');
  const obsSock = join(tmp.dir, 'n1-observer.sock');
  const seen: SeenCommand[] = [];
  let vm: Proc | null = null;
  let observer: ReturnType<typeof observe> | null = null;
  /** The VM runs while its observer connection is open: qemu closes it as it quits. */
  const running = () => observer?.isOpen() === true;
  const QEMU_EVENTS: Record<string, SeenCommand> = { RESET: 'reset', SHUTDOWN: 'off', CLOSED: 'off' };

  /** What the driver's qemuLaunch hook does: start the VM (paused, as a real launcher may). */
  const launch = async () => {
    vm = await startVm([sock, obsSock], true);
    seen.push('on');
    // qemu may exit before it sends SHUTDOWN for a quit: the monitor closing means off too, once.
    let off = false;
    observer = observe(obsSock, (event) => {
      const command = QEMU_EVENTS[event];
      if (command === 'off' && off) return;
      if (command === 'off') off = true;
      if (command) seen.push(command);
    });
    await observer.ready;
  };
  /** Waits until every event the VM sent so far has been heard. */
  const settle = async () => {
    await observer?.ask('query-status');
    if (!running()) await vm?.exited;
  };
  await launch();
  const mute = await muteSocket(join(tmp.dir, 'mute.sock'));
  return {
    node: 'vm1',
    target: `qemu://${sock}`,
    opts: { qemuLaunch: launch },
    counterpart: {
      async state() {
        await settle();
        if (!running()) return 'off';
        const status = (await observer!.ask('query-status')).return as { status: string };
        return status.status === 'shutdown' ? 'off' : 'on';
      },
      async set(state) {
        if (state === 'on' && !running()) await launch();
        if (state === 'off' && running()) {
          await observer!.ask('quit');
          await Promise.all([vm!.exited, observer!.closed]);
        }
      },
      async seen() {
        await settle();
        return [...seen];
      },
    },
    hung: { target: `qemu://${mute.path}`, node: 'vm3', inFlight: async () => mute.open() },
    close: async () => undefined,
  };
});

/** A unix socket that accepts connections and never says anything (a wedged qemu); counts the open ones. */
async function muteSocket(path: string): Promise<{ path: string; open: () => number }> {
  let open = 0;
  const mute = net.createServer((s) => {
    open++;
    s.on('close', () => open--);
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => mute.listen(path, resolve));
  mute.unref();
  return { path, open: () => open };
}

/** What qemu itself reports, read over a separate QMP connection. */
const qemuStatus = (sock: string) => withQmp(sock, new AbortController().signal, (q) => q.execute('query-status')) as Promise<{ status: string }>;
const freeze = (sock: string) => withQmp(sock, new AbortController().signal, (q) => q.execute('stop'));

describe('qemu driver specifics', () => {
  it('a frozen VM is on; cycle and reset revive it; a quit VM cannot be powered on without a launcher', async () => {
    const sock = join(tmp.dir, 'vm2.sock');
    const vm = await startVm([sock]);
    const d = createPowerDriver(`qemu://${sock}`, 'vm2');
    expect(d.nativeCycle).toBe(true);

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
    await d.off(); // already off: nothing to do
    const err = (await d.on().catch((e: unknown) => e)) as PowerError;
    expect(err.message).toBe('node vm2: qemu power on failed: the qemu process has quit, and a quit VM cannot be powered on through QMP (configure a qemuLaunch hook)');
    expect(((await d.reset().catch((e: unknown) => e)) as PowerError).message).toContain('the VM is off (qemu process gone): nothing to reset');
  });

  it('launches a quit VM once, and resumes it', async () => {
    const sock = join(tmp.dir, 'vm4.sock');
    const launched: string[] = [];
    const d = createPowerDriver(`qemu://${sock}`, 'vm4', {
      qemuLaunch: async (node, path) => {
        launched.push(`${node} ${path}`);
        start('qemu-system-x86_64', qemuArgs([path], true));
      },
    });
    await d.on();
    expect(launched).toEqual([`vm4 ${sock}`]);
    expect((await qemuStatus(sock)).status).toBe('running'); // launched paused (-S), then cont
    await d.on(); // already running: no second launch
    expect(launched).toHaveLength(1);
    await d.off();
  });
});
