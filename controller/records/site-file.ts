/**
 * A site file (`muster import` / `muster export`) as read from YAML or CSV, before validation:
 * every entry keeps the line it came from, so each problem can name its line.
 * Node fields are kept as `key=value` settings, the same ones `muster define` takes.
 */

export const SITE_FILE_VERSION = 1;

/** Node fields of a site file, in the order export writes them (CSV columns, YAML keys). */
export const NODE_FIELDS = ['groups', 'macs', 'serial', 'uuid', 'ib', 'switch', 'power', 'console', 'image', 'tags'] as const;
/** Fields that hold a list (YAML sequence, or a comma-separated CSV cell). */
export const LIST_FIELDS: ReadonlySet<string> = new Set(['groups', 'macs', 'mac', 'ib', 'tags']);

export interface SiteSetting {
  /** A `muster define` key: `macs`, `power`, `attr.rack`, … */
  key: string;
  /** '' clears the field. */
  value: string;
  line: number;
}

export interface SiteNode {
  name: string;
  line: number;
  settings: SiteSetting[];
}

export interface SitePort {
  port: string;
  node: string;
  nic?: string;
  line: number;
}

export interface SiteSwitch {
  name: string;
  line: number;
  /** Undefined: not in the file (kept); null: cleared. */
  mgmt?: string | null;
  kind?: string | null;
  /** Undefined: the file says nothing about ports (kept); else the switch's whole port map. */
  ports?: SitePort[];
}

export interface SiteBios {
  scope: 'group' | 'node';
  name: string;
  line: number;
  /** The scope's whole desired settings (replaces what was there). */
  settings: Record<string, string>;
}

export interface SiteFile {
  nodes: SiteNode[];
  switches: SiteSwitch[];
  bios: SiteBios[];
  /** Hardware-log issues in the file: exported for the record, never imported. */
  hwlogIssues: number;
}

export function emptySiteFile(): SiteFile {
  return { nodes: [], switches: [], bios: [], hwlogIssues: 0 };
}
