/**
 * A real BMC for tests: openipmi's ipmi_sim with the configs in test/power/ipmi/. Its chassis
 * hook keeps the power state and the next-boot device in files and appends every call to
 * actions.log, so a test can read what the BMC itself holds and was asked. With `solPort`, the BMC bridges its SOL payload
 * to a TCP "UART" on that port (the node's serial line, which the test plays).
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPowerDriver } from '../../controller/power/registry.js';
import { freePort } from './ports.js';
import { start, type Proc } from './proc.js';
import { tempDir } from './tmp.js';

const fixtures = fileURLToPath(new URL('../power/ipmi/', import.meta.url));

export interface IpmiSim {
  port: number;
  user: string;
  password: string;
  /** `ipmi://user:password@127.0.0.1:port` */
  url: string;
  proc: Proc;
  /** The chassis power as the BMC holds it: '1' on, '0' off. */
  power(): string;
  /** Sets the chassis power behind the BMC's back (as a node's own button would). */
  setPower(on: boolean): void;
  /**
   * The next boot's device as the BMC holds it: `pxe` after `chassis bootdev pxe`, `default` when
   * none is set (ipmi_sim passes the hook only the device, not the UEFI flag); a boot clears it.
   */
  bootDevice(): string;
  /** Every chassis hook call so far (`set power 0`, `get power`, `set reset 1`, …). */
  actions(): string[];
  stop(): Promise<void>;
}

export async function startIpmiSim(opts: { solPort?: number } = {}): Promise<IpmiSim> {
  const tmp = tempDir('muster-ipmi-');
  const port = await freePort();
  for (const f of ['sim.emu', 'chassis.sh']) copyFileSync(join(fixtures, f), join(tmp.dir, f));
  let conf = readFileSync(join(fixtures, 'lan.conf'), 'utf8').replaceAll('@PORT@', String(port)).replaceAll('@CHASSIS@', join(tmp.dir, 'chassis.sh'));
  if (opts.solPort !== undefined) conf = conf.replace(/^(\s*user 2 .*)$/m, `$1\n  sol "tcp:127.0.0.1:${opts.solPort}" 115200`);
  writeFileSync(join(tmp.dir, 'lan.conf'), conf);
  mkdirSync(join(tmp.dir, 'state'));
  const proc = start('ipmi_sim', ['-n', '-c', join(tmp.dir, 'lan.conf'), '-f', join(tmp.dir, 'sim.emu'), '-s', join(tmp.dir, 'state')]);
  const password = /user 2 true "admin" "([^"]+)"/.exec(conf)?.[1] ?? '';
  const url = `ipmi://admin:${password}@127.0.0.1:${port}`;
  const read = (name: string) => {
    try {
      return readFileSync(join(tmp.dir, name), 'utf8');
    } catch {
      return '';
    }
  };
  const sim: IpmiSim = {
    port,
    user: 'admin',
    password,
    url,
    proc,
    power: () => read('power').trim() || '0',
    setPower: (on) => writeFileSync(join(tmp.dir, 'power'), on ? '1\n' : '0\n'),
    bootDevice: () => read('boot').trim() || 'default',
    actions: () => read('actions.log').split('\n').filter(Boolean),
    async stop() {
      await proc.stop();
      tmp.remove();
    },
  };
  // ipmi_sim prints nothing when ready: ask it until it answers.
  const probe = createPowerDriver(url, 'probe', { timeoutMs: 2_000 });
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await probe.status();
      return sim;
    } catch (err) {
      if (Date.now() > deadline) {
        await sim.stop();
        throw new Error(`ipmi_sim did not answer: ${String(err)}; its output:\n${proc.output()}`);
      }
    }
  }
}
