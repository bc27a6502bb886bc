/**
 * BIOS settings on a Redfish BMC, the way Ironic does it: the System's `Bios` resource holds the
 * actual attributes, the resource its `@Redfish.Settings` names (usually `Bios/Settings`) the
 * pending ones, which the BMC applies at the next reset; a write is a PATCH of that resource. The
 * attribute registry the Bios names, when the BMC has one, says each attribute's type and values.
 */
import type { RedfishClient } from '../power/redfish-client.js';
import { attributeText, type AttributeRule, type AttributeValue } from './bios.js';

export interface RedfishBios {
  /** The System's `BiosVersion`. */
  version: string | null;
  attributes: Record<string, AttributeValue>;
  /** Attributes of the Settings resource whose value differs from the actual one. */
  pending: Record<string, AttributeValue>;
  /** Where writes go: the Settings resource's path. */
  settingsPath: string;
  /** The `AttributeRegistry` the Bios names, if any. */
  registry: string | null;
}

interface Link {
  '@odata.id'?: string;
}

const linkPath = (link: Link | undefined, what: string): string => {
  const id = link?.['@odata.id'];
  if (typeof id !== 'string' || !id.startsWith('/')) throw new Error(`${what}: no link in the BMC's answer`);
  return new URL(id, 'https://bmc').pathname;
};

const attributesOf = (json: unknown, path: string): Record<string, AttributeValue> => {
  const attrs = (json as { Attributes?: unknown } | undefined)?.Attributes;
  if (!attrs || typeof attrs !== 'object' || Array.isArray(attrs)) throw new Error(`GET ${path}: no Attributes object`);
  return attrs as Record<string, AttributeValue>;
};

/** Reads the BIOS version, the actual attributes and the pending ones. */
export async function readRedfishBios(client: RedfishClient, signal: AbortSignal): Promise<RedfishBios> {
  const system = (await client.request('GET', client.system, signal)) as { BiosVersion?: string | null; Bios?: Link } | undefined;
  const biosPath = linkPath(system?.Bios, `${client.system} Bios`);
  const bios = (await client.request('GET', biosPath, signal)) as { AttributeRegistry?: string; '@Redfish.Settings'?: { SettingsObject?: Link } } | undefined;
  const attributes = attributesOf(bios, biosPath);
  // A BMC without a Settings object takes no staged writes: nothing pending, writes are refused there.
  const settingsPath = linkPath(bios?.['@Redfish.Settings']?.SettingsObject, `${biosPath} @Redfish.Settings`);
  const staged = attributesOf(await client.request('GET', settingsPath, signal), settingsPath);
  const pending: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(staged)) if (attributeText(v) !== attributeText(attributes[k])) pending[k] = v;
  return { version: typeof system?.BiosVersion === 'string' ? system.BiosVersion : null, attributes, pending, settingsPath, registry: bios?.AttributeRegistry ?? null };
}

interface RegistryEntry {
  AttributeName?: string;
  Type?: string;
  Value?: Array<{ ValueName?: string }>;
  ReadOnly?: boolean;
  LowerBound?: number;
  UpperBound?: number;
  MaxLength?: number;
}

/**
 * The rules of the named attribute registry: its entry under `/redfish/v1/Registries`, then the
 * file its English (else first) Location names. Null when the BMC does not publish it.
 */
export async function readAttributeRules(client: RedfishClient, registry: string, signal: AbortSignal): Promise<Map<string, AttributeRule> | null> {
  const index = (await client.request('GET', '/redfish/v1/Registries', signal)) as { Members?: Link[] } | undefined;
  const member = index?.Members?.find((m) => m['@odata.id']?.replace(/\/+$/, '').split('/').pop() === registry);
  if (!member) return null;
  const file = (await client.request('GET', linkPath(member, `Registries ${registry}`), signal)) as { Location?: Array<{ Language?: string; Uri?: string }> } | undefined;
  const locations = (file?.Location ?? []).filter((l) => typeof l.Uri === 'string');
  const uri = (locations.find((l) => l.Language === 'en') ?? locations[0])?.Uri;
  if (!uri) return null;
  const json = (await client.request('GET', new URL(uri, 'https://bmc').pathname, signal)) as { RegistryEntries?: { Attributes?: RegistryEntry[] } } | undefined;
  const rules = new Map<string, AttributeRule>();
  for (const a of json?.RegistryEntries?.Attributes ?? []) {
    if (!a.AttributeName || !a.Type) continue;
    rules.set(a.AttributeName, {
      type: a.Type,
      ...(a.Value && { values: a.Value.flatMap((v) => (v.ValueName ? [v.ValueName] : [])) }),
      ...(a.ReadOnly !== undefined && { readOnly: a.ReadOnly }),
      ...(a.LowerBound !== undefined && { lowerBound: a.LowerBound }),
      ...(a.UpperBound !== undefined && { upperBound: a.UpperBound }),
      ...(a.MaxLength !== undefined && { maxLength: a.MaxLength }),
    });
  }
  return rules;
}

/** Stages attributes: a PATCH of the Settings resource, applied by the BMC at the next reset. */
export async function stageRedfishBios(client: RedfishClient, settingsPath: string, attributes: Record<string, string | number | boolean>, signal: AbortSignal): Promise<void> {
  await client.request('PATCH', settingsPath, signal, { Attributes: attributes });
}
