/**
 * A node's power and console targets checked when they are given (define, set, import): each by
 * its driver's own parser, with the node's group credentials, and a `command:` program against
 * commands.allowedDirs. Refused now rather than at the first power action or console open.
 */
import { parseConsoleTarget } from '../console/registry.js';
import { powerProgramProblem } from '../power/drivers/command.js';
import type { PowerService } from '../power/service.js';
import type { AllowedPrograms } from '../process/allowed-programs.js';
import type { NodePatch } from './settings.js';

export interface TargetsBefore {
  /** The node's groups and power target as stored (undefined: a new node). */
  groups?: readonly string[];
  power?: string | null;
}

/** What is wrong with the patch's targets for `node`, or null; the message names the node. */
export async function targetProblem(power: PowerService, programs: AllowedPrograms, node: string, patch: NodePatch, before: TargetsBefore = {}): Promise<string | null> {
  if (patch.power) {
    const problem = await powerProgramProblem(patch.power, programs);
    if (problem) return `node ${node}: ${problem}`;
    try {
      power.checkTarget(node, patch.power, patch.groups ?? before.groups ?? []);
    } catch (err) {
      return (err as Error).message;
    }
  }
  if (patch.console) {
    const ipmiUrl = (patch.power === undefined ? before.power : patch.power) ?? undefined;
    try {
      parseConsoleTarget(patch.console, { ipmiUrl });
    } catch (err) {
      return `node ${node}: ${(err as Error).message}`;
    }
  }
  return null;
}
