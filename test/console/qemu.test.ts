import net from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConsoleManager } from '../../controller/console/manager.js';
import { start, type Proc } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

/** Sends one QMP command after the capabilities handshake. */
async function qmp(path: string, command: string): Promise<void> {
  const sock = net.connect(path);
  let got = '';
  sock.on('data', (d) => (got += d.toString()));
  await until('QMP greeting', () => got.includes('"QMP"'));
  sock.write('{"execute":"qmp_capabilities"}\n');
  await until('QMP capabilities', () => got.includes('"return"'));
  sock.write(`{"execute":"${command}"}\n`);
  await until(`QMP ${command}`, () => got.split('"return"').length > 2);
  sock.end();
}

describe('serial console of a real qemu VM (-serial pty)', () => {
  const tmp = tempDir('muster-console-qemu-');
  let vm: Proc | undefined;
  let manager: ConsoleManager | undefined;

  afterAll(async () => {
    await manager?.close();
    await vm?.stop();
    tmp.remove();
  });

  it('logs the firmware boot text', async () => {
    const qmpPath = join(tmp.dir, 'qmp.sock');
    // -nographic makes SeaBIOS print to the serial port; -S holds the CPU until the console is open.
    vm = start('qemu-system-x86_64', ['-accel', 'tcg', '-nographic', '-m', '64', '-net', 'none', '-monitor', 'none', '-serial', 'pty', '-S', '-qmp', `unix:${qmpPath},server=on,wait=off`]);
    const m = (await vm.waitFor(/char device redirected to (\/dev\/pts\/\d+)/, 20_000)) as RegExpMatchArray;
    manager = new ConsoleManager({ dataDir: tmp.dir, partialFlushMs: 50 });
    await manager.add('vm1', { target: `serial:${m[1]}@115200` });
    await until('console open', () => manager!.status('vm1').connected);
    await qmp(qmpPath, 'cont');
    await until('SeaBIOS banner logged', async () => (await manager!.tail('vm1', 20)).some((l) => l.includes('SeaBIOS (version')), 30_000);
    const lines = await manager.tail('vm1', 20);
    expect(lines[0]).toMatch(/^\S+Z \[muster\] console opened: serial:\/dev\/pts\/\d+@115200$/);
    expect(lines.find((l) => l.includes('SeaBIOS'))).toMatch(/^\d{4}-\d\d-\d\dT\S+Z .*SeaBIOS \(version /);
  });
});
