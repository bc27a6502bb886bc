import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleManager } from '../../controller/console/manager.js';
import type { ConsoleMatch } from '../../controller/console/patterns.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';
import { consoleConformance } from './conformance.js';
import { terminalServer, type TerminalServer } from './terminal-server.js';

consoleConformance('tcp', async () => {
  const ts = await terminalServer();
  const deadPort = await freePort();
  return {
    node: 'n1',
    target: `tcp://127.0.0.1:${ts.port}`,
    farEnd: () => ts,
    unreachable: { target: `tcp://127.0.0.1:${deadPort}`, names: `cannot connect to tcp://127.0.0.1:${deadPort}: connect ECONNREFUSED` },
    malformed: 'tcp://127.0.0.1',
    close: ts.close,
  };
});

describe('tcp console kept by the manager (terminal server / ser2net)', () => {
  const tmp = tempDir('muster-console-');
  const matches: ConsoleMatch[] = [];
  let ts: TerminalServer;
  let manager: ConsoleManager;

  beforeAll(async () => {
    ts = await terminalServer();
    manager = new ConsoleManager({ dataDir: tmp.dir, backoff: { initialMs: 20, maxMs: 100 }, onMatch: (m) => matches.push(m) });
    await manager.add('rack1-n07', { target: `tcp://127.0.0.1:${ts.port}` });
    await until('tcp console connected', () => manager.status('rack1-n07').connected);
  });

  afterAll(async () => {
    await manager.close();
    await ts.close();
    tmp.remove();
  });

  it('matches a pattern written in pieces and logs the whole line', async () => {
    for (const piece of ['[ 9.1] BU', 'G: unable to handle', ' page fault\r', '\n']) {
      await ts.say(piece);
      await new Promise((r) => setImmediate(r));
    }
    await until('BUG matched', () => matches.length > 0);
    expect(matches).toEqual([{ node: 'rack1-n07', pattern: 'kernel-bug', line: '[ 9.1] BUG: unable to handle page fault', at: expect.any(Number) }]);
    expect((await manager.tail('rack1-n07', 1))[0]).toMatch(/Z \[ 9\.1\] BUG: unable to handle page fault$/);
  });

  it('carries the writer\'s input to the server', async () => {
    manager.claimWriter('rack1-n07', 'cli-a');
    await manager.write('rack1-n07', 'cli-a', Buffer.from('reboot\r'));
    await until('input at the server', () => ts.heard() === 'reboot\r');
  });

  it('logs a dropped connection and the reconnection', async () => {
    await ts.drop();
    await ts.say('after reconnect\r\n');
    await until('new line logged', async () => (await manager.tail('rack1-n07', 1))[0]?.endsWith('after reconnect'));
    const tail = await manager.tail('rack1-n07', 3);
    expect(tail[0]).toMatch(/\[muster\] console lost: tcp:\/\/127\.0\.0\.1:\d+ closed the connection$/);
    expect(tail[1]).toMatch(/\[muster\] console reconnected$/);
  });

  it('says plainly when a console cannot be reached', async () => {
    const deadPort = await freePort();
    await manager.add('n2', { target: `tcp://127.0.0.1:${deadPort}` });
    await until('unavailable logged', async () => (await manager.tail('n2', 1)).length === 1);
    expect((await manager.tail('n2', 5))).toEqual([expect.stringMatching(new RegExp(`\\[muster\\] console unavailable: cannot connect to tcp://127.0.0.1:${deadPort}: connect ECONNREFUSED`))]);
    expect(manager.status('n2')).toMatchObject({ connected: false, reason: expect.stringContaining('ECONNREFUSED') });
    await expect(manager.write('n2', 'x', Buffer.from('a'))).rejects.toThrow('node n2: not the console writer');
    manager.claimWriter('n2', 'x');
    await expect(manager.write('n2', 'x', Buffer.from('a'))).rejects.toThrow(/^node n2: console is not connected \(cannot connect/);
  });

  it('refuses bad node names and targets', async () => {
    await expect(manager.add('../etc', { target: 'sim://' })).rejects.toThrow(/console for "\.\.\/etc": node name must start with a letter/);
    await expect(manager.add('n3', { target: 'tcp://x' })).rejects.toThrow(/console target "tcp:\/\/x"/);
    expect(() => manager.tail('n9', 1)).toThrow('node n9: no console is configured');
  });
});
