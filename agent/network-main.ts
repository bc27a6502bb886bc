/**
 * `agent-network.js`: the node's interfaces from muster (`muster.if=` on the kernel command line)
 * as systemd-networkd files, run by muster-network.service before networkd starts. A bundle of its
 * own: checking muster.if= takes the controller's zod schema, which the heartbeat agent (agent.js)
 * must not carry.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { kernelInterfaces } from './kernel-interfaces.js';
import { NETWORKD_FILE_PREFIX, renderNetworkd } from './networkd.js';

const NETWORK_USAGE = `usage: agent-network.js [--root DIR] [--out DIR]
Writes the muster.if= interfaces of the kernel command line (DIR/proc/cmdline) as systemd-networkd
files into --out (default /run/systemd/network), replacing the ones it wrote before.`;

function main(argv: string[]): number {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { root: { type: 'string', default: '/' }, out: { type: 'string', default: '/run/systemd/network' }, help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help) {
    process.stdout.write(`${NETWORK_USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new Error(`takes no arguments (got "${positionals[0]}")`);
  const interfaces = kernelInterfaces(readFileSync(join(values.root, 'proc/cmdline'), 'utf8'));
  mkdirSync(values.out, { recursive: true });
  for (const old of readdirSync(values.out)) if (old.startsWith(NETWORKD_FILE_PREFIX)) rmSync(join(values.out, old));
  const files = renderNetworkd(interfaces);
  for (const f of files) writeFileSync(join(values.out, f.name), f.content);
  process.stderr.write(`muster-network: ${files.length ? `wrote ${files.map((f) => f.name).join(', ')} to ${values.out}` : 'no muster.if= on the kernel command line: nothing to write'}\n`);
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`muster-network: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
