import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleManager } from '../../controller/console/manager.js';
import type { ConsoleMatch } from '../../controller/console/patterns.js';
import { start, type Proc } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

const ISO_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;

/** A socat pty pair: the console manager reads end A, the test plays the node on end B. */
async function startPtyPair(a: string, b: string): Promise<Proc> {
  const socat = start('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`]);
  await socat.waitFor('starting data transfer loop', 10_000);
  return socat;
}

async function openNodeSide(path: string): Promise<{ port: SerialPort; received: () => string }> {
  const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
  let got = '';
  port.on('data', (d: Buffer) => (got += d.toString()));
  port.on('error', () => undefined); // the pty vanishes when socat is stopped
  return { port, received: () => got };
}

describe('serial console over a real socat pty pair', () => {
  const tmp = tempDir('muster-console-');
  const a = join(tmp.dir, 'ttyA');
  const b = join(tmp.dir, 'ttyB');
  const matches: ConsoleMatch[] = [];
  let live = '';
  let socat: Proc;
  let manager: ConsoleManager;

  beforeAll(async () => {
    socat = await startPtyPair(a, b);
    manager = new ConsoleManager({
      dataDir: tmp.dir,
      backoff: { initialMs: 20, maxMs: 100 },
      partialFlushMs: 50,
      onOutput: (_node, chunk) => (live += chunk.toString()),
      onMatch: (m) => matches.push(m),
    });
    await manager.add('n1', { target: `serial:${a}@115200` });
    await until('console connected', () => manager.status('n1').connected);
  });

  afterAll(async () => {
    await manager.close();
    await socat.stop();
    tmp.remove();
  });

  it('logs timestamped lines, streams live bytes and reports patterns split across writes', async () => {
    const node = await openNodeSide(b);
    node.port.write('Linux version 6.1\r\n[ 4.2] Kernel pa');
    await until('first line live', () => live.includes('Kernel pa'));
    node.port.write('nic - not syncing: VFS\r\nn1 login: ');
    await until('panic and prompt matched', () => matches.length >= 2);
    expect(matches.map((m) => m.pattern)).toEqual(['kernel-panic', 'login-prompt']);
    expect(matches[0]).toMatchObject({ node: 'n1', line: '[ 4.2] Kernel panic - not syncing: VFS' });
    const tail = await manager.tail('n1', 3);
    expect(tail.map((l) => l.replace(ISO_LINE, ''))).toEqual(['Linux version 6.1', '[ 4.2] Kernel panic - not syncing: VFS', 'n1 login: ']);
    expect(tail.every((l) => ISO_LINE.test(l))).toBe(true);
    await new Promise<void>((res) => node.port.close(() => res()));
  });

  it('sends input only from the one claimed writer', async () => {
    const node = await openNodeSide(b);
    await expect(manager.write('n1', 'cli-1', Buffer.from('x'))).rejects.toThrow('node n1: cli-1 is not the console writer (nobody is attached read-write)');
    manager.claimWriter('n1', 'cli-1');
    expect(() => manager.claimWriter('n1', 'cli-2')).toThrow(/attached read-write by cli-1/);
    await manager.write('n1', 'cli-1', Buffer.from('root\r'));
    await until('input at the node', () => node.received() === 'root\r');
    expect(manager.releaseClient('cli-1')).toEqual(['n1']);
    expect(manager.status('n1').writer).toBeNull();
    await new Promise<void>((res) => node.port.close(() => res()));
  });

  it('survives the port vanishing and coming back (adapter unplugged)', async () => {
    await socat.stop();
    await until('console lost', () => !manager.status('n1').connected);
    const lostReason = manager.status('n1').reason;
    socat = await startPtyPair(a, b);
    await until('console reconnected', () => manager.status('n1').connected);
    const node = await openNodeSide(b);
    node.port.write('back again\r\n');
    await until('new output logged', async () => (await manager.tail('n1', 1))[0]?.endsWith('back again'));
    const log = readFileSync(manager.logPath('n1'), 'utf8').split('\n');
    const lostAt = log.findIndex((l) => l.includes('[muster] console lost: '));
    const backAt = log.findIndex((l) => l.includes('[muster] console reconnected'));
    expect(lostAt).toBeGreaterThan(0);
    expect(backAt).toBeGreaterThan(lostAt);
    expect(log[lostAt]).toMatch(ISO_LINE);
    expect(lostReason).toBeTruthy();
    expect(live).toContain('[muster] console reconnected');
    await new Promise<void>((res) => node.port.close(() => res()));
  });
});
