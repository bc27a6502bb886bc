/**
 * Each NIC's switch port, learnt from LLDP frames (EtherType 0x88cc) through Debian's lldpd: Node
 * cannot open a raw packet socket, lldpd can. When an lldpd already runs (the installed OS), its
 * neighbour table is read at once. When lldpd is installed but not running, the agent runs a
 * private receive-only lldpd on every NIC for a bounded time (switches send every 30 s by
 * default), stopping early once every physical NIC that is up has heard its neighbour. The agent
 * listens before its hello, or after it (the netboot image), telling each change as it is heard.
 */
import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LldpNeighbour } from '../shared/protocol.js';
import { parseLldpcliJson } from './fingerprint/lldp.js';

/** Between attempts to reach a private lldpd that is still starting. */
const POLL_MS = 1000;
const LLDPCLI_TIMEOUT_MS = 5000;

export interface LldpListen {
  /** How long a private lldpd listens; 0 reads only a running daemon. */
  waitMs: number;
  /** Physical NICs that are up: listening stops once each has a neighbour. */
  expect: readonly string[];
  log: (line: string) => void;
  /** Told each time the neighbour table changes while listening (a running lldpd's: once, when not empty). */
  onHeard?: (heard: Map<string, LldpNeighbour>) => void;
  /** Stops listening early (the agent is stopping); the private lldpd is stopped all the same. */
  signal?: AbortSignal;
}

export async function listenLldp(opts: LldpListen): Promise<Map<string, LldpNeighbour>> {
  const running = await lldpcli([]);
  if (running !== null) {
    const heard = parseLldpcliJson(running);
    if (heard.size > 0) opts.onHeard?.(heard);
    return heard;
  }
  if (opts.waitMs <= 0) return new Map();
  const lldpd = onPath('lldpd');
  if (lldpd === null || onPath('lldpcli') === null) {
    opts.log('no lldpd/lldpcli here: switch ports are not reported');
    return new Map();
  }
  // lldpcli is setuid _lldpd on Debian: the socket must sit where that user can reach it.
  const socket = join(tmpdir(), `muster-lldpd-${process.pid}.socket`);
  // -r: receive only (the node never advertises itself); -O /dev/null: no site lldpd.conf.
  const daemon = spawn(lldpd, ['-d', '-r', '-u', socket, '-O', '/dev/null'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
  daemon.once('error', (err) => opts.log(`lldpd: ${err.message}`));
  const deadline = Date.now() + opts.waitMs;
  let heard = new Map<string, LldpNeighbour>();
  let told = '[]';
  try {
    while (!opts.signal?.aborted) {
      // Watching from before the table is read: a neighbour heard meanwhile still ends the wait.
      const remaining = deadline - Date.now();
      const change = remaining > 0 ? nextChange(socket, remaining, opts.signal) : null;
      const out = await lldpcli(['-u', socket]);
      if (out !== null) heard = parseLldpcliJson(out);
      const now = JSON.stringify([...heard]);
      if (now !== told) {
        told = now;
        opts.onHeard?.(heard);
      }
      const allHeard = opts.expect.length > 0 && opts.expect.every((nic) => heard.has(nic));
      if (change === null || allHeard || daemon.exitCode !== null) {
        change?.cancel();
        break;
      }
      // Not yet listening (lldpd is still starting): try again shortly.
      if ((await change.outcome) === 'failed') await sleep(POLL_MS, undefined, { signal: opts.signal }).catch(() => {});
    }
  } finally {
    daemon.kill('SIGTERM');
    await exited;
  }
  opts.log(`LLDP: ${describeNeighbours(heard)}`);
  return heard;
}

/** `eth0 → leaf7 Ethernet1/7, …` for the log. */
export function describeNeighbours(heard: ReadonlyMap<string, LldpNeighbour>): string {
  return heard.size === 0 ? 'no neighbour heard' : [...heard].map(([nic, n]) => `${nic} → ${n.systemName ?? n.chassisId} ${n.portId}`).join(', ');
}

interface Change {
  /** `changed`: lldpd reported a neighbour change; `ended`: the time ran out or was cancelled; `failed`: no daemon answered. */
  outcome: Promise<'changed' | 'ended' | 'failed'>;
  cancel(): void;
}

/** Waits up to `ms` for lldpd's next neighbour change (`lldpcli watch limit 1`), rather than polling its table. */
function nextChange(socket: string, ms: number, signal: AbortSignal | undefined): Change {
  const watch = spawn('lldpcli', ['-u', socket, '-f', 'json0', 'watch', 'limit', '1'], { stdio: 'ignore' });
  let ended = false;
  const cancel = () => {
    ended = true;
    watch.kill('SIGTERM');
  };
  const timer = setTimeout(cancel, ms);
  signal?.addEventListener('abort', cancel, { once: true });
  const outcome = new Promise<'changed' | 'ended' | 'failed'>((resolve) => {
    const settle = (code: number | null) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', cancel);
      resolve(ended ? 'ended' : code === 0 ? 'changed' : 'failed');
    };
    watch.once('exit', settle);
    watch.once('error', () => settle(null));
  });
  return { outcome, cancel };
}

/** lldpcli's neighbour table as JSON text; null when no daemon answers on that socket. */
function lldpcli(socketArgs: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('lldpcli', [...socketArgs, '-f', 'json0', 'show', 'neighbors', 'details'], { timeout: LLDPCLI_TIMEOUT_MS }, (err, stdout) =>
      resolve(err ? null : stdout),
    );
  });
}

function onPath(command: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (dir && existsSync(join(dir, command))) return join(dir, command);
  }
  return null;
}
