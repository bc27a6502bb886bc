/**
 * The CLI as people meet it: every command has --help with an example, and errors are one line
 * that names what is wrong (unknown node → the closest names, bad range → where, no controller).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../cli/program.js';
import { musterBin, requireBuild, startControllerProc, type ControllerProc } from '../helpers/controller.js';
import { freePort } from '../helpers/ports.js';
import { until } from '../helpers/wait.js';

const run = promisify(execFile);
async function muster(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [musterBin, ...args], { env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Every leaf command of the tree with the help text it prints (examples come after the usage). */
function leafHelps(): Array<{ name: string; help: string }> {
  const out: Array<{ name: string; help: string }> = [];
  const walk = (cmd: Command, path: string[]) => {
    const subs = cmd.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden);
    if (subs.length === 0) {
      let help = '';
      cmd.configureOutput({ writeOut: (s) => void (help += s) });
      cmd.outputHelp();
      out.push({ name: path.join(' '), help });
    }
    for (const sub of subs) walk(sub, [...path, sub.name()]);
  };
  walk(buildProgram(), []);
  return out;
}

describe('muster CLI', () => {
  let controller: ControllerProc;
  beforeAll(async () => {
    requireBuild();
    controller = await startControllerProc();
    await controller.cli(['define', 'n[001-012]', 'groups=rack1']);
  });
  afterAll(() => controller?.stop());

  it('every command has --help with an example', () => {
    const leaves = leafHelps();
    expect(leaves.length).toBeGreaterThan(30);
    expect(leaves.filter((l) => !/example/i.test(l.help)).map((l) => l.name)).toEqual([]);
  });

  it('names the closest nodes for an unknown one, in one line', async () => {
    const r = await controller.cli(['show', 'n0001'], { allowFail: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^muster: node n0001 is not defined \(did you mean n001/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('says where a noderange is wrong', async () => {
    const r = await controller.cli(['nodes', 'n[001-0x5]'], { allowFail: true });
    expect(r.stderr.trim()).toBe('muster: noderange "n[001-0x5]": bad range bound "0x5" at column 7');
  });

  it('prints a plain table and counts per group', async () => {
    const table = (await controller.cli(['nodes', 'n00[1-2]'])).stdout.split('\n');
    expect(table[0]).toMatch(/^NODE\s+PHASE\s+LIVENESS\s+ADMIN\s+POWER/);
    expect(table[1]).toMatch(/^n001\s+unknown\s+dead\s+online\s+unknown/);
    expect(table[1]).not.toContain('\u001b['); // no colour when not a terminal
    await controller.cli(['offline', 'n003', '--reason', 'fan']);
    const summary = JSON.parse((await controller.cli(['summary', '--json'])).stdout) as Array<{ group: string; nodes: number; admin: Record<string, number> }>;
    expect(summary.find((s) => s.group === 'rack1')).toMatchObject({ nodes: 12, admin: { online: 11, offline: 1 } });
  });

  it('says what muster will do next, counts holds, and journals who did what', async () => {
    const show = (await controller.cli(['show', 'n005'])).stdout;
    expect(show).toMatch(/^next {9}never seen: muster acts only on nodes that have booted once$/m);
    const why = (await controller.cli(['nodes', 'n00[5-6]', '--why'])).stdout.split('\n');
    expect(why[0]).toMatch(/^NODE\s+PHASE.*REASON\s+NEXT$/);
    expect(why[1]).toMatch(/^n005\s.*never seen: muster acts only on nodes that have booted once$/);
    const rows = JSON.parse((await controller.cli(['nodes', 'n005', '--why', '--json'])).stdout) as Array<{ next: { state: string } }>;
    expect(rows[0]!.next.state).toBe('never-seen');

    await controller.cli(['offline', 'n007', '--reason', 'fan noise']);
    expect((await controller.cli(['show', 'n007'])).stdout).toMatch(/^next {9}held: admin offline \(fan noise, by anonymous\)$/m);
    const summary = JSON.parse((await controller.cli(['summary', '--json'])).stdout) as Array<{ group: string; held: Record<string, number> }>;
    expect(summary.find((s) => s.group === 'rack1')!.held['admin-offline']).toBeGreaterThanOrEqual(1);
    expect((await controller.cli(['summary'])).stdout.split('\n')[0]).toMatch(/OFFLINE\s+HELD$/);

    const history = (await controller.cli(['history', 'n007', '--axis', 'action'])).stdout.split('\n');
    expect(history[0]).toMatch(/^TIME\s+AXIS\s+FROM\s+TO\s+CAUSE$/);
    expect(history.slice(1).filter(Boolean).map((l) => l.replace(/^\S+ \S+\s+/, ''))).toEqual([
      expect.stringMatching(/^action\s+-\s+define done\s+by anonymous: settings groups$/),
      expect.stringMatching(/^action\s+-\s+offline done\s+by anonymous: fan noise$/),
    ]);
  });

  it('refuses offline without a reason', async () => {
    const r = await controller.cli(['offline', 'n004'], { allowFail: true });
    expect(r.stderr).toMatch(/required option '--reason <text>' not specified/);
  });

  it('completes node and group names from the controller', async () => {
    expect((await controller.cli(['completion', 'bash'])).stdout).toContain('complete -F _muster muster');
    const names = (await controller.cli(['_names'])).stdout.split('\n');
    expect(names).toContain('n012');
    expect(names).toContain('rack1');
  });

  it('completes subcommands, argument values, options and option values in bash', async () => {
    const script = (await controller.cli(['completion', 'bash'])).stdout;
    // COMP_WORDS as bash splits the line; the last word is the one being completed.
    const lines: Array<[string[], string]> = [
      [['muster', 'po'], 'power policy'],
      [['muster', 'image', ''], 'add list build'],
      [['muster', 'power', 'c'], 'cycle'],
      [['muster', '--controller', 'x', 'power', 'of'], 'off'],
      [['muster', 'power', 'on', '--con'], '--concurrency --controller'],
      [['muster', 'history', 'n1', '--axis', 'li'], 'liveness'],
      [['muster', 'completion', ''], 'bash zsh'],
      [['muster', 'naming', ''], 'on off'],
      [['muster', 'show', 'n01'], 'n010 n011 n012'],
    ];
    const probe = lines.map(([words]) => `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; COMPREPLY=(); _muster; echo "\${COMPREPLY[*]}"`).join('\n');
    // `muster _names` inside the script: this build, asking this test's controller.
    const muster = `muster() { ${JSON.stringify(process.execPath)} ${JSON.stringify(musterBin)} --controller ${controller.mqttUrl} "$@"; }`;
    const { stdout } = await run('bash', ['-c', `${script}\n${muster}\n${probe}`]);
    expect(stdout.split('\n').slice(0, -1)).toEqual(lines.map(([, want]) => want));
  });

  it('says in one line when no controller answers', async () => {
    const r = await muster(['--controller', `mqtt://127.0.0.1:${await freePort()}`, 'nodes']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^muster: cannot reach the controller at mqtt:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  });

  it('checks power and console targets when they are given, with the drivers\' own parsers', async () => {
    const cases: Array<[string, RegExp]> = [
      ['power=ipmi://', /^muster: node x01: bad power target "ipmi:\/\/": missing host/],
      ['power=redfish://', /^muster: node x01: bad power target "redfish:\/\/": missing host/],
      ['power=ipmi://u:secret@bmc?nosuch=1', /^muster: node x01: bad power target "ipmi:\/\/u:\*\*\*@bmc\?nosuch=1": unknown option "nosuch="/],
      ['console=serial:', /^muster: node x01: console target "serial:": expected serial:\/dev\/NAME/],
      ['console=tcp://host', /^muster: node x01: console target "tcp:\/\/host": expected tcp:\/\/HOST:PORT/],
      ['console=sol:', /^muster: node x01: console target "sol:": sol: needs the node's IPMI power target/],
    ];
    for (const [setting, expected] of cases) {
      const r = await controller.cli(['define', 'x01', setting], { allowFail: true });
      expect(r.code, setting).toBe(1);
      expect(r.stderr, setting).toMatch(expected);
      expect(r.stderr, setting).not.toContain('secret');
    }
    // Nothing was defined by the refused lines.
    expect((await controller.cli(['nodes', 'x01'], { allowFail: true })).stderr).toMatch(/x01/);
  });

  it('prints a replaced power target old → new, and reads the new one at once', async () => {
    await controller.cli(['define', 'p01', 'power=sim://']);
    const r = await controller.cli(['set', 'p01', 'power=ipmi://admin:pw@127.0.0.1:1']);
    expect(r.stdout).toBe('1 node(s) changed\np01 power: sim:// → ipmi://admin:***@127.0.0.1:1\n');
    // A new target is read without waiting for the power sync (every 5 minutes).
    await controller.cli(['define', 'p02', 'power=sim://']);
    const shown = await until('p02 power read', async () => {
      const s = JSON.parse((await controller.cli(['show', 'p02', '--json'])).stdout) as { state: { power: string } | null };
      return s.state?.power === 'off' ? s : null;
    });
    expect(shown.state!.power).toBe('off');
  });

  it('undefine of more than one node names them and needs --yes', async () => {
    await controller.cli(['define', 'u[01-03]']);
    const r = await controller.cli(['undefine', 'u[01-03]'], { allowFail: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('muster: undefine would remove 3 nodes (u[01-03]): add --yes\n');
    expect((await controller.cli(['undefine', 'u01'])).stdout).toBe('1 node(s) removed\n');
    expect((await controller.cli(['undefine', 'u[02-03]', '--yes'])).stdout).toBe('2 node(s) removed\n');
  });

  it('prints its version', async () => {
    const r = await muster(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('refuses wrong words before it connects, naming what is allowed', async () => {
    // No controller listens on this port: each refusal must come from reading the command line.
    const nowhere = `mqtt://127.0.0.1:${await freePort()}`;
    const cases: Array<[string[], RegExp]> = [
      [['--controller', 'foo', 'nodes'], /^muster: --controller "foo" is not a controller URL: give mqtt:\/\/HOST\[:PORT\]/],
      [['--controller', 'http://127.0.0.1:8080', 'nodes'], /is not a controller URL/],
      [['--controller', nowhere, 'watch', '--kind', 'transition,foo'], /"foo" is not an event kind; give one or more of discovered, assigned, transition/],
      [['--controller', nowhere, 'history', 'n1', '--axis', 'foo'], /argument 'foo' is invalid\. Allowed choices are phase, liveness, admin, power/],
      [['--controller', nowhere, 'bios', 'nosuch'], /unknown command 'nosuch'/],
    ];
    for (const [args, expected] of cases) {
      const r = await muster(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(expected);
      expect(r.stderr, args.join(' ')).not.toContain('cannot reach');
    }
  });
});
