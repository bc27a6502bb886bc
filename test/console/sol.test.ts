import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleManager } from '../../controller/console/manager.js';
import { freePort } from '../helpers/ports.js';
import { start, type Proc } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

/**
 * Real SOL: openipmi's ipmi_sim serves IPMI over LAN and bridges its SOL payload to a TCP
 * "serial port" (`sol "tcp:HOST:PORT"`), which this test plays as the node's UART.
 */
describe('sol console through ipmitool against ipmi_sim', () => {
  const tmp = tempDir('muster-console-sol-');
  let uart: net.Server;
  let nodeSide: net.Socket | null = null;
  let typed = '';
  let bmc: Proc;
  let manager: ConsoleManager;
  let lanPort: number;

  beforeAll(async () => {
    const uartPort = await freePort();
    lanPort = await freePort();
    uart = net.createServer((s) => {
      nodeSide = s;
      s.on('data', (d) => (typed += d.toString()));
      s.on('error', () => undefined);
    });
    await new Promise<void>((res) => uart.listen(uartPort, '127.0.0.1', res));
    const lanConf = join(tmp.dir, 'lan.conf');
    writeFileSync(
      lanConf,
      [
        'name "muster-sol"',
        'set_working_mc 0x20',
        '  startlan 1',
        `    addr 127.0.0.1 ${lanPort}`,
        '    priv_limit admin',
        '    allowed_auths_admin none md2 md5 straight',
        '    guid a123456789abcdefa123456789abcdef',
        '  endlan',
        '  user 2 true "admin" "s3cret" admin 10 none md2 md5 straight',
        `  sol "tcp:127.0.0.1:${uartPort}" 115200`,
        '',
      ].join('\n'),
    );
    copyFileSync(join(import.meta.dirname, '..', 'power', 'ipmi', 'sim.emu'), join(tmp.dir, 'sim.emu'));
    mkdirSync(join(tmp.dir, 'state'));
    bmc = start('ipmi_sim', ['-n', '-c', lanConf, '-f', join(tmp.dir, 'sim.emu'), '-s', join(tmp.dir, 'state')]);
    // ipmi_sim connects to the SOL device as it starts: that is our sign it is up.
    await until('ipmi_sim connected to the UART', () => nodeSide, 10_000);
    manager = new ConsoleManager({ dataDir: tmp.dir, backoff: { initialMs: 50, maxMs: 500 } });
    await manager.add('n1', { target: 'sol:', ipmiUrl: `ipmi://admin:s3cret@127.0.0.1:${lanPort}` });
    await until('SOL session active', () => manager.status('n1').connected, 25_000).catch(async (err) => {
      throw new Error(`${err.message}; console status: ${JSON.stringify(manager.status('n1'))}; log: ${(await manager.tail('n1', 5)).join(' / ')}`);
    });
  });

  afterAll(async () => {
    await manager?.close();
    await bmc?.stop();
    await new Promise((res) => uart.close(res));
    tmp.remove();
  });

  it('logs what the node prints, without ipmitool\'s banner', async () => {
    nodeSide!.write('Debian GNU/Linux 12 n1 ttyS0\r\n\r\nn1 login: ');
    await until('prompt logged', async () => (await manager.tail('n1', 1))[0]?.endsWith('n1 login: '), 10_000);
    const tail = await manager.tail('n1', 10);
    expect(tail.map((l) => l.slice(25))).toEqual([
      `[muster] console opened: sol:ipmi://admin:***@127.0.0.1:${lanPort}`,
      'Debian GNU/Linux 12 n1 ttyS0',
      '',
      'n1 login: ',
    ]);
    expect(tail.join('\n')).not.toContain('s3cret');
  });

  it('carries the writer\'s keys to the node, a typed "~." included', async () => {
    manager.claimWriter('n1', 'cli-1');
    await manager.write('n1', 'cli-1', Buffer.from('root\r'));
    await manager.write('n1', 'cli-1', Buffer.from('~.\r'));
    await until('keys at the UART', () => typed === 'root\r~.\r', 10_000);
    expect(manager.status('n1').connected).toBe(true);
  });

  it('ends the session on remove (ipmitool exits) and opens it again', async () => {
    const ipmitoolPids = () => execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' }).split('\n').filter((l) => l.includes('ipmitool'));
    expect(ipmitoolPids()).toHaveLength(1);
    expect(ipmitoolPids()[0]).not.toContain('s3cret'); // the password is in the environment only
    await manager.remove('n1');
    expect(ipmitoolPids()).toEqual([]);
    await manager.add('n1', { target: 'sol:', ipmiUrl: `ipmi://admin:s3cret@127.0.0.1:${lanPort}` });
    await until('SOL session active again', () => manager.status('n1').connected, 25_000);
    nodeSide!.write('second session\r\n');
    await until('output after reopening', async () => (await manager.tail('n1', 1))[0]?.endsWith('second session'), 10_000);
  });
});
