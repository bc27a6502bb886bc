/**
 * The `--json` contract: every command with `--json` has a schema in shared/cli-output.ts, and
 * what the real CLI prints matches it (strict: a key the schema lacks fails) against an in-process
 * controller with nodes in several states: one running with its agent (a sim agent through the
 * agent's own link code), one taken offline with an open hardware-log issue, nodes never seen, an
 * agent nobody assigned. docs/protocol.md documents exactly the schemas' top-level keys.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { readFingerprint } from '../../agent/fingerprint/index.js';
import { hashPassword } from '../../controller/auth/passwords.js';
import { buildProgram } from '../../cli/program.js';
import { CLI_JSON, HOLDS, type CliJsonOutput } from '../../shared/cli-output.js';
import { Phase } from '../../shared/protocol.js';
import { expectCliJson } from '../helpers/cli-json.js';
import { musterBin, repoRoot, requireBuild, runCli, twoNicsIbMachine } from '../helpers/controller.js';
import { simAgent, startInProc, type InProc } from '../helpers/inproc.js';
import { start, type Proc } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

/** Outputs a run here cannot make; each is checked (expectCliJson) by the test named. */
const CHECKED_ELSEWHERE: Partial<Record<CliJsonOutput, string>> = {
  'image build': 'test/provision/os-image.test.ts', // mmdebstrap: minutes
  'dhcp show': 'test/network/dhcp.test.ts', // dnsmasq on a bridge in a namespace
  'dhcp leases': 'test/network/dhcp.test.ts',
};

const N001_UUID = '4c4c4544-0058-4b10-8032-b7c04f514a33';
let c: InProc;
let url: string;
const agents: Array<ReturnType<typeof simAgent>> = [];
const checked = new Set<CliJsonOutput>();
const tmp = tempDir('muster-json-');

/** Runs `muster ARGS --json` and checks its stdout against the output's schema; a failing command's JSON counts too (exit 1 with per-node errors). */
async function json<K extends CliJsonOutput>(output: K, args: string[], opts: { exitCode?: number } = {}) {
  const r = await runCli(url, [...args, '--json'], { allowFail: true });
  expect(r.code, `muster ${args.join(' ')} --json: ${r.stderr}`).toBe(opts.exitCode ?? 0);
  checked.add(output);
  return expectCliJson(output, r.stdout);
}

/** Leaf commands of the tree that take --json, as `parent child`. */
function jsonCommands(): string[] {
  const out: string[] = [];
  const walk = (cmd: Command, path: string[]) => {
    if (cmd.commands.length === 0 && cmd.options.some((o) => o.long === '--json')) out.push(path.join(' '));
    for (const sub of cmd.commands) walk(sub, [...path, sub.name()]);
  };
  walk(buildProgram(), []);
  return out.sort();
}

/** The top-level keys an output has: an array's element's, a union's options' together. */
function topKeys(schema: z.ZodType): string[] {
  if (schema instanceof z.ZodArray) return topKeys(schema.element as z.ZodType);
  if (schema instanceof z.ZodUnion) return [...new Set((schema.options as z.ZodType[]).flatMap(topKeys))].sort();
  if (schema instanceof z.ZodObject) return Object.keys(schema.shape).sort();
  throw new Error('an output is an object, an array of objects or a union of objects');
}

beforeAll(async () => {
  requireBuild();
  c = await startInProc();
  url = c.running.mqttUrl;
  const { client } = c;
  await client.request('define', { range: 'n001', settings: ['groups=rack1,compute', `uuid=${N001_UUID}`, 'power=sim://'] });
  await client.request('define', { range: 'n[002-005]', settings: ['groups=rack1', 'power=sim://'] });
  agents.push(simAgent(url, readFingerprint(join(repoRoot, 'test', 'fixtures', 'two-nics-ib')), `uuid-${N001_UUID}`, 'run'));
  const stranger = readFingerprint(twoNicsIbMachine(2));
  agents.push(simAgent(url, stranger, `uuid-${stranger.dmi.uuid!.toLowerCase()}`, 'kernel'));
  await until('n001 running and a stranger discovered', async () => (await client.request('nodes', { range: 'n001' }))[0]?.phase === 'run' && (await client.request('discovered')).length === 1);
  await client.request('offline', { range: 'n003', reason: 'fan noise' });
  await client.request('hwlog-open', { node: 'n003', text: 'fan 2 rattles' });
  await client.request('user-add', { name: 'alice', role: 'operator', passwordHash: await hashPassword('alice-password') });
  await client.request('token-create', { note: 'rack 1' });
}, 60_000);
afterAll(async () => {
  for (const a of agents) await a.link.stop();
  await c?.stop();
  tmp.remove();
});

// Some 40 CLI runs, each a new process: seconds apiece on a busy machine.
describe('muster --json', { timeout: 180_000 }, () => {
  it('has a schema for every command with --json, each checked here or by the test named', () => {
    const outputs = Object.keys(CLI_JSON) as CliJsonOutput[];
    // `build --status` is `build`'s other output.
    expect([...new Set(outputs.map((o) => o.replace(/ --\S+$/, '')))].sort()).toEqual(jsonCommands());
    for (const [output, file] of Object.entries(CHECKED_ELSEWHERE)) expect(readFileSync(join(repoRoot, file!), 'utf8')).toContain(`expectCliJson('${output}'`);
  });

  it('nodes, show, history, summary: node, one state object, ISO times, every count', async () => {
    const rows = await json('nodes', ['nodes']);
    expect(rows.map((r) => r.node)).toEqual(['n001', 'n002', 'n003', 'n004', 'n005']);
    expect(rows[0]!.state).toMatchObject({ phase: 'run', liveness: 'alive', admin: 'online', adminBy: null, faults: 0 });
    expect(rows[2]!.state).toMatchObject({ admin: 'offline', reason: 'fan noise', adminBy: 'anonymous', faults: 1 });
    expect((await json('nodes', ['nodes', 'n002', '--why']))[0]!.next).toMatchObject({ state: 'never-seen' });

    const shown = await json('show', ['show', 'n001']);
    expect(shown).toMatchObject({ node: 'n001', agentId: `uuid-${N001_UUID}`, power: 'sim://' });
    expect(shown.state).toEqual(rows[0]!.state);

    const history = await json('history', ['history', 'n003']);
    expect(history.map((t) => `${t.axis} ${t.to}`)).toEqual(expect.arrayContaining(['admin offline', 'action offline done']));

    const summary = await json('summary', ['summary']);
    const all = summary.find((s) => s.group === 'all')!;
    expect(Object.keys(all.phase)).toEqual(Phase.options);
    expect(Object.keys(all.held)).toEqual([...HOLDS]);
    expect(all).toMatchObject({ nodes: 5, phase: { run: 1, build: 0 }, admin: { online: 4, offline: 1 }, held: { 'admin-offline': 1, breaker: 0 } });
  });

  it('watch: one object per line, a transition carrying its journal line', async () => {
    const watch: Proc = start(process.execPath, [musterBin, '--controller', url, 'watch', '--json']);
    try {
      // The subscription is in place once an event published after the start arrives.
      await until('watch prints what happens', async () => {
        await c.client.request('offline', { range: 'n004', reason: 'watched' });
        await c.client.request('online', { range: 'n004' });
        await c.client.request('power', { action: 'status', range: 'n004' });
        return /"kind":"transition"/.test(watch.output()) && /"kind":"action"/.test(watch.output());
      }, 60_000, 500);
    } finally {
      await watch.stop();
    }
    const lines = watch.output().split('\n').filter((l) => l.startsWith('{'));
    const events = lines.map((l) => expectCliJson('watch', l));
    checked.add('watch');
    expect(events.find((e) => e.kind === 'transition')!.details).toMatchObject({ node: 'n004', axis: 'admin' });
  });

  it('nodes and agents: discovered, assign, define, set, undefine, naming', async () => {
    const [stranger] = await json('discovered', ['discovered']);
    expect(stranger).toMatchObject({ live: true, phase: 'kernel' });
    expect(await json('assign', ['assign', stranger!.agentId, 'n005'])).toEqual({ node: 'n005', agentId: stranger!.agentId });
    expect(await json('define', ['define', 'n[006-007]', 'groups=spare'])).toEqual({ created: ['n006', 'n007'], changed: [], replacedPower: [] });
    expect(await json('set', ['set', 'n006', 'power=sim://', 'tags=gpu'])).toEqual({ changed: ['n006'], replacedPower: [] });
    expect(await json('undefine', ['undefine', 'n007'])).toEqual({ removed: ['n007'] });
    expect(await json('naming', ['naming'])).toMatchObject({ enabled: false });
  });

  it('power: per-node results, the power state read as `power`; without --json one line per node, as rpower', async () => {
    expect(await json('power', ['power', 'on', 'n002'])).toEqual([expect.objectContaining({ node: 'n002', ok: true })]);
    const results = await json('power', ['power', 'status', 'n00[1-2]']);
    expect(results).toEqual([expect.objectContaining({ node: 'n001', ok: true, power: 'off' }), expect.objectContaining({ node: 'n002', ok: true, power: 'on' })]);

    expect((await runCli(url, ['power', 'status', 'n00[1-2]'])).stdout).toBe('n001: off\nn002: on\n2 ok, 0 failed\n');
    await runCli(url, ['define', 'n009']);
    const failed = await runCli(url, ['power', 'status', 'n002,n009'], { allowFail: true });
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^n002: on\nn009: error: .+\n$/);
    expect(failed.stderr).toMatch(/^1 ok, 1 failed: n009 .+\n$/);
  });

  it('images and builds: image add, image list, build, build --status', async () => {
    const kernel = join(c.dataDir, 'images', 'vmlinuz');
    const initrd = join(c.dataDir, 'images', 'initrd.img');
    mkdirSync(join(c.dataDir, 'images'), { recursive: true });
    writeFileSync(kernel, 'kernel');
    writeFileSync(initrd, 'initrd');
    expect(await json('image add', ['image', 'add', 'tiny', '--kernel', kernel, '--initrd', initrd])).toMatchObject({ name: 'tiny' });
    expect((await json('image list', ['image', 'list'])).find((i) => i.name === 'tiny')).toMatchObject({ system: 'netboot' });
    await runCli(url, ['set', 'n002', 'image=tiny']);
    const built = await json('build', ['build', 'n00[2-3]'], { exitCode: 1 });
    expect(built.build.map((b) => b.node)).toEqual(['n002', 'n003']);
    expect(built.power).toBeNull();
    expect((await json('build --status', ['build', 'n002', '--status']))[0]).toMatchObject({ node: 'n002' });
  });

  it('records: hwlog, switches, BIOS settings, import', async () => {
    expect(await json('hwlog open', ['hwlog', 'open', 'n002', 'DIMM', 'B2'])).toMatchObject({ created: true, issue: { node: 'n002', closedAt: null } });
    expect((await json('hwlog list', ['hwlog', 'list'])).map((i) => i.node)).toEqual(['n003', 'n002']);
    expect(await json('switch add', ['switch', 'add', 'leaf1', 'mgmt=10.0.0.250'])).toMatchObject({ created: true, switch: { name: 'leaf1' } });
    await runCli(url, ['switch', 'port', 'leaf1', '12', 'n001']);
    expect((await json('switch list', ['switch', 'list']))[0]!.ports).toEqual([{ port: '12', node: 'n001', nic: null }]);
    expect(await json('bios set', ['bios', 'set', 'compute', 'SMT=disabled'])).toEqual({ group: 'compute', desired: { SMT: 'disabled' } });
    expect(await json('bios set', ['bios', 'set', 'n001', 'VT=on'])).toMatchObject({ nodes: ['n001'] });
    expect((await json('bios diff', ['bios', 'diff', 'n001']))[0]!.drift.map((d) => d.key).sort()).toEqual(['SMT', 'VT']);
    // n001's power target is no Redfish BMC: nothing can be written, and the exit code says so.
    expect((await json('bios apply', ['bios', 'apply', 'n001'], { exitCode: 1 }))[0]).toMatchObject({ node: 'n001', ok: false });
    const site = join(tmp.dir, 'site.yaml');
    writeFileSync(site, 'nodes:\n  - name: n010\n    groups: [rack2]\n');
    expect(await json('import', ['import', site, '--dry-run'])).toMatchObject({ imported: false, dryRun: true, nodes: { created: ['n010'] } });
    writeFileSync(site, 'nodes:\n  - name: 10\n');
    expect(await json('import', ['import', site], { exitCode: 1 })).toMatchObject({ imported: false, problems: [expect.objectContaining({ line: 2 })] });
  });

  it('policy, users, tokens, doctor', async () => {
    expect(await json('policy status', ['policy', 'status'])).toEqual([]);
    expect((await json('user list', ['user', 'list'])).map((u) => u.name)).toContain('alice');
    expect((await json('token list', ['token', 'list']))[0]).toMatchObject({ source: 'store', note: 'rack 1' });
    const doctor = await json('doctor', ['doctor']);
    expect(doctor.ok).toBe(true);
    expect(doctor.checks[0]).toMatchObject({ id: 'controller', status: 'ok' });
  });

  it('checked every output but those checked elsewhere', () => {
    expect([...checked].sort()).toEqual((Object.keys(CLI_JSON) as CliJsonOutput[]).filter((o) => !(o in CHECKED_ELSEWHERE)).sort());
  });

  it('docs/protocol.md documents each output with exactly its top-level keys', () => {
    const doc = readFileSync(join(repoRoot, 'docs', 'protocol.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## JSON output'));
    const documented = new Map<string, string[]>();
    for (const part of section.split(/^### /m).slice(1)) {
      const output = /^`muster (.+?) --json`/.exec(part)?.[1];
      if (output) documented.set(output, [...part.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!).sort());
    }
    expect([...documented.keys()].sort()).toEqual(Object.keys(CLI_JSON).sort());
    for (const [output, keys] of documented) expect(keys, output).toEqual(topKeys(CLI_JSON[output as CliJsonOutput]));
  });
});
