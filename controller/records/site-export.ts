/**
 * Export of the site's records as a site file (the form `muster import` reads): YAML with nodes,
 * switches, BIOS settings and optionally the hardware log, or CSV with the node table. Passwords
 * in power URLs are shown as `***` unless asked for. Pure.
 */
import { Document, isScalar, visit } from 'yaml';
import { redactOptional } from '../auth/redact.js';
import { naturalCompare } from '../nodes/directory.js';
import type { NodeDefinition, StoreData } from '../store/schema.js';
import { formatCsv } from './csv.js';
import { NODE_FIELDS, SITE_FILE_VERSION } from './site-file.js';
import { listSwitches } from './switches.js';

import type { SiteFormat } from '../../shared/verbs/args.js';

export interface ExportOptions {
  format: SiteFormat;
  /** Show passwords in power URLs (default: `***`). */
  showSecrets?: boolean;
  /** Include the hardware log (YAML only; never imported). */
  hwlog?: boolean;
  now: number;
}

export function exportSite(data: StoreData, opts: ExportOptions): string {
  return opts.format === 'csv' ? exportCsv(data, opts) : exportYaml(data, opts);
}

/** A node's fields as site-file text values, in NODE_FIELDS order; lists comma-joined; '' when unset. */
function nodeFields(n: NodeDefinition, showSecrets: boolean): Record<(typeof NODE_FIELDS)[number], string | string[]> {
  return {
    groups: n.groups,
    macs: n.ids.macs,
    serial: n.ids.serial ?? '',
    uuid: n.ids.uuid ?? '',
    ib: n.ids.ibGuids,
    switch: n.ids.switchPort ? `${n.ids.switchPort.switch}:${n.ids.switchPort.port}` : '',
    power: (showSecrets ? n.power : redactOptional(n.power)) ?? '',
    console: (showSecrets ? n.console : redactOptional(n.console)) ?? '',
    image: n.image ?? '',
    tags: n.tags,
  };
}

function sortedNodes(data: StoreData): NodeDefinition[] {
  return Object.keys(data.nodes)
    .sort(naturalCompare)
    .map((n) => data.nodes[n]!);
}

function exportYaml(data: StoreData, opts: ExportOptions): string {
  const nodes = sortedNodes(data).map((n) => {
    const entry: Record<string, unknown> = { name: n.name };
    for (const [k, v] of Object.entries(nodeFields(n, !!opts.showSecrets))) if (v.length) entry[k] = v;
    if (Object.keys(n.attrs).length) entry.attrs = n.attrs;
    return entry;
  });
  const switches = listSwitches(data).map((s) => ({
    name: s.name,
    ...(s.mgmt ? { mgmt: s.mgmt } : {}),
    ...(s.kind ? { kind: s.kind } : {}),
    ports: s.ports.map((p) => ({ port: p.port, node: p.node, ...(p.nic ? { nic: p.nic } : {}) })),
  }));
  const { groups, nodes: biosNodes } = data.bios.desired;
  const content: Record<string, unknown> = { version: SITE_FILE_VERSION, nodes };
  if (switches.length) content.switches = switches;
  if (Object.keys(groups).length || Object.keys(biosNodes).length) content.bios = { ...(Object.keys(groups).length ? { groups } : {}), ...(Object.keys(biosNodes).length ? { nodes: biosNodes } : {}) };
  if (opts.hwlog) {
    content.hwlog = data.hwlog.issues.map((i) => ({
      ...i,
      openedAt: new Date(i.openedAt).toISOString(),
      closedAt: i.closedAt === null ? null : new Date(i.closedAt).toISOString(),
    }));
  }
  const doc = new Document(content);
  // Short lists of plain values read best on one line: `macs: [52:54:00:00:00:01]`.
  visit(doc, { Seq: (_key, seq) => void (seq.flow = seq.items.every((i) => isScalar(i))) });
  doc.commentBefore = ` muster site file, exported ${new Date(opts.now).toISOString()}${opts.showSecrets ? ' (WITH PASSWORDS: keep it safe)' : '; passwords are shown as *** and kept on re-import'}`;
  return doc.toString({ lineWidth: 0 });
}

function exportCsv(data: StoreData, opts: ExportOptions): string {
  const nodes = sortedNodes(data);
  const attrs = [...new Set(nodes.flatMap((n) => Object.keys(n.attrs)))].sort();
  const header = ['name', ...NODE_FIELDS, ...attrs.map((a) => `attr.${a}`)];
  const rows = nodes.map((n) => {
    const fields = nodeFields(n, !!opts.showSecrets);
    const cells = NODE_FIELDS.map((f) => fields[f]).map((v) => (Array.isArray(v) ? v.join(',') : v));
    return [n.name, ...cells, ...attrs.map((a) => n.attrs[a] ?? '')];
  });
  return formatCsv([header, ...rows]);
}
