/**
 * `command:/path/to/script` — fence-agent / PowerMan style: the script is run as
 * `script ACTION NODE` (ACTION one of on, off, reset, status, and cycle with `?cycle=native`).
 * Exit 0 means done; for `status` it prints `on` or `off`. Its last stderr line is the reason
 * shown when it fails.
 */
import type { PowerAction } from '../../../shared/verbs/args.js';
import type { PowerDriverFactory } from '../driver.js';
import { lastLine, runProgram } from '../../process/run.js';
import type { AllowedPrograms } from '../../process/allowed-programs.js';

/** The script a `command:` power target runs, or null for a target of another kind. */
export function commandScript(target: string): string | null {
  if (!target.startsWith('command:')) return null;
  try {
    return decodeURIComponent(new URL(target).pathname);
  } catch {
    return null;
  }
}

/**
 * Why `target` may not be a node's power target (its `command:` script is outside
 * commands.allowedDirs), or null. Asked when it is set: define, set, import.
 */
export async function powerProgramProblem(target: string, programs: AllowedPrograms): Promise<string | null> {
  const script = commandScript(target);
  if (script === null) return null;
  return programs.resolve(script).then(
    () => null,
    (err: Error) => `power: ${err.message}`,
  );
}

export const commandDriver: PowerDriverFactory = {
  scheme: 'command',
  nativeCycleByDefault: false,
  params: [],
  create({ url, node, opts }) {
    const script = decodeURIComponent(url.pathname);
    if (!script.startsWith('/')) throw new Error('the script path must be absolute (command:/path/to/script)');

    const run = async (action: PowerAction, signal: AbortSignal): Promise<string> => {
      const program = opts.programs ? await opts.programs.resolve(script) : script;
      const r = await runProgram(program, [action, node], { signal });
      if (r.code !== 0) throw new Error(`${script} exited ${r.code}: ${lastLine(r.stderr) || lastLine(r.stdout) || 'no output'}`);
      return r.stdout;
    };
    return {
      async status(signal) {
        const word = (await run('status', signal)).trim().toLowerCase();
        if (word !== 'on' && word !== 'off') throw new Error(`${script} status printed "${word.slice(0, 80)}", expected on or off`);
        return word;
      },
      on: async (signal) => void (await run('on', signal)),
      off: async (signal) => void (await run('off', signal)),
      reset: async (signal) => void (await run('reset', signal)),
      cycle: async (signal) => void (await run('cycle', signal)),
    };
  },
};
