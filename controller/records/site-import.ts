/**
 * Import of a site file: validate everything first (every problem, with its line), then apply all
 * of it or nothing. What the file says it sets; what it leaves out stays as it is. Pure: the verb
 * runs `applyImport` inside one `store.change()` and flushes.
 */
import { NodeName } from '../../shared/protocol.js';
import { redactOptional } from '../auth/redact.js';
import { normalizeSerial, switchPortKey } from '../identify/identifiers.js';
import { applyPatch } from '../nodes/directory.js';
import { parseSettings, type NodePatch } from '../nodes/settings.js';
import { NodeDefinition, type NodeIdentifiers, type StoreData } from '../store/schema.js';
import { biosSettingsProblems } from './bios.js';
import { parseCsvSite } from './site-csv.js';
import type { SiteFormat } from '../../shared/verbs/args.js';
import type { ImportSummary, SiteProblem } from '../../shared/verbs/results.js';
import type { SiteBios, SiteFile } from './site-file.js';
import { parseYamlSite } from './site-yaml.js';
import { checkSwitchSpec, portEntry, putSwitch, type PortEntry, type SwitchSpec } from './switches.js';

const GROUP = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;
/** What export writes in place of a password; importing it back keeps the stored one. */
export const REDACTED = '***';

export interface ImportPlan {
  nodes: Array<{ name: string; patch: NodePatch }>;
  switches: Array<{ spec: SwitchSpec; ports: PortEntry[] | null }>;
  bios: SiteBios[];
  hwlogIgnored: number;
}

/** Read a site file's text and check it against the store: a file's problems of form and of content, all of them. */
export function planImportText(data: StoreData, text: string, format: SiteFormat): { plan: ImportPlan; problems: SiteProblem[] } {
  const read = format === 'csv' ? parseCsvSite(text) : parseYamlSite(text);
  const checked = planImport(data, read.file);
  return { plan: checked.plan, problems: [...read.problems, ...checked.problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0)) };
}

/** Check a whole file against the store; `problems` lists every one (empty: the plan may be applied). */
export function planImport(data: StoreData, file: SiteFile): { plan: ImportPlan; problems: SiteProblem[] } {
  const problems: SiteProblem[] = [];
  const plan: ImportPlan = { nodes: [], switches: [], bios: [], hwlogIgnored: file.hwlogIssues };
  const fileNodes = new Map<string, number>();

  for (const entry of file.nodes) {
    const named = NodeName.safeParse(entry.name);
    if (!named.success) {
      problems.push({ line: entry.line, message: `node "${entry.name}": ${named.error.issues[0]!.message}` });
      continue;
    }
    const seenAt = fileNodes.get(entry.name);
    if (seenAt !== undefined) {
      problems.push({ line: entry.line, message: `node ${entry.name} is already on line ${seenAt}` });
      continue;
    }
    fileNodes.set(entry.name, entry.line);
    const stored = Object.hasOwn(data.nodes, entry.name) ? data.nodes[entry.name]! : null;
    let patch: NodePatch = {};
    for (const s of entry.settings) {
      if (s.key === 'power' && s.value.includes(REDACTED)) {
        // An exported file re-imported: the hidden password is the stored one, if the rest agrees.
        if (stored && redactOptional(stored.power) === s.value) continue;
        problems.push({ line: s.line, message: `node ${entry.name}: power URL has a hidden password (${REDACTED}) that matches no stored power URL of this node; write the password, or leave power out to keep the stored one` });
        continue;
      }
      try {
        patch = mergePatch(patch, parseSettings([`${s.key}=${s.value}`]));
      } catch (err) {
        problems.push({ line: s.line, message: `node ${entry.name}: ${(err as Error).message}` });
      }
    }
    plan.nodes.push({ name: entry.name, patch });
  }
  problems.push(...identifierClashes(data, plan.nodes, fileNodes));

  const isNode = (name: string) => fileNodes.has(name) || Object.hasOwn(data.nodes, name);
  const fileSwitches = new Map<string, number>();
  for (const sw of file.switches) {
    const seenAt = fileSwitches.get(sw.name);
    if (seenAt !== undefined) {
      problems.push({ line: sw.line, message: `switch ${sw.name} is already on line ${seenAt}` });
      continue;
    }
    fileSwitches.set(sw.name, sw.line);
    const spec: SwitchSpec = { name: sw.name, ...(sw.mgmt !== undefined ? { mgmt: sw.mgmt } : {}), ...(sw.kind !== undefined ? { kind: sw.kind } : {}) };
    try {
      checkSwitchSpec(spec);
    } catch (err) {
      problems.push({ line: sw.line, message: (err as Error).message });
    }
    let ports: PortEntry[] | null = null;
    if (sw.ports) {
      ports = [];
      const portLines = new Map<string, number>();
      for (const p of sw.ports) {
        try {
          const entry = portEntry({ switch: sw.name, port: p.port, node: p.node, nic: p.nic });
          const key = switchPortKey(entry);
          if (portLines.has(key)) throw new Error(`switch ${sw.name}: port ${p.port} is already on line ${portLines.get(key)}`);
          if (!isNode(p.node)) throw new Error(`switch ${sw.name} port ${p.port}: node ${p.node} is neither defined nor in this file`);
          portLines.set(key, p.line);
          ports.push(entry);
        } catch (err) {
          problems.push({ line: p.line, message: (err as Error).message });
        }
      }
    }
    plan.switches.push({ spec, ports });
  }

  for (const b of file.bios) {
    if (b.scope === 'group' && !GROUP.test(b.name)) problems.push({ line: b.line, message: `bios: "${b.name}" is not a group name (a letter, then letters, digits, "_.-")` });
    if (b.scope === 'node' && !isNode(b.name)) problems.push({ line: b.line, message: `bios: node ${b.name} is neither defined nor in this file` });
    for (const p of biosSettingsProblems(b.settings)) problems.push({ line: b.line, message: `bios ${b.scope} ${b.name}: ${p}` });
    plan.bios.push(b);
  }
  return { plan, problems: problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)) };
}

/** Apply a plan without problems; call inside `store.change()`. */
export function applyImport(data: StoreData, plan: ImportPlan, now: number): ImportSummary {
  const summary: ImportSummary = { nodes: { created: [], updated: [] }, switches: { created: [], updated: [] }, ports: 0, bios: plan.bios.length, hwlogIgnored: plan.hwlogIgnored };
  for (const { name, patch } of plan.nodes) {
    const exists = Object.hasOwn(data.nodes, name);
    (exists ? summary.nodes.updated : summary.nodes.created).push(name);
    if (!exists) data.nodes[name] = NodeDefinition.parse({ name, ids: {}, createdAt: now, updatedAt: now });
    applyPatch(data.nodes[name]!, patch, now);
  }
  for (const { spec, ports } of plan.switches) {
    (putSwitch(data, spec, now) ? summary.switches.created : summary.switches.updated).push(spec.name);
    if (ports) {
      data.switchPorts = [...data.switchPorts.filter((e) => e.switch !== spec.name), ...ports];
      summary.ports += ports.length;
    }
  }
  for (const b of plan.bios) {
    const into = b.scope === 'group' ? data.bios.desired.groups : data.bios.desired.nodes;
    if (Object.keys(b.settings).length) into[b.name] = { ...b.settings };
    else delete into[b.name];
  }
  return summary;
}

/** Settings parsed one at a time (so each error gets its line) and merged into one patch. */
function mergePatch(a: NodePatch, b: NodePatch): NodePatch {
  return { ...a, ...b, ...(a.ids || b.ids ? { ids: { ...a.ids, ...b.ids } } : {}), ...(a.attrs || b.attrs ? { attrs: { ...a.attrs, ...b.attrs } } : {}) };
}

/**
 * A MAC, IB GUID, UUID, serial or switch port may identify one node only, or identification
 * would match two nodes for one machine. Checked on the result: the store with the file applied.
 */
function identifierClashes(data: StoreData, planned: ImportPlan['nodes'], lines: ReadonlyMap<string, number>): SiteProblem[] {
  const result = new Map<string, NodeIdentifiers>();
  for (const [name, n] of Object.entries(data.nodes)) result.set(name, n.ids);
  for (const { name, patch } of planned) result.set(name, { ...(result.get(name) ?? NodeDefinition.shape.ids.parse({})), ...patch.ids });
  const owners = new Map<string, string>();
  const problems: SiteProblem[] = [];
  for (const [name, ids] of result) {
    const values = [
      ...ids.macs.map((m) => `MAC ${m}`),
      ...ids.ibGuids.map((g) => `IB GUID ${g}`),
      ...(ids.uuid ? [`UUID ${ids.uuid.toLowerCase()}`] : []),
      ...(normalizeSerial(ids.serial) ? [`serial ${normalizeSerial(ids.serial)}`] : []),
      ...(ids.switchPort ? [`switch port ${switchPortKey(ids.switchPort)}`] : []),
    ];
    for (const v of new Set(values)) {
      const other = owners.get(v);
      if (other === undefined) owners.set(v, name);
      else if (lines.has(name) || lines.has(other)) {
        const [inFile, elsewhere] = lines.has(name) ? [name, other] : [other, name];
        const where = lines.has(elsewhere) ? `node ${elsewhere} on line ${lines.get(elsewhere)}` : `defined node ${elsewhere}`;
        problems.push({ line: lines.get(inFile)!, message: `node ${inFile}: ${v} is also given to ${where}` });
      }
    }
  }
  return problems;
}
