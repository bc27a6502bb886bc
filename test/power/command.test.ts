import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PowerError } from '../../controller/power/driver.js';
import { createPowerDriver } from '../../controller/power/registry.js';
import { tempDir } from '../helpers/tmp.js';

const script = fileURLToPath(new URL('./fence.sh', import.meta.url));
const tmp = tempDir('muster-fence-');
const actions = () => readFileSync(join(tmp.dir, 'actions.log'), 'utf8').trim().split('\n');

beforeAll(() => {
  process.env.FENCE_DIR = tmp.dir; // inherited by the script
});
afterAll(() => {
  delete process.env.FENCE_DIR;
  tmp.remove();
});

describe('command: driver', () => {
  it('calls `script ACTION NODE` and reads on/off from status', async () => {
    const d = createPowerDriver(`command:${script}`, 'n001', { pollMs: 10 });
    expect(await d.status()).toBe('off');
    await d.on();
    expect(await d.status()).toBe('on');
    await d.reset();
    await d.cycle(); // generic: off, status until off, on
    await d.off();
    expect(await d.status()).toBe('off');
    expect(actions()).toEqual(['status n001', 'on n001', 'status n001', 'reset n001', 'off n001', 'status n001', 'on n001', 'off n001', 'status n001']);
  });

  it('passes cycle to the script when it cycles natively', async () => {
    await createPowerDriver(`command:${script}?cycle=native`, 'n002').cycle();
    expect(actions().slice(-1)).toEqual(['cycle n002']);
  });

  it('reports the exit code and last stderr line, and kills a hanging script at the deadline', async () => {
    const err = (await createPowerDriver(`command:${script}`, 'fail-n3').off().catch((e: unknown) => e)) as PowerError;
    expect(err.message).toBe(`node fail-n3: command power off failed: ${script} exited 3: BMC for fail-n3 unreachable`);
    const t0 = Date.now();
    const hang = (await createPowerDriver(`command:${script}`, 'hang-n4', { timeoutMs: 300 }).status().catch((e: unknown) => e)) as PowerError;
    expect(hang.code).toBe('timeout');
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('names a missing script', async () => {
    const err = (await createPowerDriver('command:/nonexistent/fence', 'n5').on().catch((e: unknown) => e)) as PowerError;
    expect(err.message).toBe('node n5: command power on failed: cannot run /nonexistent/fence: not found');
  });
});
