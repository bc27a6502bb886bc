/**
 * `command:/path/to/script` — fence-agent / PowerMan style: the script is run as
 * `script ACTION NODE` (ACTION one of on, off, reset, status, and cycle with `?cycle=native`).
 * Exit 0 means done; for `status` it prints `on` or `off`. Its last stderr line is the reason
 * shown when it fails.
 */
import type { PowerAction } from '../../../shared/verbs/args.js';
import type { PowerDriverFactory } from '../driver.js';
import { lastLine, runProgram } from '../../process/run.js';

export const commandDriver: PowerDriverFactory = {
  scheme: 'command',
  nativeCycleByDefault: false,
  params: [],
  create({ url, node }) {
    const script = decodeURIComponent(url.pathname);
    if (!script.startsWith('/')) throw new Error('the script path must be absolute (command:/path/to/script)');

    const run = async (action: PowerAction, signal: AbortSignal): Promise<string> => {
      const r = await runProgram(script, [action, node], { signal });
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
