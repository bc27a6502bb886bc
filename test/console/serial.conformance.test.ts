import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
