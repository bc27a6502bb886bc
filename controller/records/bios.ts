/**
 * BIOS configuration: desired settings per group and per node, what each node last reported, and
 * the drift between the two. `version` is the BIOS version; the agent reports it from DMI, a
 * driver may later report settings too. Pure functions over StoreData.
 */
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

/**
 * Record what a node reports. Settings left out (the agent knows only the version) keep the last
 * reported ones. Returns whether the version or a setting changed, for an event.
 */
export function recordReportedBios(data: StoreData, node: string, report: { version: string | null; settings?: BiosSettings; at: number }): boolean {
  const version = report.version?.trim() || null;
  const before = data.bios.reported[node];
  const settings = report.settings ?? before?.settings ?? null;
  const changed = !before || before.version !== version || JSON.stringify(before.settings) !== JSON.stringify(settings);
  data.bios.reported[node] = { version, settings, at: report.at };
  return changed;
}

/** Desired vs reported for each node; nodes without desired settings have no drift. */
export function biosDiff(data: StoreData, nodes: readonly string[]): BiosDiffRow[] {
  return nodes.map((node) => {
    const report = data.bios.reported[node];
    const drift: BiosDiffRow['drift'] = [];
    for (const [key, want] of Object.entries(desiredFor(data, node)).sort(([a], [b]) => a.localeCompare(b))) {
      const have = key === 'version' ? (report?.version ?? null) : (report?.settings?.[key] ?? null);
      if (have !== want.value) drift.push({ key, desired: want.value, reported: have, from: want.from });
    }
    return { node, reportedAt: report?.at ?? null, drift };
  });
}
