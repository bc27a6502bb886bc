/**
 * FAI's end-of-install signal: installing clients send one line per task to the monitor port
 * (`sendmon` in FAI's subroutines: `echo "$sendid TASKEND install 0" | nc $monserver 4711`) and
 * FAI's own daemon, fai-monitor, prints every line it receives. muster runs fai-monitor as a child
 * and reads its stdout, so the protocol is FAI's, spoken by FAI's tools on both ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** One client message: `SENDID TASKBEGIN partition`, `SENDID TASKEND install 0`, `SENDID TASKERROR install 21`. */
export interface FaiMessage {
  sendid: string;
  kind: 'TASKBEGIN' | 'TASKEND' | 'TASKSKIP' | 'TASKERROR';
  task: string;
  /** The task's error code (TASKEND, TASKERROR); FAI's 0 is success. */
  code?: number;
}

const MESSAGE = /^(\S+)\s+(TASKBEGIN|TASKEND|TASKSKIP|TASKERROR)\s+(\S+)(?:\s+(\d+))?\s*$/;

/** A line fai-monitor printed, as a client message; null for its own log lines and other messages (HOOK, check). */
export function parseMonitorLine(line: string): FaiMessage | null {
  const m = MESSAGE.exec(line);
  if (!m) return null;
  return { sendid: m[1]!, kind: m[2] as FaiMessage['kind'], task: m[3]!, ...(m[4] === undefined ? {} : { code: Number(m[4]) }) };
}

export interface FaiMonitorOptions {
  /** fai-monitor's path (already checked against commands.allowedDirs). */
  executable: string;
  port: number;
  onMessage: (msg: FaiMessage) => void;
  /** fai-monitor ended on its own (not through stop()): its last output line. */
  onExit: (why: string) => void;
  /** How long fai-monitor may take to say it listens. Default 10 s. */
  startTimeoutMs?: number;
}

export interface FaiMonitor {
  stop(): Promise<void>;
}

/** Starts fai-monitor on `port`; resolves once it listens, rejects with its last output line if it cannot. */
export function startFaiMonitor(opts: FaiMonitorOptions): Promise<FaiMonitor> {
  const startTimeoutMs = opts.startTimeoutMs ?? 10_000;
  // -l - : log to stdout; -t: seconds a silent client may hold the (serial) accept loop.
  const child = spawn(opts.executable, ['-p', String(opts.port), '-t', '10', '-l', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let last = '';
  let listening = false;
  let stopping = false;
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fai-monitor did not start listening on port ${opts.port} within ${startTimeoutMs / 1000} s`));
    }, startTimeoutMs);
    const onLine = (line: string) => {
      if (line.trim() !== '') last = line.trim();
      if (!listening && line.includes('FAI monitoring daemon started on port')) {
        listening = true;
        clearTimeout(timer);
        resolve({ stop: () => stop(child, exited, () => (stopping = true)) });
        return;
      }
      const msg = parseMonitorLine(line);
      if (msg) opts.onMessage(msg);
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (line.trim() !== '') last = line.trim();
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`fai-monitor could not be started: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      const why = `fai-monitor exited (${code === null ? `killed by ${signal}` : `exit ${code}`}): ${last || '(no output)'}`;
      if (!listening) {
        clearTimeout(timer);
        reject(new Error(why));
      } else if (!stopping) opts.onExit(why);
    });
  });
}

async function stop(child: ChildProcess, exited: Promise<void>, mark: () => void): Promise<void> {
  mark();
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  await exited;
}
