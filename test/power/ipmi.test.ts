/** The ipmi driver against a real BMC simulator (openipmi's ipmi_sim) driven by real ipmitool. */
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PowerError, type PowerDriver } from '../../controller/power/driver.js';
import { createPowerDriver } from '../../controller/power/registry.js';
import { freePort } from '../helpers/ports.js';
import { start, type Proc } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';

const fixtures = fileURLToPath(new URL('./ipmi/', import.meta.url));
const PASSWORD = 's3cr3t-pw';
const tmp = tempDir('muster-ipmi-');
let sim: Proc;
let port: number;

const chassisLog = () => readFileSync(join(tmp.dir, 'actions.log'), 'utf8').trim().split('\n');
const chassisPower = () => readFileSync(join(tmp.dir, 'power'), 'utf8').trim();
const driver = (opts: Parameters<typeof createPowerDriver>[2] = {}, query = '') =>
  createPowerDriver(`ipmi://admin:${PASSWORD}@127.0.0.1:${port}${query}`, 'n012', { pollMs: 50, ...opts });

/** Every process's command line, as `ps` shows it. */
function commandLines(): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ');
      } catch {
        return ''; // exited meanwhile
      }
    });
}

/** Polls until ipmi_sim answers (it prints nothing when ready). */
async function waitForBmc(d: PowerDriver, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return void (await d.status({ timeoutMs: 500 }));
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`ipmi_sim did not answer: ${String(err)}; its output:\n${sim.output()}`);
    }
  }
}

beforeAll(async () => {
  port = await freePort();
  for (const f of ['sim.emu', 'chassis.sh']) copyFileSync(join(fixtures, f), join(tmp.dir, f));
  const conf = readFileSync(join(fixtures, 'lan.conf'), 'utf8').replaceAll('@PORT@', String(port)).replaceAll('@CHASSIS@', join(tmp.dir, 'chassis.sh'));
  writeFileSync(join(tmp.dir, 'lan.conf'), conf);
  mkdirSync(join(tmp.dir, 'state'));
  sim = start('ipmi_sim', ['-n', '-c', join(tmp.dir, 'lan.conf'), '-f', join(tmp.dir, 'sim.emu'), '-s', join(tmp.dir, 'state')]);
  await waitForBmc(driver(), 10_000);
});
afterAll(async () => {
  await sim?.stop();
  tmp.remove();
});

describe('ipmi driver with ipmi_sim', () => {
  it('reads and switches power', async () => {
    const d = driver();
    expect(await d.status()).toBe('off');
    await d.on();
    expect(chassisPower()).toBe('1');
    expect(await d.status()).toBe('on');
    await d.reset();
    expect(chassisLog()).toContain('set reset 1');
    await d.off();
    expect(chassisPower()).toBe('0');
    expect(await d.status()).toBe('off');
  });

  it('cycles as off → verify off → on, or with `power cycle` when native', async () => {
    const d = driver();
    await d.on();
    const before = chassisLog().length;
    await d.cycle();
    expect(chassisLog().slice(before)).toEqual(['set power 0', 'get power', 'set power 1']);
    expect(await d.status()).toBe('on');
    const native = driver({}, '?cycle=native');
    expect(native.nativeCycle).toBe(true);
    const mark = chassisLog().length;
    await native.cycle();
    expect(chassisLog().slice(mark)).toContain('set power 0');
    // The BMC powers on again by itself a moment after answering.
    await vi.waitFor(() => expect(chassisLog().slice(mark).slice(-1)).toEqual(['set power 1']), { timeout: 5_000, interval: 50 });
    expect(chassisPower()).toBe('1');
  });

  it('a wrong password gives a clear error without the password', async () => {
    const err = (await createPowerDriver(`ipmi://admin:wrong-${PASSWORD}@127.0.0.1:${port}`, 'n012').status().catch((e: unknown) => e)) as PowerError;
    expect(err).toBeInstanceOf(PowerError);
    expect(err.code).toBe('failed');
    expect(err.message).toMatch(/^node n012: ipmi power status failed: ipmitool exited 1: .*(RMCP\+ session|password|Unable)/);
    expect(err.message).not.toContain(PASSWORD);
    expect(JSON.stringify({ ...err, cause: String(err.cause) })).not.toContain(PASSWORD);
  });

  it('an unreachable BMC times out within the configured timeout, and the password never shows in ps', async () => {
    const deadPort = await freePort();
    const d = createPowerDriver(`ipmi://admin:${PASSWORD}@127.0.0.1:${deadPort}`, 'n013', { timeoutMs: 1_500 });
    const t0 = Date.now();
    const pending = d.status().catch((e: unknown) => e);
    // While ipmitool retries, look at its command line as `ps` would.
    const ours = await vi.waitFor(() => {
      const found = commandLines().filter((c) => c.startsWith('ipmitool') && c.includes(String(deadPort)));
      expect(found).toHaveLength(1);
      return found;
    });
    expect(ours[0]).toContain('-E power status');
    expect(ours[0]).not.toContain(PASSWORD);
    const err = (await pending) as PowerError;
    const ms = Date.now() - t0;
    expect(err.code).toBe('timeout');
    expect(err.message).toBe('node n013: ipmi power status failed: timed out after 1500 ms');
    expect(ms).toBeGreaterThanOrEqual(1_400);
    expect(ms).toBeLessThan(2_500);
  });
});
