/**
 * xCAT-style noderanges: the one way users name sets of nodes, in the CLI and the controller.
 *
 *   n001,n003            a list (items separated by ",")
 *   n[001-016]           a numeric range; the first bound's width sets zero padding (n001 … n016)
 *   n001-n016            xCAT's dash form between two names with the same prefix and suffix
 *   rack[1-2]n[01-04]    several bracket groups: every combination, leftmost varies slowest
 *   n[1,3,5-7]           a list inside brackets (each element padded by its own first bound)
 *   rack1                a group (members may be nodes or other groups; cycles are refused)
 *   all                  every known node
 *   /^n0[0-9]+$/         a regular expression over known node names (xCAT's `/re` also works)
 *   rack1@gpu            intersection: nodes in every operand
 *   all,-n005            exclusion: removes from what the items to its left selected
 *
 * Items are applied left to right; the result keeps the order of first appearance, without
 * duplicates; a range that selects no node is refused. A bracketed or dashed name that is itself
 * a group expands to the group's members, so `rack[1-4]` works when rack1…rack4 are groups. A name that is both a node and a group is the
 * node. `all` is reserved: it always means every known node. `^file` (xCAT's node list file) is
 * not supported: the controller reads no user files.
 */
import { closest } from './closest.js';
import { MusterError } from './errors.js';
import { NODE_NAME, NODE_NAME_RULE } from './wire.js';

export interface NodeRangeContext {
  /** Every known node, in the order `all` and regular expressions list them. */
  nodes: readonly string[];
  /** Group name → members (node names or other group names). */
  groups: Readonly<Record<string, readonly string[]>>;
}

export interface NodeRangeOptions {
  /** Accept names that are neither known nodes nor groups (e.g. for `muster define`). Default false. */
  allowUnknown?: boolean;
  /** Refuse a noderange that would select (or generate in one operand) more names. Default 100,000. */
  limit?: number;
}

export const DEFAULT_NODERANGE_LIMIT = 100_000;

export class NodeRangeError extends MusterError {
  override readonly name = 'NodeRangeError';
  constructor(
    readonly range: string,
    readonly detail: string,
    /** 1-based column in `range` where the problem starts, or null when it is about the whole. */
    readonly column: number | null,
    readonly hint: string | null = null,
  ) {
    super(`noderange "${clip(range)}": ${detail}${column === null ? '' : ` at column ${column}`}${hint ? ` (${hint})` : ''}`, 'bad-noderange');
  }
}

/**
 * Expand a noderange to node names: ordered by first appearance, without duplicates, and at least
 * one (a range that selects nothing, such as an empty group or `all` with no node defined, is
 * refused: acting on no node is a mistake the user should hear of).
 */
export function expandNodeRange(range: string, ctx: NodeRangeContext, opts: NodeRangeOptions = {}): string[] {
  const names = new Expander(range, ctx, opts.allowUnknown ?? false, opts.limit ?? DEFAULT_NODERANGE_LIMIT).run();
  if (names.length === 0) throw new NodeRangeError(range, 'selects no nodes', null);
  return names;
}

// ---- parsing -----------------------------------------------------------------------------------

type Operand = { kind: 'regex'; source: string; column: number } | { kind: 'pattern'; text: string; column: number };
interface Item {
  exclude: boolean;
  operands: Operand[];
  column: number;
  text: string;
}

const NAME_CHAR = /[A-Za-z0-9_.-]/;
const SPACE = /\s/;
/** Bounds stay exact integers and ranges stay countable. */
export const MAX_BOUND_DIGITS = 15;

function parse(range: string, fail: Fail): Item[] {
  if (range.trim() === '') fail('empty noderange', null);
  const items: Item[] = [];
  let i = skipSpace(range, 0);
  for (;;) {
    const start = i;
    const exclude = range[i] === '-';
    if (exclude) i++;
    const operands: Operand[] = [];
    for (;;) {
      const [operand, next] = readOperand(range, i, fail, operands.length === 0 ? (exclude ? 'exclusion' : 'item') : 'intersection');
      operands.push(operand);
      i = skipSpace(range, next);
      if (range[i] !== '@') break;
      i = skipSpace(range, i + 1);
    }
    items.push({ exclude, operands, column: start + 1, text: range.slice(start, i).trim() });
    if (i >= range.length) return items;
    if (range[i] !== ',') fail(`unexpected "${range[i]}"`, i + 1, SPACE.test(range[i - 1] ?? '') ? 'separate items with ","' : null);
    i = skipSpace(range, i + 1);
  }
}

function readOperand(range: string, i: number, fail: Fail, role: 'item' | 'exclusion' | 'intersection'): [Operand, number] {
  const c = range[i];
  if (c === undefined || c === ',' || c === '@') {
    const what = role === 'item' ? 'empty item' : role === 'exclusion' ? 'nothing to exclude after "-"' : 'nothing to intersect after "@"';
    fail(what, i + 1);
  }
  if (c === '/') return readRegex(range, i, fail);
  if (c === '^') fail('node list files ("^file") are not supported', i + 1);
  let j = i;
  let open = -1;
  for (; j < range.length; j++) {
    const ch = range[j]!;
    if (open < 0 && (ch === ',' || ch === '@' || SPACE.test(ch))) break;
    if (ch === '[') {
      if (open >= 0) fail('nested "["', j + 1);
      open = j;
    } else if (ch === ']') {
      if (open < 0) fail('unmatched "]"', j + 1);
      if (j === open + 1) fail('empty "[]"', open + 1);
      open = -1;
    } else if (open < 0 && !NAME_CHAR.test(ch)) {
      fail(`bad character "${ch}"`, j + 1); // inside brackets, bracketList names the bad bound
    }
  }
  if (open >= 0) fail('unclosed "["', open + 1);
  return [{ kind: 'pattern', text: range.slice(i, j), column: i + 1 }, j];
}

/**
 * `/re/` up to an unescaped "/" that ends the item (followed by ",", "@", a space or the end),
 * else xCAT's `/re` up to the next ",".
 */
function readRegex(range: string, i: number, fail: Fail): [Operand, number] {
  let end = -1;
  for (let j = i + 1; j < range.length; j++) {
    if (range[j] === '\\') j++;
    else if (range[j] === '/' && /^$|[,@\s]/.test(range[j + 1] ?? '')) {
      end = j;
      break;
    }
  }
  let source: string;
  let next: number;
  if (end >= 0) {
    source = range.slice(i + 1, end);
    next = end + 1;
  } else {
    const comma = range.indexOf(',', i);
    next = comma < 0 ? range.length : comma;
    source = range.slice(i + 1, next).trimEnd();
  }
  if (source === '') fail('empty regular expression', i + 1);
  return [{ kind: 'regex', source, column: i + 1 }, next];
}

function skipSpace(s: string, i: number): number {
  while (i < s.length && SPACE.test(s[i]!)) i++;
  return i;
}

// ---- numeric ranges ----------------------------------------------------------------------------

interface NumberRange {
  lo: number;
  hi: number;
  width: number;
}

/** Read one bound: digits only, column for errors. */
function bound(text: string, column: number, fail: Fail): number {
  if (!/^\d+$/.test(text)) fail(`bad range bound "${text}"`, column);
  if (text.length > MAX_BOUND_DIGITS) fail(`range bound "${text}" has more than ${MAX_BOUND_DIGITS} digits`, column);
  return Number(text);
}

function numberRange(loText: string, hiText: string, column: number, hiColumn: number, fail: Fail): NumberRange {
  const lo = bound(loText, column, fail);
  const hi = bound(hiText, hiColumn, fail);
  if (hi < lo) fail(`reversed range "${loText}-${hiText}"`, column);
  return { lo, hi, width: loText.length };
}

/** `1,3,5-7` (the inside of one pair of brackets, starting at `column`). */
function bracketList(inside: string, column: number, fail: Fail): NumberRange[] {
  const ranges: NumberRange[] = [];
  let offset = 0;
  for (const element of inside.split(',')) {
    const col = column + offset;
    if (element === '') fail('empty element inside "[]"', col);
    const dash = element.indexOf('-');
    ranges.push(dash < 0 ? numberRange(element, element, col, col, fail) : numberRange(element.slice(0, dash), element.slice(dash + 1), col, col + dash + 1, fail));
    offset += element.length + 1;
  }
  return ranges;
}

const rangeSize = (ranges: readonly NumberRange[]): number => ranges.reduce((n, r) => n + r.hi - r.lo + 1, 0);

function* numbers(ranges: readonly NumberRange[]): Generator<string> {
  for (const r of ranges) for (let k = r.lo; k <= r.hi; k++) yield String(k).padStart(r.width, '0');
}

/** Split a name into prefix, last run of digits and the non-digit suffix after it. */
export const NUMBERED = /^(.*?)(\d+)(\D*)$/;

// ---- evaluation --------------------------------------------------------------------------------

type Fail = (detail: string, column: number | null, hint?: string | null) => never;

class Expander {
  private readonly known: ReadonlySet<string>;
  private readonly fail: Fail;

  constructor(
    private readonly range: string,
    private readonly ctx: NodeRangeContext,
    private readonly allowUnknown: boolean,
    private readonly limit: number,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`noderange limit must be a positive integer, got ${limit}`);
    this.known = new Set(ctx.nodes);
    this.fail = (detail, column, hint = null) => {
      throw new NodeRangeError(range, detail, column, hint);
    };
  }

  run(): string[] {
    const result = new Set<string>();
    for (const [index, item] of parse(this.range, this.fail).entries()) {
      if (item.exclude && index === 0) this.fail(`exclusion "${item.text}" has nothing before it to exclude from`, item.column, `write "all,${item.text}"`);
      for (const name of this.item(item)) {
        if (item.exclude) result.delete(name);
        else result.add(name);
      }
      if (result.size > this.limit) this.fail(`selects more than ${this.limit} nodes`, null);
    }
    return [...result];
  }

  private item(item: Item): string[] {
    const [first, ...rest] = item.operands.map((op) => this.operand(op));
    const others = rest.map((names) => new Set(names));
    return first!.filter((name) => others.every((set) => set.has(name)));
  }

  private operand(op: Operand): string[] {
    if (op.kind === 'regex') {
      let re: RegExp;
      try {
        re = new RegExp(op.source);
      } catch (err) {
        return this.fail(`bad regular expression /${op.source}/: ${(err as Error).message}`, op.column);
      }
      return this.ctx.nodes.filter((name) => re.test(name));
    }
    if (op.text === 'all') return [...this.ctx.nodes];
    if (op.text.includes('[')) return this.resolveGenerated(this.bracketNames(op), op);
    const single = this.resolve(op.text, []);
    if (single) return single;
    const dashed = this.dashNames(op);
    if (dashed) return this.resolveGenerated(dashed, op);
    if (this.allowUnknown) return [this.validName(op.text, op.column)];
    return this.fail(`unknown node or group "${op.text}"`, op.column, this.suggest(op.text));
  }

  /** A known node → itself; a group → its members (nested groups expanded); else null. */
  private resolve(name: string, path: readonly string[]): string[] | null {
    if (this.known.has(name)) return [name];
    if (!Object.hasOwn(this.ctx.groups, name)) return null;
    if (path.includes(name)) this.fail(`group cycle ${[...path, name].join(' → ')}`, null);
    const members: string[] = [];
    for (const member of this.ctx.groups[name]!) {
      const resolved = this.resolve(member, [...path, name]);
      if (resolved) members.push(...resolved);
      else if (this.allowUnknown) members.push(member);
      else this.fail(`group "${name}" has member "${member}", which is neither a known node nor a group`, null);
    }
    return members;
  }

  /** Names from brackets or a dash range: each resolved like a typed name; unknowns listed together. */
  private resolveGenerated(names: readonly string[], op: Operand & { kind: 'pattern' }): string[] {
    const out: string[] = [];
    const unknown: string[] = [];
    for (const name of names) {
      const resolved = this.resolve(name, []);
      if (resolved) out.push(...resolved);
      else if (this.allowUnknown) out.push(this.validName(name, op.column));
      else unknown.push(name);
    }
    if (unknown.length > 0) {
      const shown = unknown.slice(0, 3).join(', ') + (unknown.length > 3 ? ` (+${unknown.length - 3} more)` : '');
      this.fail(`"${op.text}" names unknown node${unknown.length > 1 ? 's' : ''} ${shown}`, op.column);
    }
    return out;
  }

  private bracketNames(op: Operand & { kind: 'pattern' }): string[] {
    // Literal parts and bracket groups alternate: split keeps the captured groups.
    const parts = op.text.split(/\[([^\]]*)\]/);
    const dims: NumberRange[][] = [];
    let offset = 0;
    for (const [k, part] of parts.entries()) {
      if (k % 2 === 1) dims.push(bracketList(part, op.column + offset + 1, this.fail));
      offset += part.length + (k % 2 === 1 ? 2 : 0);
    }
    const total = dims.reduce((n, d) => n * rangeSize(d), 1);
    if (total > this.limit) this.fail(`"${op.text}" expands to ${total} names, more than the limit of ${this.limit}`, op.column);
    let names = [parts[0]!];
    for (const [d, dim] of dims.entries()) {
      const literal = parts[2 * d + 2]!;
      names = names.flatMap((head) => Array.from(numbers(dim), (num) => head + num + literal));
    }
    return names;
  }

  /** `n001-n016`: the first "-" whose two sides share prefix and suffix around a number. */
  private dashNames(op: Operand & { kind: 'pattern' }): string[] | null {
    for (let p = op.text.indexOf('-'); p > 0; p = op.text.indexOf('-', p + 1)) {
      const left = NUMBERED.exec(op.text.slice(0, p));
      const right = NUMBERED.exec(op.text.slice(p + 1));
      if (!left || !right || left[1] !== right[1] || left[3] !== right[3]) continue;
      const [, prefix, loText, suffix] = left as unknown as [string, string, string, string];
      const hiText = right[2]!;
      const r = numberRange(loText, hiText, op.column + prefix.length, op.column + p + 1 + prefix.length, this.fail);
      const total = rangeSize([r]);
      if (total > this.limit) this.fail(`"${op.text}" expands to ${total} names, more than the limit of ${this.limit}`, op.column);
      return Array.from(numbers([r]), (num) => prefix + num + suffix);
    }
    return null;
  }

  private validName(name: string, column: number): string {
    // The plain pattern, not the zod schema: the dashboard bundles this parser without zod.
    if (!NODE_NAME.test(name)) this.fail(`"${name}" is not a valid node name: ${NODE_NAME_RULE}`, column);
    return name;
  }

  private suggest(name: string): string | null {
    const close = closest(name, [...this.ctx.nodes, ...Object.keys(this.ctx.groups)], 3);
    return close.length ? `did you mean ${close.join(', ')}?` : null;
  }
}

// ---- helpers -----------------------------------------------------------------------------------

function clip(s: string): string {
  return s.length > 120 ? `${s.slice(0, 117)}…` : s;
}
