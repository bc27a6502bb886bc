import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PowerError } from '../../controller/power/driver.js';
import { createPowerDriver } from '../../controller/power/registry.js';
import { commandLines } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { powerConformance, type SeenCommand } from './conformance.js';

const script = fileURLToPath(new URL('./fence.sh', import.meta.url));
const tmp = tempDir('muster-fence-');
/** fence.sh's own record of its calls: `ACTION NODE` lines. */
const actions = () => {
  try {
    return readFileSync(join(tmp.dir, 'actions.log'), 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

beforeAll(() => {
  process.env.FENCE_DIR = tmp.dir; // inherited by the script
});
afterAll(() => {
  delete process.env.FENCE_DIR;
  tmp.remove();
});

powerConformance('command', async () => ({
  node: 'n001',
  target: `command:${script}`,
  counterpart: {
    state: async () => (readFileSync(join(tmp.dir, 'n001'), 'utf8').trim() === 'on' ? 'on' : 'off'),
    set: async (state) => writeFileSync(join(tmp.dir, 'n001'), `${state}\n`),
    seen: async () =>
      actions()
        .map((l) => l.split(' '))
        .filter(([action, node]) => node === 'n001' && action !== 'status')
        .map(([action]) => action as SeenCommand),
  },
  // fence.sh never answers for hang-*.
  hung: { target: `command:${script}`, node: 'hang-n2', inFlight: async () => commandLines().filter((c) => c.includes(`${script} `) && c.endsWith(' hang-n2')).length },
  close: async () => undefined,
}));

describe('command: driver specifics', () => {
  it('calls `script ACTION NODE`, and `cycle` itself when it cycles natively', async () => {
    await createPowerDriver(`command:${script}`, 'n002').status();
    await createPowerDriver(`command:${script}?cycle=native`, 'n002').cycle();
    expect(actions().slice(-2)).toEqual(['status n002', 'cycle n002']);
  });

  it('reports the exit code and last stderr line', async () => {
    const err = (await createPowerDriver(`command:${script}`, 'fail-n3').off().catch((e: unknown) => e)) as PowerError;
    expect(err.message).toBe(`node fail-n3: command power off failed: ${script} exited 3: BMC for fail-n3 unreachable`);
  });

  it('names a missing script', async () => {
    const err = (await createPowerDriver('command:/nonexistent/fence', 'n5').on().catch((e: unknown) => e)) as PowerError;
    expect(err.message).toBe('node n5: command power on failed: cannot run /nonexistent/fence: not found');
  });
});
