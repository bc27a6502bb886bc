import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { SimConsole } from '../../controller/console/drivers/sim.js';
import { RotatingLog, rotatedPaths } from '../../controller/console/log-file.js';
import { ConsoleManager } from '../../controller/console/manager.js';
import type { ConsoleMatch } from '../../controller/console/patterns.js';
import { readLastLines } from '../../controller/console/tail.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('muster-console-log-');
afterEach(() => {
  vi.useRealTimers();
});
afterAll(() => tmp.remove());

describe('RotatingLog and readLastLines', () => {
  it('rotates by size into N files of whole lines, and tails across them', async () => {
    const path = join(tmp.dir, 'rot', 'n1.log');
    const errors: Error[] = [];
    const log = new RotatingLog(path, { maxBytes: 1000, files: 3 }, (e) => errors.push(e));
    for (let i = 0; i < 100; i++) log.append(`line ${String(i).padStart(3, '0')} ${'x'.repeat(40)}`); // 50 bytes each
    await log.close();
    const [live, one, two] = rotatedPaths(path, 3);
    expect(existsSync(`${path}.3`)).toBe(false);
    for (const p of [live!, one!, two!]) {
      expect(statSync(p).size).toBeLessThanOrEqual(1000);
      expect(readFileSync(p, 'utf8')).toMatch(/^(line \d{3} x{40}\n)+$/);
    }
    expect(readFileSync(live!, 'utf8').split('\n')[0]).toBe(`line 080 ${'x'.repeat(40)}`); // 20 lines per file
    const last30 = await readLastLines(rotatedPaths(path, 3), 30);
    expect(last30.map((l) => l.slice(5, 8))).toEqual(Array.from({ length: 30 }, (_, i) => String(70 + i).padStart(3, '0')));
    expect(await readLastLines(rotatedPaths(path, 3), 500)).toHaveLength(60); // only what is kept
    expect(errors).toEqual([]);
  });

  it('reads only the end of a large log', async () => {
    const path = join(tmp.dir, 'big.log');
    const lines = Array.from({ length: 200_000 }, (_, i) => `2026-01-01T00:00:00.000Z line ${i} é`);
    writeFileSync(path, lines.join('\n') + '\n');
    // Bytes this process read (Linux /proc/self/io), not time: a loaded machine cannot fail it.
    const bytesRead = () => Number(/^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
    const before = bytesRead();
    const tail = await readLastLines([path], 5);
    expect(tail).toEqual(lines.slice(-5));
    expect(bytesRead() - before).toBeLessThan(256 * 1024); // one 64 KiB block of a ~8 MB file
    expect(await readLastLines([join(tmp.dir, 'missing.log')], 3)).toEqual([]);
    await expect(readLastLines([path], -1)).rejects.toThrow('line count -1 must be a non-negative integer');
  });

  it('refuses a nonsense rotation', () => {
    expect(() => new RotatingLog('x', { maxBytes: 10, files: 5 }, () => undefined)).toThrow(/maxBytes 10 must be an integer of at least 256/);
    expect(() => new RotatingLog('x', { maxBytes: 1024, files: 0 }, () => undefined)).toThrow(/files 0 must be an integer 1-100/);
  });
});

describe('manager with the simulated console', () => {
  it('boots to a login prompt, rotates its log and tails across rotation', async () => {
    const matches: ConsoleMatch[] = [];
    const sim = new SimConsole('n5', 0);
    const manager = new ConsoleManager({ dataDir: join(tmp.dir, 'sim'), rotation: { maxBytes: 600, files: 4 }, partialFlushMs: 20, onMatch: (m) => matches.push(m) });
    await manager.add('n5', { driver: sim });
    await vi.waitUntil(() => manager.status('n5').connected, { timeout: 5000 });
    sim.boot();
    await vi.waitUntil(() => matches.some((m) => m.pattern === 'login-prompt'), { timeout: 5000 });
    sim.panic();
    await vi.waitUntil(() => matches.some((m) => m.pattern === 'kernel-panic'), { timeout: 5000 });
    expect(matches.map((m) => m.pattern)).toEqual(['login-prompt', 'kernel-bug', 'call-trace', 'kernel-panic']);
    const tail = await manager.tail('n5', 25);
    expect(tail).toHaveLength(25); // spans several 600-byte files
    expect(tail.at(-1)).toMatch(/Z \[ {2}42\.135002\] Kernel panic - not syncing: Fatal exception$/);
    expect(tail.at(-7)).toMatch(/Z n5 login: $/);
    expect(existsSync(`${manager.logPath('n5')}.2`)).toBe(true);
    await manager.close();
  });

  it('reconnects after the backoff delay (fake clock)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
    const sim = new SimConsole('n6', 0);
    const manager = new ConsoleManager({ dataDir: join(tmp.dir, 'fake'), backoff: { initialMs: 1000, maxMs: 8000, jitter: 0 } });
    await manager.add('n6', { driver: sim });
    await vi.advanceTimersByTimeAsync(0);
    expect(manager.status('n6').connected).toBe(true);
    sim.drop('USB adapter unplugged');
    await vi.advanceTimersByTimeAsync(0);
    expect(manager.status('n6')).toMatchObject({ connected: false, reason: 'USB adapter unplugged' });
    await vi.advanceTimersByTimeAsync(999);
    expect(manager.status('n6').connected).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(manager.status('n6').connected).toBe(true);
    expect((await manager.tail('n6', 3))).toEqual([
      '2026-01-01T00:00:00.000Z [muster] console opened: sim://',
      '2026-01-01T00:00:00.000Z [muster] console lost: USB adapter unplugged',
      '2026-01-01T00:00:01.000Z [muster] console reconnected',
    ]);
    await manager.close();
  });
});
