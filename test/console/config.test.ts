/**
 * The controller config's `consoles:` section: parsed strictly (a key the code does not read is
 * refused, naming it), patterns layered defaults → all → groups → node, and, in a real controller
 * with a simulated console, the patterns, rotation and hwlog patterns applied.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsolesConfig, nodePatterns } from '../../controller/console/config.js';
import { ConsoleService } from '../../controller/console/service.js';
import { loadConfig } from '../../controller/config.js';
import { defaultExtensions } from '../../controller/extensions.js';
import { startInProc, type InProc } from '../helpers/inproc.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

describe('consoles config (pure)', () => {
  const tmp = tempDir('muster-config-');
  afterAll(() => tmp.remove());
  const load = (yaml: string) => {
    const file = join(tmp.dir, 'config.yaml');
    writeFileSync(file, yaml);
    return loadConfig(file, {});
  };

  it('refuses a key the code does not read, naming it, at any depth', async () => {
    await expect(load('consoles:\n  rotate: {maxBytes: 1000}\n')).rejects.toThrow(/consoles.*rotate/);
    await expect(load('consoles:\n  rotation: {maxSize: 1000}\n')).rejects.toThrow(/maxSize/);
    await expect(load('power:\n  credentials: {}\n')).rejects.toThrow(/credentials/);
    await expect(load('colsoles: {}\n')).rejects.toThrow(/colsoles/);
  });

  it('refuses a bad pattern at start, naming where it is', async () => {
    await expect(load('consoles:\n  groups:\n    rack1: [{name: oops, regex: "("}]\n')).rejects.toThrow(/groups\.rack1.*oops.*invalid regular expression/s);
  });

  it('layers the defaults, then all nodes, then the groups in order, then the node', () => {
    const c = ConsolesConfig.parse({
      patterns: [{ name: 'oom', regex: 'Out of memory' }],
      groups: { gpu: [{ name: 'xid', regex: 'NVRM: Xid' }, { name: 'oom', regex: 'oom-kill' }], quiet: [{ name: 'login-prompt', regex: '' }] },
      nodes: { n7: [{ name: 'xid', regex: null }] },
    });
    const byName = (node: string, groups: string[]) => Object.fromEntries(nodePatterns(c, node, groups).map((p) => [p.name, p.regex]));
    expect(byName('n1', [])).toEqual({ 'kernel-panic': 'Kernel panic', 'kernel-bug': '\\bBUG:', 'call-trace': 'Call Trace', 'login-prompt': '\\blogin:\\s*$', oom: 'Out of memory' });
    expect(byName('n2', ['gpu', 'quiet'])).toMatchObject({ xid: 'NVRM: Xid', oom: 'oom-kill' });
    expect(byName('n2', ['gpu', 'quiet'])).not.toHaveProperty('login-prompt');
    expect(byName('n7', ['gpu'])).not.toHaveProperty('xid');
  });
});

describe('consoles config in a controller (simulated console)', () => {
  let c: InProc;
  let consoles: ConsoleService;
  const events: Array<{ node: string; details: { pattern: string } }> = [];

  beforeAll(async () => {
    c = await startInProc(
      {
        consoles: ConsolesConfig.parse({
          patterns: [{ name: 'null-deref', regex: 'NULL pointer' }],
          groups: { rack1: [{ name: 'kernel-bug', regex: '' }] },
          rotation: { maxBytes: 256, files: 2 },
          hwlog: ['call-trace'],
        }),
      },
      {
        extensions: (ctx) => {
          const all = defaultExtensions(ctx);
          consoles = all.find((e): e is ConsoleService => e instanceof ConsoleService)!;
          return all;
        },
      },
    );
    await c.client.stream(['muster/events/console'], (_t, payload) => events.push(JSON.parse(payload.toString()) as (typeof events)[number]));
    await c.client.request('define', { range: 'n1', settings: ['groups=rack1', 'console=sim://'] });
    await until('n1 console', () => consoles.sim('n1'));
  });
  afterAll(() => c?.stop());

  it('matches the configured patterns (not kernel-bug, removed for rack1), opens a hwlog issue for call-trace, and rotates at the configured size', async () => {
    const sim = consoles.sim('n1')!;
    sim.panic();
    await until('the panic on the console', () => events.some((e) => e.details.pattern === 'kernel-panic'), 10_000);
    expect(events.map((e) => e.details.pattern).sort()).toEqual(['call-trace', 'kernel-panic', 'null-deref']);
    const issues = await c.client.request('hwlog-list', { range: 'n1' });
    expect(issues).toMatchObject([{ node: 'n1', source: 'console', text: 'console: call-trace' }]);
    const log = consoles.consoles.logPath('n1');
    expect(existsSync(`${log}.1`)).toBe(true);
    expect(existsSync(`${log}.2`)).toBe(false);
  });
});
