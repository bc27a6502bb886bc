// What the kernel says about a process (CPU time, RSS) and about the machine (listen overflows, load).
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

const CLK_TCK = 100; // Linux USER_HZ

/** CPU time (user + system) of a process so far, in ms. */
export function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

export function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** TcpExt ListenOverflows + ListenDrops: SYNs dropped because an accept queue was full (machine-wide). */
export function listenOverflows() {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  for (let i = 0; i < lines.length - 1; i++) {
    if (!lines[i].startsWith('TcpExt:')) continue;
    const keys = lines[i].split(/\s+/);
    const vals = lines[i + 1].split(/\s+/);
    return Number(vals[keys.indexOf('ListenOverflows')]) + Number(vals[keys.indexOf('ListenDrops')]);
  }
  return NaN;
}

export const load1 = () => loadavg()[0];

/** CPU (% of one core) and mean, lowest and highest RSS of `pid` over `ms`, sampling RSS every second. */
export async function sampleProcess(pid, ms) {
  const c0 = cpuMs(pid);
  const t0 = performance.now();
  const rss = [];
  while (performance.now() - t0 < ms) {
    rss.push(rssBytes(pid));
    await new Promise((r) => setTimeout(r, Math.min(1000, ms - (performance.now() - t0))));
  }
  const wall = performance.now() - t0;
  return { cpuPct: ((cpuMs(pid) - c0) / wall) * 100, cpuMs: cpuMs(pid) - c0, wallMs: wall, rssBytes: rss.reduce((a, b) => a + b, 0) / rss.length, rssMinBytes: Math.min(...rss), rssMaxBytes: Math.max(...rss) };
}

/**
 * Waits until `pid` is in its steady state: at least `minMs`, then until its RSS (read every 5 s)
 * moved less than 2 % over the last `windowMs`, at most `maxMs`. After a connect storm V8 gives
 * the storm's garbage back in steps over one to two minutes (at 10k agents: plateaus of 15-30 s
 * between drops, 464 → 366 → 330 → 317 → 306 MiB); measuring before that measures the storm,
 * so the window must be longer than a plateau.
 */
export async function settle(pid, { minMs, maxMs, windowMs = 30_000 }) {
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, minMs));
  const rss = [rssBytes(pid)];
  const samples = windowMs / 5000 + 1;
  for (;;) {
    const recent = rss.slice(-samples);
    if (recent.length === samples && Math.max(...recent) / Math.min(...recent) < 1.02) return { settledMs: performance.now() - t0, settled: true };
    if (performance.now() - t0 >= maxMs) return { settledMs: performance.now() - t0, settled: false };
    await new Promise((r) => setTimeout(r, 5000));
    rss.push(rssBytes(pid));
  }
}

export function percentile(xs, p) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}
