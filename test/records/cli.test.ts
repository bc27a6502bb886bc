/**
 * The records commands end to end: the real CLI code through a real (embedded) broker to the
 * records verbs of an in-process controller.
 */
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerRecordCommands } from '../../cli/commands/records.js';
import { ApiServer } from '../../controller/api/server.js';
import { recordVerbs } from '../../controller/api/verbs/records.js';
import { BmcBios } from '../../controller/records/bios-bmc.js';
import { PowerService } from '../../controller/power/service.js';
import { ControllerConfig } from '../../controller/config.js';
import { startController, type RunningController } from '../../controller/controller.js';
import { createLogger } from '../../controller/log.js';
import { MAX_PAYLOAD_BYTES } from '../../shared/protocol.js';
import { tempDir } from '../helpers/tmp.js';
import { RACK_CSV } from './fixtures.js';

let controller: RunningController;
let tmp: { dir: string; remove: () => void };

beforeAll(async () => {
  tmp = tempDir('muster-records-cli-');
  const config = ControllerConfig.parse({ dataDir: join(tmp.dir, 'data'), host: '127.0.0.1', mqttPort: 0, wsPort: null, httpPort: null, admin: { host: '127.0.0.1', port: null, tls: null }, storeDebounceMs: 20, auth: { anonymousRole: 'admin' } });
  controller = await startController(config, { log: createLogger({ level: 'silent', pretty: false }), extensions: () => [new ApiServer(recordVerbs(new BmcBios(() => ({})), new PowerService()))] });
});
afterAll(async () => {
  await controller?.stop();
  tmp?.remove();
});

/** Run `muster ARGS` as cli/main.ts would, capturing what it prints. */
async function muster(...args: string[]): Promise<{ stdout: string; stderr: string; error: string | null }> {
  const program = new Command()
    .option('--controller <url>')
    .option('--prefix <prefix>', 'topic prefix', 'muster')
    .option('--timeout <seconds>', 'timeout', '20')
    .exitOverride();
  registerRecordCommands(program);
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  try {
    await program.parseAsync(['--controller', controller.mqttUrl, ...args], { from: 'user' });
    return { stdout, stderr, error: null };
  } catch (e) {
    return { stdout, stderr, error: (e as Error).message };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** A rack of `count` nodes as YAML, each with two MACs, a BMC and a console port. */
function bigRack(count: number): string {
  const hex = (i: number) => i.toString(16).padStart(4, '0').replace(/(..)(..)/, '$1:$2');
  const lines = ['version: 1', 'nodes:'];
  for (let i = 1; i <= count; i++) {
    lines.push(
      `  - name: c${String(i).padStart(5, '0')}`,
      '    groups: [big, compute]',
      `    macs: ["52:54:00:01:${hex(i)}", "52:54:00:02:${hex(i)}"]`,
      `    power: ipmi://admin:pw${i}@10.1.${i >> 8}.${i & 255}:623`,
      `    console: tcp://10.2.0.1:${7000 + (i % 1000)}`,
      `    attrs: {rack: r${Math.ceil(i / 40)}, unit: "${i % 40}"}`,
    );
  }
  return lines.join('\n') + '\n';
}

describe('muster import / export / hwlog / switch / bios', () => {
  it('imports a file larger than one MQTT message in parts, and says what it did', async () => {
    const file = join(tmp.dir, 'big.yaml');
    writeFileSync(file, bigRack(2000));
    expect(statSync(file).size).toBeGreaterThan(MAX_PAYLOAD_BYTES);
    const started = performance.now();
    const r = await muster('import', file);
    const ms = performance.now() - started;
    expect(r.error).toBeNull();
    expect(r.stdout).toBe('nodes: 2000 created, 0 updated; switches: 0 created, 0 updated, 0 port(s) mapped; BIOS entries: 0\n');
    const onDisk = JSON.parse(readFileSync(join(tmp.dir, 'data', 'store.json'), 'utf8'));
    expect(Object.keys(onDisk.nodes)).toHaveLength(2000);
    expect(onDisk.nodes.c01999.attrs).toEqual({ rack: 'r50', unit: '39' });
    console.info(`import of ${statSync(file).size} bytes (2000 nodes) via the CLI: ${Math.round(ms)} ms`);
  });

  it('refuses a file over 10 MiB before sending anything, and lists every problem of a bad file', async () => {
    const huge = join(tmp.dir, 'huge.yaml');
    writeFileSync(huge, '');
    truncateSync(huge, 10 * 1024 * 1024 + 1);
    expect((await muster('import', huge)).error).toBe(`import: ${huge} is 10.0 MiB; muster import takes at most 10 MiB (split it into several files)`);

    const bad = join(tmp.dir, 'bad.csv');
    writeFileSync(bad, 'name,macs,power,console\nn001,52:54:00:00:00:01,ipmi://u:p@127.0.0.1,sol:\nn002,nope,,\nn003,,,ssh://x\n');
    const r = await muster('import', bad);
    expect(r.error).toBe(`import: nothing imported from ${bad}: 2 problem(s)`);
    expect(r.stderr.split('\n')).toEqual([`${bad}:3: node n002: macs: "nope" is not a MAC address like aa:bb:cc:dd:ee:ff`, expect.stringMatching(new RegExp(`^${bad}:4: node n003: console: "ssh://x" must start with one of`)), '']);
    expect((await muster('hwlog', 'open', 'n001', 'x')).error).toBe('hwlog: node n001 is not defined');
  });

  it('imports the CSV table, exports with hidden passwords, and manages hwlog, switches and BIOS', async () => {
    const csv = join(tmp.dir, 'rack.csv');
    writeFileSync(csv, RACK_CSV);
    expect((await muster('import', csv, '--dry-run')).stdout).toMatch(/^dry run: nodes: 2 would be created, 0 would be updated;/);
    expect((await muster('import', csv)).stdout).toMatch(/^nodes: 2 created, 0 updated;/);

    const exported = await muster('export', '--format', 'csv');
    expect(exported.stdout.split('\n').find((l) => l.startsWith('n001,'))).toBe('n001,"rack1,compute","52:54:00:00:01:01,52:54:00:00:01:02",0012345,,,,ipmi://admin:***@10.0.0.101:623,sol:,,,r1,12');
    const secret = join(tmp.dir, 'secret.yaml');
    await muster('export', '--show-secrets', '-o', secret);
    expect(readFileSync(secret, 'utf8')).toContain('power: ipmi://admin:s3cret@10.0.0.101:623');
    expect(statSync(secret).mode & 0o777).toBe(0o600);

    expect((await muster('hwlog', 'open', 'n001', 'DIMM', 'B2', 'errors')).stdout).toMatch(/^n001: issue #\d+ opened\n$/);
    const list = await muster('hwlog', 'list', 'n001');
    expect(list.stdout).toMatch(/^ID +NODE +OPENED +BY +SOURCE +TEXT\n#\d+ +n001 .* anonymous +admin +DIMM B2 errors\n$/);
    const id = /#(\d+)/.exec(list.stdout)![1]!;
    expect((await muster('hwlog', 'close', 'n001', id, '--note', 'replaced')).stdout).toBe(`n001: issue #${id} closed\n`);
    expect((await muster('hwlog', 'list', '--json')).stdout).toBe('[]\n');

    expect((await muster('switch', 'add', 'leaf1', 'mgmt=10.0.0.250')).stdout).toBe('switch leaf1 added\n');
    expect((await muster('switch', 'port', 'leaf1', 'Ethernet1/1', 'n001', 'nic=eth0')).stdout).toBe('leaf1 port Ethernet1/1 → n001 (eth0)\n');
    expect((await muster('switch', 'list')).stdout).toMatch(/leaf1 +10\.0\.0\.250 +- +Ethernet1\/1 +n001 +eth0/);

    expect((await muster('bios', 'set', 'compute', 'version=2.1.3')).stdout).toBe('group compute: desired BIOS settings changed\n');
    const diff = await muster('bios', 'diff', 'n[001-002]');
    expect(diff.stdout).toMatch(/n001 +version +2\.1\.3 +\? +- +group compute\nn002 +version +2\.1\.3 +\? +- +group compute\n2 node\(s\) differ, 0 match\n$/);
  });
});
