/**
 * The YAML form of a site file (docs/records.md has a full example):
 *
 *   version: 1
 *   nodes:    [{name, groups, macs, serial, uuid, ib, switch, power, console, image, tags, attrs}]
 *   switches: [{name, mgmt, kind, ports: [{port, node, nic}]}]
 *   bios:     {groups: {GROUP: {key: value}}, nodes: {NODE: {key: value}}}
 *   hwlog:    [...]   (export only; ignored on import)
 *
 * Reads with the `yaml` package's line counter so every problem names its line.
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node, type Pair, type YAMLMap } from 'yaml';
import { LIST_FIELDS, NODE_FIELDS, SITE_FILE_VERSION, emptySiteFile, type SiteFile, type SitePort, type SiteSwitch } from './site-file.js';
import type { SiteProblem } from '../../shared/verbs/results.js';

const NODE_KEYS = ['name', ...NODE_FIELDS, 'mac', 'attrs'];

export function parseYamlSite(text: string): { file: SiteFile; problems: SiteProblem[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const problems: SiteProblem[] = [];
  const file = emptySiteFile();
  if (doc.errors.length) {
    for (const e of doc.errors) problems.push({ line: e.linePos?.[0]?.line ?? null, message: `not valid YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}` });
    return { file, problems };
  }
  const r = new Reader(lines, problems);
  const root = doc.contents;
  if (!isMap(root)) {
    problems.push({ line: root ? r.line(root) : null, message: 'the file must be a YAML map with nodes:, switches: and/or bios:' });
    return { file, problems };
  }
  for (const pair of root.items) {
    const key = r.key(pair);
    const value = pair.value as Node | null;
    switch (key) {
      case 'version': {
        const v = r.scalar(value, 'version', r.keyLine(pair));
        if (v !== null && v !== String(SITE_FILE_VERSION)) problems.push({ line: r.keyLine(pair), message: `version ${v} is not supported (this muster reads version ${SITE_FILE_VERSION})` });
        break;
      }
      case 'nodes':
        for (const item of r.seq(value, 'nodes', r.keyLine(pair))) {
          const node = r.map(item, 'a node', r.keyLine(pair));
          if (node) readNode(r, node, file);
        }
        break;
      case 'switches':
        for (const item of r.seq(value, 'switches', r.keyLine(pair))) {
          const sw = r.map(item, 'a switch', r.keyLine(pair));
          if (sw) readSwitch(r, sw, file);
        }
        break;
      case 'bios':
        readBios(r, value, r.keyLine(pair), file);
        break;
      case 'hwlog':
        file.hwlogIssues = r.seq(value, 'hwlog', r.keyLine(pair)).length;
        break;
      default:
        problems.push({ line: r.keyLine(pair), message: `unknown section "${key}" (known: version, nodes, switches, bios, hwlog)` });
    }
  }
  return { file, problems };
}

function readNode(r: Reader, map: YAMLMap, file: SiteFile): void {
  const line = r.line(map);
  let name: string | null = null;
  const settings: SiteFile['nodes'][number]['settings'] = [];
  for (const pair of map.items) {
    const key = r.key(pair);
    const at = r.valueLine(pair);
    const value = pair.value as Node | null;
    if (key === 'name') name = r.scalar(value, 'name', at);
    else if (key === 'attrs') {
      if (value === null || (isScalar(value) && value.value === null)) continue;
      const attrs = r.map(value, 'attrs', at);
      for (const a of attrs?.items ?? []) settings.push({ key: `attr.${r.key(a)}`, value: r.scalar(a.value as Node | null, `attrs.${r.key(a)}`, r.valueLine(a)) ?? '', line: r.valueLine(a) });
    } else if (LIST_FIELDS.has(key)) {
      settings.push({ key, value: r.list(value, key, at).join(','), line: at });
    } else if ((NODE_FIELDS as readonly string[]).includes(key)) {
      settings.push({ key, value: r.scalar(value, key, at) ?? '', line: at });
    } else {
      r.problems.push({ line: r.keyLine(pair), message: `node${name ? ` ${name}` : ''}: unknown field "${key}" (known: ${NODE_KEYS.join(', ')})` });
    }
  }
  if (!name) return void r.problems.push({ line, message: 'a node needs a name' });
  file.nodes.push({ name, line, settings });
}

function readSwitch(r: Reader, map: YAMLMap, file: SiteFile): void {
  const line = r.line(map);
  const sw: Partial<SiteSwitch> = { line };
  for (const pair of map.items) {
    const key = r.key(pair);
    const at = r.valueLine(pair);
    const value = pair.value as Node | null;
    if (key === 'name') sw.name = r.scalar(value, 'name', at) ?? undefined;
    else if (key === 'mgmt' || key === 'kind') sw[key] = r.scalar(value, key, at);
    else if (key === 'ports') sw.ports = r.seq(value, 'ports', at).flatMap((item) => readPort(r, item, at));
    else r.problems.push({ line: r.keyLine(pair), message: `switch: unknown field "${key}" (known: name, mgmt, kind, ports)` });
  }
  if (!sw.name) return void r.problems.push({ line, message: 'a switch needs a name' });
  file.switches.push(sw as SiteSwitch);
}

function readPort(r: Reader, item: Node, parentLine: number): SitePort[] {
  const map = r.map(item, 'a port (port:, node:, nic:)', parentLine);
  if (!map) return [];
  const line = r.line(map);
  const fields: Record<string, string | null> = {};
  for (const pair of map.items) {
    const key = r.key(pair);
    if (key === 'port' || key === 'node' || key === 'nic') fields[key] = r.scalar(pair.value as Node | null, key, r.valueLine(pair));
    else r.problems.push({ line: r.keyLine(pair), message: `port: unknown field "${key}" (known: port, node, nic)` });
  }
  if (!fields.port || !fields.node) {
    r.problems.push({ line, message: 'a port needs port: and node:' });
    return [];
  }
  return [{ port: fields.port, node: fields.node, ...(fields.nic ? { nic: fields.nic } : {}), line }];
}

function readBios(r: Reader, value: Node | null, line: number, file: SiteFile): void {
  const map = r.map(value, 'bios (groups:, nodes:)', line);
  for (const pair of map?.items ?? []) {
    const key = r.key(pair);
    if (key !== 'groups' && key !== 'nodes') {
      r.problems.push({ line: r.keyLine(pair), message: `bios: unknown field "${key}" (known: groups, nodes)` });
      continue;
    }
    const scopes = r.map(pair.value as Node | null, `bios.${key}`, r.valueLine(pair));
    for (const scope of scopes?.items ?? []) {
      const name = r.key(scope);
      const settingsMap = r.map(scope.value as Node | null, `bios.${key}.${name}`, r.valueLine(scope));
      const settings: Record<string, string> = {};
      for (const s of settingsMap?.items ?? []) settings[r.key(s)] = r.scalar(s.value as Node | null, `bios.${key}.${name}.${r.key(s)}`, r.valueLine(s)) ?? '';
      file.bios.push({ scope: key === 'groups' ? 'group' : 'node', name, line: r.keyLine(scope), settings });
    }
  }
}

/** Typed access to YAML nodes; each mismatch is a problem with its line, and reading goes on. */
class Reader {
  constructor(
    private readonly lines: LineCounter,
    readonly problems: SiteProblem[],
  ) {}

  line(node: Node): number {
    return this.lines.linePos(node.range?.[0] ?? 0).line;
  }
  keyLine(pair: Pair): number {
    return isScalar(pair.key) || isMap(pair.key) || isSeq(pair.key) ? this.line(pair.key as Node) : 1;
  }
  valueLine(pair: Pair): number {
    const v = pair.value as Node | null;
    return v && v.range ? this.line(v) : this.keyLine(pair);
  }

  key(pair: Pair): string {
    return isScalar(pair.key) ? scalarText(pair.key) ?? '' : String(pair.key);
  }

  /** A single value as text (numbers as written: `0012` stays `0012`); null for an empty value. */
  scalar(node: Node | null, what: string, line: number): string | null {
    if (node === null) return null;
    if (isScalar(node)) return scalarText(node);
    this.problems.push({ line: this.line(node) || line, message: `${what} must be a single value, not a ${isSeq(node) ? 'list' : 'map'}` });
    return null;
  }

  /** A list of values; a single value (`a,b`) is taken as written. */
  list(node: Node | null, what: string, line: number): string[] {
    if (node === null || (isScalar(node) && node.value === null)) return [];
    if (isScalar(node)) return [scalarText(node) ?? ''];
    if (isSeq(node)) return node.items.map((i) => this.scalar(i as Node, `${what} item`, line) ?? '');
    this.problems.push({ line: this.line(node), message: `${what} must be a list or a single value, not a map` });
    return [];
  }

  seq(node: Node | null, what: string, line: number): Node[] {
    if (node === null || (isScalar(node) && node.value === null)) return [];
    if (isSeq(node)) return node.items as Node[];
    this.problems.push({ line: this.line(node) || line, message: `${what} must be a list` });
    return [];
  }

  map(node: Node | null, what: string, line: number): YAMLMap | null {
    if (node !== null && isMap(node)) return node;
    this.problems.push({ line: node ? this.line(node) : line, message: `${what} must be a map (key: value lines)` });
    return null;
  }
}

function scalarText(node: { value: unknown; source?: string }): string | null {
  if (node.value === null || node.value === undefined) return null;
  if (typeof node.value === 'string') return node.value;
  return node.source ?? String(node.value);
}
