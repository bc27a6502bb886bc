/**
 * Which disk the `disk` build system installs on: a node's `disk=` rule, matched against the
 * disks as the agent reports them (agent/fingerprint/disks.ts). Pure.
 *
 * A rule is one or more criteria joined by `,`, all of which must hold:
 *   /dev/NAME            the disk of that kernel name (`/dev/sdb`, `/dev/nvme1n1`)
 *   size>=100G           its size against a bound: >=, <=, >, <; units K M G T (powers of 1000)
 *                        or Ki Mi Gi Ti (powers of 1024), none for bytes
 *   model:GLOB           its model, `*` any text and `?` one character (a space too), any case
 *   serial:GLOB          its serial number, the same way
 * Of the disks that match, the first by kernel name is chosen; disks of size 0 (an empty drive)
 * never match.
 * No zod here: the agent bundles this file (its schema, DiskRuleText, is in node-network.ts).
 */
import type { Fingerprint } from './protocol.js';
import type { Result } from './node-network.js';

export type DiskInfo = Fingerprint['disks'][number];

type SizeOp = '>=' | '<=' | '>' | '<';
export type DiskCriterion =
  | { kind: 'path'; name: string }
  | { kind: 'size'; op: SizeOp; bytes: number }
  | { kind: 'model' | 'serial'; glob: string; re: RegExp };

const RULE_TEXT = /^[A-Za-z0-9._:/*?<>=,+-]{1,256}$/;
const UNITS: Record<string, number> = { '': 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const EXAMPLES = 'size>=100G, model:SAMSUNG*, serial:S3Z1NB0K, /dev/sdb, or several joined by ","';

/** A `disk=` rule parsed into its criteria; the error names the part that is wrong. */
export function parseDiskRule(text: string): Result<DiskCriterion[]> {
  if (!RULE_TEXT.test(text)) return { ok: false, error: `disk: "${text.slice(0, 64)}" must be 1-256 characters of letters, digits and . _ : / * ? < > = , + - (${EXAMPLES})` };
  const criteria: DiskCriterion[] = [];
  for (const part of text.split(',')) {
    const c = parseCriterion(part);
    if (typeof c === 'string') return { ok: false, error: `disk: "${part}" ${c} (${EXAMPLES})` };
    criteria.push(c);
  }
  return { ok: true, value: criteria };
}

function parseCriterion(part: string): DiskCriterion | string {
  const path = /^\/dev\/([A-Za-z0-9._-]{1,64})$/.exec(part);
  if (path) return { kind: 'path', name: path[1]! };
  const size = /^size(>=|<=|>|<)(\d+(?:\.\d+)?)([KMGT]i?)?$/.exec(part);
  if (size) return { kind: 'size', op: size[1] as SizeOp, bytes: Math.round(Number(size[2]) * UNITS[size[3] ?? '']!) };
  if (part.startsWith('size')) return 'is not a size bound like size>=100G';
  const field = /^(model|serial):(.+)$/.exec(part);
  if (field) return { kind: field[1] as 'model' | 'serial', glob: field[2]!, re: globRegExp(field[2]!) };
  return 'is not a rule';
}

function globRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\/]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

function matches(c: DiskCriterion, d: DiskInfo): boolean {
  switch (c.kind) {
    case 'path':
      return d.name === c.name;
    case 'size':
      return c.op === '>=' ? d.sizeBytes >= c.bytes : c.op === '<=' ? d.sizeBytes <= c.bytes : c.op === '>' ? d.sizeBytes > c.bytes : d.sizeBytes < c.bytes;
    case 'model':
    case 'serial':
      return c.re.test(d[c.kind] ?? '');
  }
}

/** The disk `rule` chooses among `disks`, or why none. */
export function pickDisk(rule: string, disks: readonly DiskInfo[]): Result<DiskInfo> {
  const parsed = parseDiskRule(rule);
  if (!parsed.ok) return parsed;
  const candidates = [...disks].filter((d) => d.sizeBytes > 0).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const chosen = candidates.find((d) => parsed.value.every((c) => matches(c, d)));
  if (chosen) return { ok: true, value: chosen };
  return { ok: false, error: `no disk matches the rule ${rule} (disks: ${candidates.map(describeDisk).join('; ') || 'none'})` };
}

/** `vda 10.7 GB, model QEMU HARDDISK, serial abc`: what a rule can be written against. */
export function describeDisk(d: DiskInfo): string {
  return [`${d.name} ${(d.sizeBytes / 1e9).toFixed(1)} GB`, d.model && `model ${d.model}`, d.serial && `serial ${d.serial}`].filter(Boolean).join(', ');
}

/**
 * A rule on a kernel command line: boot scripts read `<`, `>` as redirections and grub may
 * expand `*` and `?`, so those travel percent-encoded (`size%3E=100G`).
 */
export function diskRuleToCmdline(rule: string): string {
  return rule.replace(/[<>*?]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function diskRuleFromCmdline(param: string): string {
  return param.replace(/%(3C|3E|2A|3F)/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
