/**
 * BIOS configuration: desired settings per group and per node, what each node last reported
 * (actual, and pending: written to the BMC, applied at the next reset), the drift between them,
 * and the attributes a BMC must be sent to reach the desired ones. `version` is the BIOS version
 * (the agent's DMI or the BMC's `BiosVersion`); it changes by a firmware update, never by a
 * setting. `os.*` keys are what the agent sees of the firmware. Pure functions over StoreData and
 * plain BMC readings.
 */
import type { Firmware } from '../../shared/protocol.js';
import type { BiosDiffRow } from '../../shared/verbs/results.js';
import type { BiosSettings, StoreData } from '../store/schema.js';
import { RecordError } from './errors.js';

const KEY = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const MAX_VALUE = 256;

/**
 * `key=value` arguments → settings; an empty value (`key=`) is null: remove the key. Every bad
 * argument is named.
 */
export function parseBiosSettings(args: readonly string[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  const bad: string[] = [];
  for (const a of args) {
    const i = a.indexOf('=');
    const key = i > 0 ? a.slice(0, i).trim() : '';
    const value = i > 0 ? a.slice(i + 1).trim() : '';
    if (!KEY.test(key)) bad.push(`"${a}" is not key=value with a key of letters, digits, "_.-" starting with a letter`);
    else if (value.length > MAX_VALUE) bad.push(`${key}: value is ${value.length} characters, at most ${MAX_VALUE}`);
    else out[key] = value === '' ? null : value;
  }
  if (bad.length) throw new RecordError(`bios: ${bad.join('; ')}`);
  return out;
}

/** Check a whole settings map (from a site file); returns the problems, empty when fine. */
export function biosSettingsProblems(settings: Record<string, string>): string[] {
  return Object.entries(settings).flatMap(([k, v]) =>
    !KEY.test(k) ? [`key "${k}" must be letters, digits, "_.-" starting with a letter`] : v.length > MAX_VALUE ? [`${k}: value is ${v.length} characters, at most ${MAX_VALUE}`] : [],
  );
}

export type BiosTarget = { kind: 'group'; name: string } | { kind: 'nodes'; names: readonly string[] };

/** Merge settings into the desired ones of a group or of each node (null removes a key). */
export function setDesired(data: StoreData, target: BiosTarget, settings: Record<string, string | null>): void {
  const apply = (into: Record<string, BiosSettings>, name: string) => {
    const current = { ...into[name] };
    for (const [k, v] of Object.entries(settings)) {
      if (v === null) delete current[k];
      else current[k] = v;
    }
    if (Object.keys(current).length) into[name] = current;
    else delete into[name];
  };
  if (target.kind === 'group') apply(data.bios.desired.groups, target.name);
  else for (const n of target.names) apply(data.bios.desired.nodes, n);
}

export interface DesiredSetting {
  value: string;
  /** Where it comes from: `group rack1` or `node n001`. */
  from: string;
}

/**
 * The settings a node should have: its groups' (a group listed earlier in the node's groups wins,
 * as in xCAT), overridden by the node's own.
 */
export function desiredFor(data: StoreData, node: string): Record<string, DesiredSetting> {
  const out: Record<string, DesiredSetting> = {};
  const groups = Object.hasOwn(data.nodes, node) ? data.nodes[node]!.groups : [];
  for (const g of [...groups].reverse()) {
    for (const [k, value] of Object.entries(data.bios.desired.groups[g] ?? {})) out[k] = { value, from: `group ${g}` };
  }
  for (const [k, value] of Object.entries(data.bios.desired.nodes[node] ?? {})) out[k] = { value, from: `node ${node}` };
  return out;
}

export interface BiosReport {
  /** Left out: the last reported version stays. */
  version?: string | null;
  /** The BMC's actual settings; left out (the agent does not know them): the last reported ones stay. */
  settings?: BiosSettings;
  /** The BMC's settings waiting for the next reset; left out: the last reported ones stay. */
  pending?: BiosSettings;
  /** What the agent sees of the firmware (`os.*` keys); left out: the last reported ones stay. */
  os?: BiosSettings;
  at: number;
}

/** Record what a node reports. Returns whether the version or a setting changed, for an event. */
export function recordReportedBios(data: StoreData, node: string, report: BiosReport): boolean {
  const before = data.bios.reported[node];
  const version = report.version === undefined ? (before?.version ?? null) : report.version?.trim() || null;
  const settings = report.settings ?? before?.settings ?? null;
  const pending = report.pending ?? before?.pending ?? null;
  const os = report.os ?? before?.os ?? null;
  const changed = !before || before.version !== version || JSON.stringify([before.settings, before.pending, before.os]) !== JSON.stringify([settings, pending, os]);
  data.bios.reported[node] = { version, settings, pending, os, at: report.at };
  return changed;
}

/** Keys the agent reports from what the OS sees: compared, never written to a BMC. */
const isOsKey = (key: string) => key.startsWith('os.');

/** The agent's view of the firmware as settings: `os.bootMode` (uefi, bios), `os.secureBoot` (enabled, disabled). */
export function firmwareSettings(firmware: Firmware): BiosSettings {
  return { 'os.bootMode': firmware.bootMode, ...(firmware.secureBoot && { 'os.secureBoot': firmware.secureBoot }) };
}

/**
 * Desired vs actual vs pending for each node: a desired key whose actual value differs, or that has
 * a change pending. Nodes without desired settings have no drift.
 */
export function biosDiff(data: StoreData, nodes: readonly string[]): BiosDiffRow[] {
  return nodes.map((node) => {
    const report = data.bios.reported[node];
    const drift: BiosDiffRow['drift'] = [];
    for (const [key, want] of Object.entries(desiredFor(data, node)).sort(([a], [b]) => a.localeCompare(b))) {
      const actual = key === 'version' ? (report?.version ?? null) : ((isOsKey(key) ? report?.os : report?.settings)?.[key] ?? null);
      const pending = key === 'version' || isOsKey(key) ? null : (report?.pending?.[key] ?? null);
      if (actual !== want.value || pending !== null) drift.push({ key, desired: want.value, actual, pending, from: want.from });
    }
    return { node, reportedAt: report?.at ?? null, drift };
  });
}

/** A BIOS attribute's value as a BMC holds it (DMTF Bios `Attributes`). */
export type AttributeValue = string | number | boolean | null;

/** What a BMC's attribute registry says about one attribute, the part that checks a value. */
export interface AttributeRule {
  /** DMTF AttributeType: Enumeration, String, Integer, Boolean, Password. */
  type: string;
  /** Enumeration: the allowed `ValueName`s. */
  values?: readonly string[];
  readOnly?: boolean;
  lowerBound?: number;
  upperBound?: number;
  maxLength?: number;
}

/** How a value is shown and compared: as text; a null attribute has no value. */
export const attributeText = (v: AttributeValue | undefined): string | null => (v === null || v === undefined ? null : String(v));

/** Attributes → settings (text), leaving out attributes without a value. */
export function attributesAsSettings(attributes: Record<string, AttributeValue>): BiosSettings {
  const out: BiosSettings = {};
  for (const [k, v] of Object.entries(attributes)) {
    const text = attributeText(v);
    if (text !== null) out[k] = text;
  }
  return out;
}

export interface BiosWritePlan {
  /** The attributes to PATCH into the BMC's Settings resource, typed as the BMC wants them. */
  write: Record<string, string | number | boolean>;
  /** Desired keys that cannot be written, each named; a node with any writes nothing. */
  problems: string[];
}

/**
 * The attributes a BMC must be sent so that, after its next reset, every desired setting holds:
 * those whose value after the reset (pending, else actual) differs from the desired one. Each value
 * is checked and typed by the attribute registry when the BMC has one, else by the actual value's
 * type. `version` and the `os.*` keys are no attributes and are never written.
 */
export function planBiosWrite(
  desired: Record<string, DesiredSetting>,
  bmc: { attributes: Record<string, AttributeValue>; pending: Record<string, AttributeValue> },
  rules: ReadonlyMap<string, AttributeRule> | null,
): BiosWritePlan {
  const plan: BiosWritePlan = { write: {}, problems: [] };
  for (const [key, want] of Object.entries(desired).sort(([a], [b]) => a.localeCompare(b))) {
    if (key === 'version' || isOsKey(key)) continue;
    const rule = rules?.get(key);
    const known = Object.hasOwn(bmc.attributes, key);
    if (!known && !rule) {
      plan.problems.push(`${key} (from ${want.from}): the BMC has no such BIOS attribute`);
      continue;
    }
    const after = Object.hasOwn(bmc.pending, key) ? bmc.pending[key] : bmc.attributes[key];
    if (attributeText(after) === want.value) continue;
    const typed = typedValue(want.value, rule ?? { type: typeOfValue(bmc.attributes[key]) });
    if ('problem' in typed) plan.problems.push(`${key} (from ${want.from}): ${typed.problem}`);
    else plan.write[key] = typed.value;
  }
  return plan;
}

const typeOfValue = (v: AttributeValue | undefined): string => (typeof v === 'number' ? 'Integer' : typeof v === 'boolean' ? 'Boolean' : 'String');

/** The value as the rule's type, or why it does not fit. */
function typedValue(value: string, rule: AttributeRule): { value: string | number | boolean } | { problem: string } {
  if (rule.readOnly) return { problem: 'read-only on this BMC' };
  switch (rule.type) {
    case 'Integer': {
      if (!/^-?\d+$/.test(value)) return { problem: `"${value}" is not an integer` };
      const n = Number(value);
      if (rule.lowerBound !== undefined && n < rule.lowerBound) return { problem: `${n} is below the lower bound ${rule.lowerBound}` };
      if (rule.upperBound !== undefined && n > rule.upperBound) return { problem: `${n} is above the upper bound ${rule.upperBound}` };
      return { value: n };
    }
    case 'Boolean':
      return value === 'true' || value === 'false' ? { value: value === 'true' } : { problem: `"${value}" is not true or false` };
    case 'Enumeration':
      return !rule.values || rule.values.includes(value) ? { value } : { problem: `"${value}" is not one of ${rule.values.join(', ')}` };
    default:
      return rule.maxLength !== undefined && value.length > rule.maxLength ? { problem: `"${value}" is longer than ${rule.maxLength} characters` } : { value };
  }
}
