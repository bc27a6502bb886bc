/**
 * `qemu:///path/to/qmp.sock` — a qemu VM through its QMP socket (`-qmp unix:PATH,server=on,wait=off`).
 *
 * A VM is `on` while its process lives, paused or not (`stop` freezes it; it still holds its
 * power); `off` when the guest shut down under `-no-shutdown` or the process is gone (no socket).
 * - off: `quit` (hard off: the process exits).
 * - on: `cont` if paused, `system_reset` + `cont` after a guest shutdown. A quit VM has no process
 *   left to talk to: `on` then needs the `qemuLaunch` hook (which starts qemu again), else it fails.
 * - reset and cycle: `system_reset` + `cont` — the VM's own safe cycle, which also revives a VM
 *   frozen with `stop`; cycle of a quit VM is `on`.
 */
import type { PowerBackend, PowerDriverFactory, PowerState } from '../driver.js';
import { sleep } from '../guarded.js';
import { QmpUnreachableError, withQmp, type QmpSession } from '../qmp.js';

declare module '../driver.js' {
  interface DriverOptions {
    /**
     * Starts the VM of `node` again after it quit, so `on` works; resolve once qemu is started
     * (the driver then waits for its QMP socket). Without it, `on` of a quit VM fails.
     */
    qemuLaunch?: (node: string, socketPath: string, signal: AbortSignal) => Promise<void>;
  }
}

/** How often to try the socket while a launched qemu starts. */
const LAUNCH_POLL_MS = 100;

const readStatus = async (qmp: QmpSession): Promise<PowerState> => {
  const r = (await qmp.execute('query-status')) as { status?: string } | undefined;
  if (typeof r?.status !== 'string') return 'unknown';
  return r.status === 'shutdown' ? 'off' : 'on';
};

export const qemuDriver: PowerDriverFactory = {
  scheme: 'qemu',
  nativeCycleByDefault: true,
  params: [],
  create({ url, node, opts }) {
    if (url.host) throw new Error(`QMP is reached by a local unix socket: use qemu:///absolute/path (three slashes), not host "${url.host}"`);
    const socketPath = decodeURIComponent(url.pathname);
    if (socketPath.length < 2) throw new Error('missing QMP socket path (qemu:///path/to/qmp.sock)');

    /** Brings a running VM to `running` from any state; `fresh` forces a reset first. */
    const resetAndRun = async (qmp: QmpSession, fresh: boolean) => {
      const r = (await qmp.execute('query-status')) as { status?: string; running?: boolean };
      if (fresh || r.status === 'shutdown') await qmp.execute('system_reset');
      if (!r.running || r.status === 'shutdown') await qmp.execute('cont');
    };

    const launch = async (signal: AbortSignal) => {
      if (!opts.qemuLaunch) throw new Error('the qemu process has quit, and a quit VM cannot be powered on through QMP (configure a qemuLaunch hook)');
      await opts.qemuLaunch(node, socketPath, signal);
      for (;;) {
        try {
          return await withQmp(socketPath, signal, (qmp) => resetAndRun(qmp, false));
        } catch (err) {
          if (!(err instanceof QmpUnreachableError)) throw err;
        }
        await sleep(LAUNCH_POLL_MS, signal);
      }
    };

    /** Runs `use` on the live VM, or `ifGone` when its process is gone. */
    const live = async <T>(signal: AbortSignal, use: (qmp: QmpSession) => Promise<T>, ifGone: () => Promise<T>): Promise<T> => {
      try {
        return await withQmp(socketPath, signal, use);
      } catch (err) {
        if (err instanceof QmpUnreachableError) return ifGone();
        throw err;
      }
    };

    const backend: PowerBackend = {
      status: (signal) => live<PowerState>(signal, readStatus, async () => 'off'),
      off: (signal) => live(signal, (qmp) => qmp.quit(), async () => undefined),
      on: (signal) => live(signal, (qmp) => resetAndRun(qmp, false), () => launch(signal)),
      reset: (signal) =>
        live(signal, (qmp) => resetAndRun(qmp, true), () => Promise.reject(new Error('the VM is off (qemu process gone): nothing to reset'))),
      cycle: (signal) => live(signal, (qmp) => resetAndRun(qmp, true), () => launch(signal)),
    };
    return backend;
  },
};
