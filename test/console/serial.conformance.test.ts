import { execFile, spawn } from 'node:child_process';
import { chmodSync, closeSync, constants, openSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleSink } from '../../controller/console/driver.js';
import { SerialConsole } from '../../controller/console/drivers/serial.js';
import { ConsoleManager } from '../../controller/console/manager.js';
import type { ConsoleMatch } from '../../controller/console/patterns.js';
import { start, type Proc } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';
import { consoleConformance } from './conformance.js';

const ISO_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;

/**
 * A socat pty pair in `dir`: the console reads end `ttyA`, the test plays the node on end `ttyB`
 * (opened with serialport: never fs streams on a pty). `drop` is an adapter unplugged and
 * plugged in again: socat stops (the console's end vanishes) and starts anew at the same paths.
 */
async function ptyPair(dir: string) {
  const a = join(dir, 'ttyA');
  const b = join(dir, 'ttyB');
  let socat: Proc;
  let node: SerialPort;
  let heard = '';
  const up = async () => {
    socat = start('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`]);
    await socat.waitFor('starting data transfer loop', 10_000);
    node = new SerialPort({ path: b, baudRate: 115200, autoOpen: false });
    await new Promise<void>((res, rej) => node.open((e) => (e ? rej(e) : res())));
    node.on('data', (d: Buffer) => (heard += d.toString()));
    node.on('error', () => undefined); // the pty vanishes when socat stops
  };
  const down = async () => {
    if (node.isOpen) await new Promise<void>((res) => node.close(() => res()));
    await socat.stop();
  };
  await up();
  return {
    path: a,
    async say(text: string) {
      await new Promise<void>((res, rej) => node.write(text, (e) => (e ? rej(e) : res())));
      return text;
    },
    heard: () => heard,
    unplug: down,
    plugIn: up,
    async drop() {
      await down();
      await up();
    },
    close: down,
  };
}

consoleConformance('serial', async () => {
  const tmp = tempDir('muster-console-serial-');
  const pair = await ptyPair(tmp.dir);
  return {
    node: 'n1',
    target: `serial:${pair.path}@115200`,
    farEnd: () => pair,
    unreachable: { target: `serial:${tmp.dir}/ttyMissing`, names: `cannot open ${tmp.dir}/ttyMissing` },
    malformed: 'serial:ttyS0',
    async close() {
      await pair.close();
      tmp.remove();
    },
  };
});

describe('serial console kept by the manager', () => {
  const tmp = tempDir('muster-console-');
  const matches: ConsoleMatch[] = [];
  let live = '';
  let pair: Awaited<ReturnType<typeof ptyPair>>;
  let manager: ConsoleManager;

  beforeAll(async () => {
    pair = await ptyPair(tmp.dir);
    manager = new ConsoleManager({
      dataDir: tmp.dir,
      backoff: { initialMs: 20, maxMs: 100 },
      // Long enough that a line written in two pieces is not flushed half-way on a loaded machine.
      partialFlushMs: 500,
      onOutput: (_node, chunk) => (live += chunk.toString()),
      onMatch: (m) => matches.push(m),
    });
    await manager.add('n1', { target: `serial:${pair.path}@115200` });
    await until('console connected', () => manager.status('n1').connected);
  });

  afterAll(async () => {
    await manager.close();
    await pair.close();
    tmp.remove();
  });

  it('logs timestamped lines, streams live bytes and reports patterns split across writes', async () => {
    await pair.say('Linux version 6.1\r\n[ 4.2] Kernel pa');
    await until('first line live', () => live.includes('Kernel pa'));
    await pair.say('nic - not syncing: VFS\r\nn1 login: ');
    await until('panic and prompt matched', () => matches.length >= 2);
    expect(matches.map((m) => m.pattern)).toEqual(['kernel-panic', 'login-prompt']);
    expect(matches[0]).toMatchObject({ node: 'n1', line: '[ 4.2] Kernel panic - not syncing: VFS' });
    const tail = await manager.tail('n1', 3);
    expect(tail.map((l) => l.replace(ISO_LINE, ''))).toEqual(['Linux version 6.1', '[ 4.2] Kernel panic - not syncing: VFS', 'n1 login: ']);
    expect(tail.every((l) => ISO_LINE.test(l))).toBe(true);
  });

  it('sends input only from the one claimed writer', async () => {
    await expect(manager.write('n1', 'cli-1', Buffer.from('x'))).rejects.toThrow('node n1: not the console writer (nobody is attached read-write)');
    manager.claimWriter('n1', 'cli-1');
    expect(() => manager.claimWriter('n1', 'cli-2')).toThrow(/attached read-write by cli-1/);
    await manager.write('n1', 'cli-1', Buffer.from('root\r'));
    await until('input at the node', () => pair.heard() === 'root\r');
    expect(manager.releaseClient('cli-1')).toEqual(['n1']);
    expect(manager.status('n1').writer).toBeNull();
  });

  it('logs the port vanishing and coming back (adapter unplugged)', async () => {
    await pair.unplug();
    await until('console lost', () => !manager.status('n1').connected);
    const lostReason = manager.status('n1').reason;
    await pair.plugIn();
    await until('console reconnected', () => manager.status('n1').connected);
    await pair.say('back again\r\n');
    await until('new output logged', async () => (await manager.tail('n1', 1))[0]?.endsWith('back again'));
    const log = readFileSync(manager.logPath('n1'), 'utf8').split('\n');
    const lostAt = log.findIndex((l) => l.includes('[muster] console lost: '));
    const backAt = log.findIndex((l) => l.includes('[muster] console reconnected'));
    expect(lostAt).toBeGreaterThan(0);
    expect(backAt).toBeGreaterThan(lostAt);
    expect(log[lostAt]).toMatch(ISO_LINE);
    expect(lostReason).toBeTruthy();
    expect(live).toContain('[muster] console reconnected');
  });
});

const run = promisify(execFile);
const quietSink: ConsoleSink = { data: () => undefined, closed: () => undefined };

/** Runs `command` as user nobody (no CAP_SYS_ADMIN: TIOCEXCL applies to it); resolves to its error output, or '' when it succeeded. */
async function asNobody(...command: string[]): Promise<string> {
  try {
    await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...command], { timeout: 10_000 });
    return '';
  } catch (err) {
    return (err as { stderr: string }).stderr;
  }
}

// setpriv changes user only for root; the lab runs tests as root.
describe.skipIf(process.getuid?.() !== 0)('serial console opened exclusively', () => {
  const tmp = tempDir('muster-console-excl-');
  let pair: Awaited<ReturnType<typeof ptyPair>>;
  let device: string;

  beforeAll(async () => {
    pair = await ptyPair(tmp.dir);
    device = realpathSync(pair.path);
    // Anyone may open it, so a refusal below is the exclusive mode's, not the permissions'.
    chmodSync(device, 0o666);
  });
  afterAll(async () => {
    await pair.close();
    tmp.remove();
  });

  it('refuses a second console on the device, naming who holds it', async () => {
    const first = new SerialConsole(pair.path, 115200);
    await first.open(quietSink);
    try {
      await expect(new SerialConsole(pair.path, 115200).open(quietSink)).rejects.toThrow(new RegExp(`^cannot open ${pair.path}: in use by pid ${process.pid} \\(.+\\) \\(this controller\\)$`));
    } finally {
      await first.close();
    }
  });

  it('makes the tty exclusive while open: cat and socat as another user are refused, and let in once it closes', async () => {
    const console = new SerialConsole(pair.path, 115200);
    await console.open(quietSink);
    try {
      // Each would wait for input once in: a refusal ends it at once.
      expect(await asNobody('cat', device)).toBe(`cat: ${device}: Device or resource busy\n`);
      expect(await asNobody('socat', '-u', `OPEN:${device}`, 'OPEN:/dev/null')).toMatch(/Device or resource busy/);
    } finally {
      await console.close();
    }
    expect(await asNobody('sh', '-c', 'exec 3<>"$0"', device)).toBe('');
    // The exclusive mode is cleared on close, so the console opens again after a reconnect.
    await console.open(quietSink);
    await console.close();
  });

  it("refuses a tty that is a process's controlling terminal, naming the process", async () => {
    const fd = openSync(pair.path, constants.O_RDWR | constants.O_NOCTTY);
    // A session whose controlling terminal is the pty, as a login shell's would be.
    const holder = spawn('setsid', ['--ctty', 'sleep', '600'], { stdio: [fd, 'ignore', 'ignore'] });
    closeSync(fd);
    try {
      const console = new SerialConsole(pair.path, 115200);
      await until('sleep holds the pty as its terminal', async () => {
        const err = await console.open(quietSink).then(
          async () => {
            await console.close();
            return null;
          },
          (e: Error) => e,
        );
        return err?.message.includes(`pid ${holder.pid}`) && err;
      }).then((err) => expect(err.message).toBe(`cannot open ${pair.path}: it is the controlling terminal of pid ${holder.pid} (sleep); muster does not take a terminal in use`));
    } finally {
      holder.kill();
      await new Promise((r) => holder.once('exit', r));
    }
    const console = new SerialConsole(pair.path, 115200);
    await console.open(quietSink);
    await console.close();
  });
});
