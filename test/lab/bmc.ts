/**
 * A simulated BMC for a lab VM: openipmi's ipmi_sim whose chassis hook (chassis-qmp.sh) drives
 * the VM through its QMP socket, so `ipmi://` power actions act on a real booting machine.
 * Configs come from test/power/ipmi/ (lan.conf with @PORT@ and @CHASSIS@, sim.emu).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPowerDriver } from '../../controller/power/registry.js';
import { repoRoot } from '../helpers/controller.js';
import { freePort } from '../helpers/ports.js';
import { start, type Proc } from '../helpers/proc.js';

const IPMI_FIXTURES = join(repoRoot, 'test', 'power', 'ipmi');
const USER = 'admin';
const PASSWORD = 's3cr3t-pw'; // from test/power/ipmi/lan.conf

export class LabBmc {
  private constructor(
    readonly port: number,
    readonly proc: Proc,
    /** Where the hook logs each call (`get power`, `set power 0`, …). */
    readonly actionsLog: string,
  ) {}

  /** The node's `power=` target. */
  get target(): string {
    return `ipmi://${USER}:${PASSWORD}@127.0.0.1:${this.port}`;
  }

  static async start(dir: string, qmpSocket: string): Promise<LabBmc> {
    mkdirSync(join(dir, 'state'), { recursive: true });
    const port = await freePort();
    const hook = `${join(repoRoot, 'test', 'lab', 'chassis-qmp.sh')} ${dir} ${qmpSocket}`;
    const conf = readFileSync(join(IPMI_FIXTURES, 'lan.conf'), 'utf8').replaceAll('@PORT@', String(port)).replaceAll('@CHASSIS@', hook);
    writeFileSync(join(dir, 'lan.conf'), conf);
    const proc = start('ipmi_sim', ['-n', '-c', join(dir, 'lan.conf'), '-f', join(IPMI_FIXTURES, 'sim.emu'), '-s', join(dir, 'state')]);
    const bmc = new LabBmc(port, proc, join(dir, 'actions.log'));
    await bmc.waitReady(10_000);
    return bmc;
  }

  /** ipmi_sim prints nothing when ready: ask it for the power state until it answers. */
  private async waitReady(withinMs: number): Promise<void> {
    const driver = createPowerDriver(this.target, 'lab-bmc', {});
    const deadline = Date.now() + withinMs;
    for (;;) {
      try {
        return void (await driver.status({ timeoutMs: 1000 }));
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`ipmi_sim on port ${this.port} did not answer: ${(err as Error).message}; its output:\n${this.proc.output()}`);
      }
    }
  }

  actions(): string[] {
    try {
      return readFileSync(this.actionsLog, 'utf8').trim().split('\n').filter(Boolean);
    } catch {
      return [];
    }
  }

  async stop(): Promise<void> {
    await this.proc.stop();
  }
}
