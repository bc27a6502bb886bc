/**
 * command: an external provisioning tool (xCAT's nodeset, Warewulf, Cobbler, a site script)
 * behind the build interface. muster runs `EXECUTABLE SUBCOMMAND [NODE]` with JSON on stdin and
 * reads JSON from stdout; docs/build-systems.md ("The command protocol") is the tool's contract,
 * boot/build-command-example.sh a working example.
 */
import { basename } from 'node:path';
import pLimit from 'p-limit';
import { z } from 'zod';
import type { BuildConfig } from '../../../shared/node-network.js';
import { describeZodError } from '../../../shared/protocol.js';
import { RunError, lastLine, runProgram, type RunResult } from '../../process/run.js';
import { NodeLocks } from '../node-lock.js';
import { checkBuildConfig, checkNodeName } from '../validate.js';
import { BUILD_ERROR_CODES, BUILD_STATES, BuildError, type BuildCapability, type BuildErrorCode, type BuildImage, type BuildState, type BuildStatus, type BuildSystem } from '../types.js';

export interface CommandOptions {
  /** The tool to run (absolute path, or a name on PATH). */
  executable: string;
  /** Arguments put before the subcommand (e.g. a config file for the tool). */
  args?: string[];
  /** Registry name; register several tools under different names. Default `command`. */
  name?: string;
  /** Per call; the tool's process group is killed when it runs out. Default 60 s. */
  timeoutMs?: number;
  /** Tool processes running at once, over all nodes. Default 8. */
  concurrency?: number;
  /** Extra environment for the tool (added to the controller's). */
  env?: Record<string, string>;
}

/** Output beyond this is a broken tool, not data. */
const MAX_OUTPUT = 1024 * 1024;

const ToolError = z.object({ error: z.object({ code: z.string(), message: z.string().max(4096) }) });
const ImagesOutput = z.object({ images: z.array(z.object({ name: z.string().min(1).max(256), detail: z.string().max(1024).optional(), addedAt: z.number().optional() })) });
const StatusOutput = z.object({ state: z.enum(BUILD_STATES as [BuildState, ...BuildState[]]), detail: z.string().max(1024).optional(), since: z.number().optional() });

type Subcommand = 'images' | 'configure' | 'prepare' | 'status' | 'release';

export function createCommandBuildSystem(opts: CommandOptions): BuildSystem {
  const name = opts.name ?? 'command';
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const limit = pLimit(opts.concurrency ?? 8);
  const locks = new NodeLocks();
  /** Configs given to the tool in this controller session; sent along with later calls. */
  const configs = new Map<string, BuildConfig>();
  const capabilities: readonly BuildCapability[] = ['reports-progress'];

  const call = (sub: Subcommand, node: string | null, input: unknown) => limit(() => runTool(opts, timeoutMs, sub, node, input));
  const nodeInput = (node: string) => ({ node, config: configs.get(node) ?? null });

  return {
    name,
    capabilities,
    async images(): Promise<BuildImage[]> {
      const out = parseOutput(ImagesOutput, await call('images', null, {}), opts.executable, 'images', null);
      return out.images;
    },
    async configure(node, config) {
      checkNodeName(node);
      const checked = checkBuildConfig(node, config);
      await locks.run(node, async () => {
        await call('configure', node, { node, config: checked });
        configs.set(node, checked);
      });
    },
    async prepare(node) {
      checkNodeName(node);
      await locks.run(node, () => call('prepare', node, nodeInput(node)));
    },
    async status(node): Promise<BuildStatus> {
      checkNodeName(node);
      return parseOutput(StatusOutput, await locks.run(node, () => call('status', node, nodeInput(node))), opts.executable, 'status', node);
    },
    async release(node) {
      checkNodeName(node);
      await locks.run(node, () => call('release', node, nodeInput(node)));
    },
    async close() {
      await locks.idle();
    },
  };
}


function parseOutput<T>(schema: z.ZodType<T>, stdout: string, exe: string, sub: Subcommand, node: string | null): T {
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    throw new BuildError('tool-failed', node, `${basename(exe)} ${sub}: stdout is not JSON: ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  const r = schema.safeParse(json);
  if (!r.success) throw new BuildError('tool-failed', node, `${basename(exe)} ${sub}: unexpected output: ${describeZodError(r.error)}`);
  return r.data;
}

/** Runs the tool once; resolves with its stdout on exit 0, rejects with a BuildError otherwise. */
async function runTool(opts: CommandOptions, timeoutMs: number, sub: Subcommand, node: string | null, input: unknown): Promise<string> {
  const what = `${basename(opts.executable)} ${sub}`;
  const signal = AbortSignal.timeout(timeoutMs);
  let r: RunResult;
  try {
    r = await runProgram(opts.executable, [...(opts.args ?? []), sub, ...(node === null ? [] : [node])], {
      env: { ...process.env, ...opts.env },
      input: JSON.stringify(input) + '\n',
      signal,
      maxOutputBytes: MAX_OUTPUT,
    });
  } catch (err) {
    if (signal.aborted) throw new BuildError('timeout', node, `${what} did not finish within ${timeoutMs / 1000} s (killed)`);
    if (err instanceof RunError && err.reason === 'output-limit') throw new BuildError('tool-failed', node, `${what} wrote more than ${MAX_OUTPUT} bytes (killed)`);
    throw new BuildError('tool-failed', node, `${what} could not be started: ${(err as Error).message}`);
  }
  if (r.code === 0) return r.stdout.trim() === '' ? '{}' : r.stdout;
  throw toolFailure(node, what, r.code, r.signal, r.stdout, r.stderr);
}

/** A typed error the tool reported on stdout, else tool-failed with stderr's last line. */
function toolFailure(node: string | null, what: string, code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string): BuildError {
  const how = code === null ? `killed by ${signal}` : `exit ${code}`;
  try {
    const reported = ToolError.safeParse(JSON.parse(stdout));
    if (reported.success && (BUILD_ERROR_CODES as readonly string[]).includes(reported.data.error.code)) {
      return new BuildError(reported.data.error.code as BuildErrorCode, node, `${what}: ${reported.data.error.message}`);
    }
  } catch {
    // not JSON: fall through to stderr
  }
  return new BuildError('tool-failed', node, `${what} failed (${how}): ${lastLine(stderr) || '(no stderr)'}`);
}
