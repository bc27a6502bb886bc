/** Command-line arguments of the agent (pure: argv and environment in, settings or a usage error out). */
import { parseArgs } from 'node:util';
import type { AgentPhase } from '../shared/protocol.js';
import { AGENT_PHASES, isAgentPhase } from '../shared/wire.js';

export const USAGE = `usage: agent.js [--controller mqtt://HOST:PORT] [--root DIR] [--phase PHASE] [--interval S]
                [--liveness S] [--token-file FILE] [--ca FILE] [--lldp-wait S] [--lldp-background] [--id-only]
       agent.js phase init|run|build|kernel [--root DIR] [--controller URL] [--token-file FILE]
       agent.js pick-disk RULE [--root DIR]   (the installer: the disk a disk= rule chooses, or why none)
The controller defaults to muster.controller= on the kernel command line; the token to $MUSTER_TOKEN.
Several brokers, separated by commas (mqtt://a:1883,mqtt://b:1883): the agent connects to the
first that answers and, on losing it, fails over to the next.
--interval: seconds between heartbeats (default 5); --liveness: seconds within which the broker
notices a frozen agent through its MQTT keepalive, ≤ --interval (default: the interval), so
heartbeats can be rare (30-60 s) while a hung node is still dead within 2 liveness intervals.
--lldp-wait: seconds a private lldpd listens for switch ports when none runs (0: ask only a running
lldpd); default 35 with --root /, and no LLDP at all for another root unless given.
--lldp-background: the hello goes out at once and the listening follows it; each change in what
was heard goes out in a new hello (the netboot image: no boot waits for a switch).`;

export interface AgentArgs {
  command: 'run' | 'phase' | 'pick-disk' | 'id-only' | 'help';
  /** One broker URL, or several separated by commas. */
  controller: string | null;
  root: string;
  /** For `run`: the starting phase (else the recorded one); for `phase`: the phase to report. */
  phase: AgentPhase | null;
  intervalMs: number;
  /** The liveness interval the MQTT keepalive is derived from (≤ intervalMs; by default intervalMs). */
  livenessMs: number;
  tokenFile: string | null;
  /** PEM CA file for mqtts:// controllers. */
  caFile: string | null;
  /** How long a private lldpd listens for LLDP neighbours before the hello (0: only a running lldpd is asked; null: the default for the root). */
  lldpWaitMs: number | null;
  /** Listen after the hello instead of before it, and send what is heard in new hellos. */
  lldpBackground: boolean;
  /** For `pick-disk`: the rule as the kernel command line carries it (percent-encoded). */
  diskRule?: string;
}

export class UsageError extends Error {}

export function parseAgentArgs(argv: string[]): AgentArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        controller: { type: 'string' },
        root: { type: 'string', default: '/' },
        phase: { type: 'string' },
        interval: { type: 'string', default: '5' },
        liveness: { type: 'string' },
        'token-file': { type: 'string' },
        ca: { type: 'string' },
        'lldp-wait': { type: 'string' },
        'lldp-background': { type: 'boolean', default: false },
        'id-only': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  const interval = Number(values.interval);
  if (!Number.isFinite(interval) || interval < 0.1 || interval > 3600) {
    throw new UsageError(`--interval "${values.interval}" must be a number of seconds between 0.1 and 3600`);
  }
  const liveness = values.liveness === undefined ? interval : Number(values.liveness);
  if (!Number.isFinite(liveness) || liveness < 0.1 || liveness > interval) {
    throw new UsageError(`--liveness "${values.liveness}" must be a number of seconds between 0.1 and --interval (${interval}): heartbeats already show an agent alive every interval`);
  }
  const lldpWait = values['lldp-wait'] === undefined ? null : Number(values['lldp-wait']);
  if (lldpWait !== null && (!Number.isFinite(lldpWait) || lldpWait < 0 || lldpWait > 600)) {
    throw new UsageError(`--lldp-wait "${values['lldp-wait']}" must be a number of seconds between 0 and 600`);
  }
  const base = {
    controller: values.controller ?? null,
    root: values.root,
    intervalMs: Math.round(interval * 1000),
    livenessMs: Math.round(liveness * 1000),
    tokenFile: values['token-file'] ?? null,
    caFile: values.ca ?? null,
    lldpWaitMs: lldpWait === null ? null : Math.round(lldpWait * 1000),
    lldpBackground: values['lldp-background'],
  };
  if (values.help) return { ...base, command: 'help', phase: null };
  if (positionals[0] === 'phase') {
    if (positionals.length !== 2) throw new UsageError(`"phase" takes one phase (${AGENT_PHASES.join('|')})`);
    return { ...base, command: 'phase', phase: phaseArg(positionals[1]!) };
  }
  if (positionals[0] === 'pick-disk') {
    if (positionals.length !== 2) throw new UsageError('"pick-disk" takes one rule (size>=100G, model:GLOB, serial:GLOB, /dev/NAME)');
    return { ...base, command: 'pick-disk', phase: null, diskRule: positionals[1]! };
  }
  if (positionals.length > 0) throw new UsageError(`unknown command "${positionals[0]}"`);
  return { ...base, command: values['id-only'] ? 'id-only' : 'run', phase: values.phase === undefined ? null : phaseArg(values.phase) };
}

function phaseArg(value: string): AgentPhase {
  if (!isAgentPhase(value)) throw new UsageError(`unknown phase "${value}" (expected ${AGENT_PHASES.join('|')})`);
  return value;
}
