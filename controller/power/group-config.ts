/**
 * Power settings per group from the controller config file (never over MQTT): BMC credentials
 * with the password in a file of its own, and the CA that signs a group's Redfish BMCs.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { DriverOptions } from './driver.js';

export const PowerGroupConfig = z.strictObject({
  username: z.string().min(1).optional(),
  /** A file whose first line is the BMC password (mode 0600, owned by the controller's user). */
  passwordFile: z.string().min(1).optional(),
  /** PEM file of the CA that signs these nodes' Redfish BMC certificates. */
  redfishCaFile: z.string().min(1).optional(),
});
export type PowerGroupConfig = z.infer<typeof PowerGroupConfig>;

/** Each group's driver options, with the files read now, so a missing file stops the start, named. */
export function loadGroupDriverOptions(groups: Record<string, PowerGroupConfig>): Map<string, DriverOptions> {
  const options = new Map<string, DriverOptions>();
  for (const [group, c] of Object.entries(groups)) {
    const where = `config power.groups.${group}`;
    if ((c.username === undefined) !== (c.passwordFile === undefined)) throw new Error(`${where}: username and passwordFile go together`);
    const read = (file: string, what: string) => {
      try {
        return readFileSync(file, 'utf8');
      } catch (err) {
        throw new Error(`${where}: ${what} ${file}: ${(err as Error).message}`);
      }
    };
    const password = c.passwordFile === undefined ? undefined : read(c.passwordFile, 'passwordFile').split('\n')[0]!.replace(/\r$/, '');
    if (password === '') throw new Error(`${where}: passwordFile ${c.passwordFile} has an empty first line`);
    options.set(group, {
      ...(c.username && password !== undefined ? { credentials: { username: c.username, password } } : {}),
      ...(c.redfishCaFile ? { ca: read(c.redfishCaFile, 'redfishCaFile') } : {}),
    });
  }
  return options;
}

/** The options of the node's first group that has power settings; none when no group has. */
export function groupDriverOptions(byGroup: ReadonlyMap<string, DriverOptions>, groups: readonly string[]): DriverOptions {
  for (const g of groups) {
    const o = byGroup.get(g);
    if (o) return o;
  }
  return {};
}
