/**
 * Which build system provisions which node: chosen per node group in the controller config.
 *
 * ```yaml
 * build:
 *   default: netboot        # nodes in no mapped group (optional)
 *   groups:
 *     rack1: netboot
 *     legacy: command
 * ```
 */
import { z } from 'zod';
import { BuildError, type BuildSystem } from './types.js';

export const BuildSelection = z
  .object({
    default: z.string().min(1).optional(),
    groups: z.record(z.string(), z.string().min(1)).default({}),
  })
  .strict();
export type BuildSelection = z.output<typeof BuildSelection>;

export class BuildRegistry {
  private readonly systems = new Map<string, BuildSystem>();

  constructor(systems: readonly BuildSystem[]) {
    for (const s of systems) {
      if (this.systems.has(s.name)) throw new Error(`build system "${s.name}" is registered twice`);
      this.systems.set(s.name, s);
    }
  }

  get(name: string): BuildSystem {
    const s = this.systems.get(name);
    if (!s) throw new BuildError('bad-config', null, `build system "${name}" is not registered (registered: ${this.names().join(', ') || 'none'})`);
    return s;
  }

  names(): string[] {
    return [...this.systems.keys()];
  }

  all(): BuildSystem[] {
    return [...this.systems.values()];
  }

  /** Refuse a selection naming a system that does not exist (call when the config is loaded). */
  check(selection: BuildSelection): void {
    if (selection.default !== undefined) this.get(selection.default);
    for (const [group, name] of Object.entries(selection.groups)) {
      if (!this.systems.has(name)) throw new BuildError('bad-config', null, `build.groups.${group}: build system "${name}" is not registered (registered: ${this.names().join(', ') || 'none'})`);
    }
  }
}

/**
 * The build system for a node in `groups`. Groups that map to different systems are a config
 * error (order of groups must not decide silently); no mapped group → the default.
 */
export function buildSystemFor(node: string, groups: readonly string[], selection: BuildSelection, registry: BuildRegistry): BuildSystem {
  const chosen = new Map<string, string>();
  for (const g of groups) {
    const name = selection.groups[g];
    if (name !== undefined) chosen.set(name, g);
  }
  if (chosen.size > 1) {
    const which = [...chosen].map(([name, g]) => `${g} → ${name}`).join(', ');
    throw new BuildError('bad-config', node, `groups disagree on the build system (${which})`);
  }
  const name = chosen.size === 1 ? [...chosen.keys()][0]! : selection.default;
  if (name === undefined) throw new BuildError('bad-config', node, `no build system for groups [${groups.join(', ')}] and no build.default`);
  return registry.get(name);
}
