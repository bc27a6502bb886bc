/**
 * The verb catalog (shared/verbs/catalog.ts) is the one list: every verb the controller answers
 * is in it and the other way round, each has a role, a CLI command (or a reason for none) and a
 * line in docs/protocol.md. And the API answers a user-facing error with its code, anything else
 * as an internal error whose request id leads to the stack in the controller log.
 */
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControllerClient, RequestFailed } from '../../cli/client.js';
import { buildProgram } from '../../cli/program.js';
import { ApiServer } from '../../controller/api/server.js';
import { ApiError, verb } from '../../controller/api/verb.js';
import { ControllerConfig } from '../../controller/config.js';
import type { Context } from '../../controller/context.js';
import { startController, type RunningController } from '../../controller/controller.js';
import { defaultExtensions } from '../../controller/extensions.js';
import { ROLES } from '../../shared/auth.js';
import { VERB_NAMES, VERBS, type VerbSpec } from '../../shared/verbs/catalog.js';
import { tempDir } from '../helpers/tmp.js';

/** The verbs the running controller registers, built as controller/extensions.ts builds them. */
function registeredVerbs(): string[] {
  const exts = defaultExtensions({ config: { demo: 0 } } as Context);
  const api = exts.find((e): e is ApiServer => e instanceof ApiServer);
  if (!api) throw new Error('defaultExtensions has no ApiServer');
  return api.names();
}

function commandAt(program: Command, path: string): Command | undefined {
  return path.split(' ').reduce<Command | undefined>((c, name) => c?.commands.find((x) => x.name() === name), program);
}

describe('the verb catalog', () => {
  const specs: Array<[string, VerbSpec]> = Object.entries(VERBS);

  it('lists exactly the verbs the controller registers', () => {
    expect(registeredVerbs()).toEqual([...VERB_NAMES].sort());
  });

  it('gives every verb a role, a summary, and a CLI command or the reason it has none', () => {
    const program = buildProgram();
    for (const [name, spec] of specs) {
      expect(ROLES, name).toContain(spec.role);
      expect(spec.summary.length, name).toBeGreaterThan(10);
      if (typeof spec.cli === 'string') expect(commandAt(program, spec.cli), `${name}: muster ${spec.cli}`).toBeDefined();
      else expect(spec.cli.none.length, `${name}: why no CLI command`).toBeGreaterThan(10);
    }
  });

  it('has each verb in docs/protocol.md', () => {
    const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
    expect(specs.map(([name]) => name).filter((name) => !doc.includes(`\`${name}\``))).toEqual([]);
  });
});

describe('API errors', () => {
  const logged: Array<Record<string, unknown>> = [];
  let tmp: ReturnType<typeof tempDir>;
  let controller: RunningController;
  let client: ControllerClient;

  beforeAll(async () => {
    tmp = tempDir('muster-verb-errors-');
    const sink = new Writable({
      write(line, _encoding, done) {
        logged.push(JSON.parse(String(line)));
        done();
      },
    });
    const config = ControllerConfig.parse({ dataDir: tmp.dir, host: '127.0.0.1', mqttPort: 0, wsPort: null, httpPort: null, admin: { host: '127.0.0.1', port: null, tls: null }, auth: { anonymousRole: 'admin' } });
    const failing = [
      verb('groups', async () => {
        throw new ApiError('no groups today', 'no-groups');
      }),
      verb('consoles', async () => {
        throw new TypeError("Cannot read properties of undefined (reading 'target')");
      }),
      verb('whoami', async (_a, _ctx, { user, role }) => ({ user, role })),
      verb('history', async () => expect.fail('a handler ran with arguments its schema refuses')),
    ];
    controller = await startController(config, { log: pino({ level: 'error', base: undefined }, sink), extensions: () => [new ApiServer(failing)] });
    client = await ControllerClient.connect({ url: controller.mqttUrl, timeoutMs: 10_000 });
  });
  afterAll(async () => {
    await client?.close();
    await controller?.stop();
    tmp?.remove();
  });

  const failure = (p: Promise<unknown>) => p.then(() => expect.fail('the request succeeded'), (err: RequestFailed) => ({ message: err.message, code: err.code }));

  it('answers a user-facing error with its message and code', async () => {
    expect(await failure(client.request('groups'))).toEqual({ message: 'no groups today', code: 'no-groups' });
  });

  it('answers anything else as an internal error; the log has its request id and stack', async () => {
    const { message, code } = await failure(client.request('consoles'));
    expect(code).toBe('internal');
    const id = /^internal error \(request ([0-9a-f]{8})\); see the controller log$/.exec(message)?.[1];
    expect(id, message).toBeDefined();
    expect(message).not.toContain('target');
    expect(logged.find((l) => l.requestId === id)).toMatchObject({ msg: 'request failed', verb: 'consoles', user: 'anonymous', err: expect.stringContaining("TypeError: Cannot read properties of undefined (reading 'target')") });
  });

  it('checks arguments against the catalog before the handler runs, and gives the handler the authenticated caller', async () => {
    const bad = await failure(client.request('history', { node: 'n1', limit: -1 }));
    expect(bad).toEqual({ message: expect.stringMatching(/^history: limit: /), code: 'bad-arguments' });
    expect(await client.request('whoami')).toEqual({ user: 'anonymous', role: 'admin' });
    expect(await failure(client.request('nodes'))).toEqual({ message: 'unknown request "nodes"; known: consoles, groups, history, whoami', code: 'unknown-verb' });
  });
});
