/** Argument checks every build system makes the same way, so they fail with the same errors. */
import { BuildConfig } from '../../shared/node-network.js';
import { describeZodError, NodeName } from '../../shared/protocol.js';
import { BuildError } from './types.js';

export function checkNodeName(node: string): void {
  const r = NodeName.safeParse(node);
  if (!r.success) throw new BuildError('bad-config', null, `node name "${node}" is not valid: ${r.error.issues[0]!.message}`);
}

/** The config, validated and normalised (defaults filled, MACs lowercased, VLANs named). */
export function checkBuildConfig(node: string, config: unknown): BuildConfig {
  const r = BuildConfig.safeParse(config);
  if (!r.success) throw new BuildError('bad-config', node, `config refused: ${describeZodError(r.error)}`);
  return r.data;
}
