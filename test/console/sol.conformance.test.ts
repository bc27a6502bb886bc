import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleManager } from '../../controller/console/manager.js';
import { startIpmiSim, type IpmiSim } from '../helpers/ipmi-sim.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';
import { consoleConformance } from './conformance.js';
import { terminalServer, type TerminalServer } from './terminal-server.js';

/**
 * Real SOL: openipmi's ipmi_sim serves IPMI over LAN and bridges its SOL payload to a TCP
 * "serial port", which the test plays as the node's UART. Each block has a BMC of its own:
 * ipmi_sim keeps the last SOL sequence number across sessions, so a new session's first packet
 * can be taken for a repeat of the old session's last one and its keys dropped.
 */
function solBmc(): { uart: () => TerminalServer; bmc: () => IpmiSim } {
  let uart: TerminalServer;
  let bmc: IpmiSim;
  beforeAll(async () => {
    uart = await terminalServer();
    bmc = await startIpmiSim({ solPort: uart.port });
  });
  afterAll(async () => {
    await bmc?.stop();
    await uart?.close();
  });
  return { uart: () => uart, bmc: () => bmc };
}

describe('sol against its own BMC', () => {
  const { uart, bmc } = solBmc();
  consoleConformance('sol', async () => ({
    node: 'n1',
    target: 'sol:',
    ipmiUrl: bmc().url,
    farEnd: () => ({
      say: uart().say,
      heard: uart().heard,
      // The BMC ends the session, as when another client takes the console.
      async drop() {
        execFileSync('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', '127.0.0.1', '-p', String(bmc().port), '-U', bmc().user, '-E', 'sol', 'deactivate'], {
          env: { ...process.env, IPMI_PASSWORD: bmc().password },
          stdio: 'ignore',
        });
      },
    }),
    unreachable: {
      target: `sol:ipmi://admin:wrong-${bmc().password}@127.0.0.1:${bmc().port}`,
      names: `SOL activation at 127.0.0.1:${bmc().port} failed`,
      secrets: [`wrong-${bmc().password}`, bmc().password],
    },
    malformed: `sol:ipmi://admin:${bmc().password}@`,
    close: async () => undefined,
  }));
});

describe('sol console kept by the manager', () => {
  const { uart, bmc } = solBmc();
  const tmp = tempDir('muster-console-sol-');
  let manager: ConsoleManager;
  const spec = () => ({ target: 'sol:', ipmiUrl: bmc().url });

  beforeAll(async () => {
    manager = new ConsoleManager({ dataDir: tmp.dir, backoff: { initialMs: 50, maxMs: 500 } });
    await manager.add('n1', spec());
    await until('SOL session active', () => manager.status('n1').connected, 25_000).catch(async (err) => {
      throw new Error(`${err.message}; console status: ${JSON.stringify(manager.status('n1'))}; log: ${(await manager.tail('n1', 5)).join(' / ')}`);
    });
  });

  afterAll(async () => {
    await manager?.close();
    tmp.remove();
  });

  it('logs what the node prints, without ipmitool\'s banner', async () => {
    await uart().say('Debian GNU/Linux 12 n1 ttyS0\r\n\r\nn1 login: ');
    await until('prompt logged', async () => (await manager.tail('n1', 1))[0]?.endsWith('n1 login: '), 10_000);
    const tail = await manager.tail('n1', 10);
    expect(tail.map((l) => l.slice(25))).toEqual([
      `[muster] console opened: sol:ipmi://admin:***@127.0.0.1:${bmc().port}`,
      'Debian GNU/Linux 12 n1 ttyS0',
      '',
      'n1 login: ',
    ]);
    expect(tail.join('\n')).not.toContain(bmc().password);
  });

  it('carries the writer\'s keys to the node, a typed "~." included', async () => {
    const before = uart().heard().length;
    manager.claimWriter('n1', 'cli-1');
    await manager.write('n1', 'cli-1', Buffer.from('root\r'));
    await manager.write('n1', 'cli-1', Buffer.from('~.\r'));
    await until('keys at the UART', () => uart().heard().slice(before).includes('~.\r'), 20_000).catch((err: Error) => {
      throw new Error(`${err.message}; it heard ${JSON.stringify(uart().heard().slice(before))}`);
    });
    expect(uart().heard().slice(before)).toBe('root\r~.\r');
    expect(manager.status('n1').connected).toBe(true);
  });

  it('ends the session on remove (ipmitool exits) and opens it again', async () => {
    const ipmitoolPids = () => execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' }).split('\n').filter((l) => l.includes('ipmitool'));
    expect(ipmitoolPids()).toHaveLength(1);
    expect(ipmitoolPids()[0]).not.toContain(bmc().password); // the password is in the environment only
    await manager.remove('n1');
    expect(ipmitoolPids()).toEqual([]);
    await manager.add('n1', spec());
    await until('SOL session active again', () => manager.status('n1').connected, 25_000);
    await uart().say('second session\r\n');
    await until('output after reopening', async () => (await manager.tail('n1', 1))[0]?.endsWith('second session'), 10_000);
  });
});
