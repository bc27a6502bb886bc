/**
 * `fence://USER:PASS@HOST[:PORT]/AGENT?option=value…` — runs the fence-agents project's
 * `fence_AGENT` (Debian's fence-agents: fence_ipmilan, fence_redfish, fence_apc, …) as a site's
 * cluster stack does: options on stdin as `key=value` lines — `action=`, `ip=HOST`, `ipport=PORT`,
 * `username=`, `password=`, then every query option unchanged (`lanplus=1`, `cipher=3`, `plug=7`).
 * Exit codes per fence-agents: 0 done; for `status` 0 on and 2 off. Fence agents have no reset:
 * `reset` runs the agent's `reboot`.
 */
import type { PowerAction } from '../../../shared/verbs/args.js';
import type { PowerDriverFactory } from '../driver.js';
import { lastLine, runProgram } from '../../process/run.js';

const AGENT = /^[a-z0-9_]{1,64}$/;
const OPTION = /^[a-z][a-z0-9_]{0,63}$/;
/** Set from the URL's own parts; a query option of the same name would be ambiguous. */
const FROM_URL = new Set(['action', 'ip', 'ipport', 'username', 'login', 'password', 'passwd']);
const FENCE_ACTIONS: Record<Exclude<PowerAction, 'cycle'>, string> = { status: 'status', on: 'on', off: 'off', reset: 'reboot' };
/** fence-agents' exit code for `status` when the machine is off. */
const STATUS_OFF = 2;

export const fenceDriver: PowerDriverFactory = {
  scheme: 'fence',
  nativeCycleByDefault: false,
  params: 'any',
  create({ url, node, opts }) {
    const agent = decodeURIComponent(url.pathname.replace(/^\//, ''));
    if (!AGENT.test(agent)) throw new Error(`the fence agent must be named by the path (fence://host/ipmilan runs fence_ipmilan), got "${agent}"`);
    if (!url.hostname) throw new Error('missing host (fence://user:pass@host/AGENT)');
    const options: string[] = [];
    for (const [key, value] of url.searchParams) {
      if (key === 'cycle') continue;
      if (!OPTION.test(key) || FROM_URL.has(key)) throw new Error(`option "${key}=" is not a fence option here (ip, ipport, username and password come from the URL)`);
      if (/[\r\n]/.test(value)) throw new Error(`option "${key}=" holds a line break`);
      options.push(`${key}=${value}`);
    }
    const username = url.username ? decodeURIComponent(url.username) : opts.credentials?.username;
    const password = url.password ? decodeURIComponent(url.password) : opts.credentials?.password;
    const program = `fence_${agent}`;
    const input = (action: string) =>
      [
        `action=${action}`,
        `ip=${url.hostname.replace(/^\[|\]$/g, '')}`,
        ...(url.port ? [`ipport=${url.port}`] : []),
        ...(username ? [`username=${username}`] : []),
        ...(password !== undefined ? [`password=${password}`] : []),
        ...options,
        '',
      ].join('\n');

    const run = async (action: Exclude<PowerAction, 'cycle'>, signal: AbortSignal): Promise<number> => {
      const r = await runProgram(program, [], { input: input(FENCE_ACTIONS[action]), signal });
      if (r.code === 0 || (action === 'status' && r.code === STATUS_OFF)) return r.code;
      throw new Error(`${program} ${FENCE_ACTIONS[action]} exited ${r.code ?? r.signal}: ${reason(r.stderr) || lastLine(r.stdout) || 'no output'}`);
    };
    return {
      status: async (signal) => ((await run('status', signal)) === 0 ? 'on' : 'off'),
      on: async (signal) => void (await run('on', signal)),
      off: async (signal) => void (await run('off', signal)),
      reset: async (signal) => void (await run('reset', signal)),
      cycle: async (signal) => void (await run('reset', signal)),
    };
  },
};

/** The agent's last `ERROR:` line without its timestamp (Python warnings on stderr are not the reason). */
function reason(stderr: string): string {
  const errors = stderr.split('\n').filter((l) => /\bERROR:/.test(l));
  return errors.length ? errors.at(-1)!.replace(/^.*?\bERROR:\s*/, '') : lastLine(stderr);
}
