/**
 * A fast acceptor derived from a zod 4 schema: for the common, valid message it answers "this value
 * is exactly what the schema would output" without zod's per-field payloads and copied output.
 *
 * Contract: `accept(x) === true` ⇒ `schema.safeParse(x).success` and `schema.parse(x)` deep-equals
 * `x` (same own keys, same values), so the caller may use `x` itself. `false` says nothing: run zod
 * for the value or the error message. The schema stays the only statement of the rules; this reads
 * its definition once and returns null for anything it does not fully understand.
 *
 * Supported (checked against zod 4.6.7's sources, node_modules/zod/v4/core/{schemas,checks}.js):
 * - z.object (strip, strict or loose): the value must be a plain object (prototype
 *   Object.prototype: so no arrays, no null-prototype objects, no class instances) whose keys are
 *   all in the shape. An extra key, which zod would strip or refuse, makes it false (a loose
 *   object keeps extra keys as they are, so there only an extra `__proto__` does).
 * - z.string with min/max/length (counted in code points, as zod 4.6 does) and .regex().
 * - z.number / z.int with int / safe / nonnegative / positive / min / max / gt / lt / finite and the
 *   number formats (safeint, int32, uint32, float32, float64). NaN and ±Infinity never pass.
 * - z.boolean, z.literal (string, number, boolean or null values), z.enum of strings.
 * - .nullable(), .optional() and exactOptional: an absent key is fine (zod leaves it absent too);
 *   a present key holding `undefined` is false.
 * Anything else — defaults, transforms, pipes, refinements, coercion, string formats, arrays,
 * unions, records, lazy, catch, readonly… — anywhere in the schema gives null.
 *
 * Values are assumed to be JSON.parse output (the ingest's case). Not guarded: getters that answer
 * differently on each read, proxies, symbol-keyed properties, and enumerable properties added to
 * Object.prototype.
 *
 * The acceptor allocates nothing per call: its plan is a flat list of field descriptors built here
 * once, walked with plain for loops, with keys counted by for-in.
 */
import type { z } from 'zod';

/** What the walk needs of a zod 4 schema or check instance: `_zod.def` and `_zod.traits`. */
interface ZodInternals {
  _zod: { def: Record<string, unknown>; traits: Set<string> };
}

class Unsupported extends Error {}

const STRING = 0;
const NUMBER = 1;
const BOOLEAN = 2;
/** z.literal / z.enum: membership in a Set, as zod itself tests it (SameValueZero). */
const ONE_OF = 3;
const OBJECT = 4;
type Kind = typeof STRING | typeof NUMBER | typeof BOOLEAN | typeof ONE_OF | typeof OBJECT;

/** One field of an object, or the root. Every instance has every property: one hidden class. */
class Field {
  key = '';
  kind: Kind = BOOLEAN;
  /** Absent key (or an undefined root) accepted: z.optional / exactOptional. */
  optional = false;
  /** `null` accepted. */
  nullable = false;
  // string
  minLength = 0;
  maxLength = Infinity;
  /** One per .regex(): the pattern's test, or a character table for `^[class]{m,n}$`. */
  patterns: ((s: string) => boolean)[] = [];
  // number: accepted iff lo <(=) x <(=) hi, and a safe integer when `int`
  lo = -Infinity;
  loInclusive = true;
  hi = Infinity;
  hiInclusive = true;
  int = false;
  // literal / enum
  values: Set<unknown> | null = null;
  // object
  object: ObjectPlan | null = null;
}

class ObjectPlan {
  constructor(
    readonly fields: Field[],
    /** Loose (catchall unknown): zod copies an undeclared key's value as is, except `__proto__`. */
    readonly loose: boolean,
  ) {}
}

/** Ranges of zod's number formats (util.NUMBER_FORMAT_RANGES); a format not listed gives null. */
const NUMBER_FORMATS: Record<string, { int: boolean; min: number; max: number }> = {
  safeint: { int: true, min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER },
  int32: { int: true, min: -2147483648, max: 2147483647 },
  uint32: { int: true, min: 0, max: 4294967295 },
  float32: { int: false, min: -3.4028234663852886e38, max: 3.4028234663852886e38 },
  float64: { int: false, min: -Number.MAX_VALUE, max: Number.MAX_VALUE },
};

/**
 * The acceptor for `schema`, or null when the schema holds anything this does not fully understand
 * (then always use zod). Build it once per schema, at module load.
 */
export function fastAcceptor<S extends z.ZodType>(schema: S): ((value: unknown) => value is z.output<S>) | null {
  const root = compile(schema);
  if (typeof root === 'string') return null;
  const plan = root.object;
  if (plan && !root.optional && !root.nullable) return (value: unknown): value is z.output<S> => acceptObject(plan, value);
  return (value: unknown): value is z.output<S> => (value === undefined ? root.optional : acceptValue(root, value));
}

/** Why `schema` has no fast acceptor (the first thing met that is not supported), or null if it has one. */
export function whyNoFastAcceptor(schema: z.ZodType): string | null {
  const root = compile(schema);
  return typeof root === 'string' ? root : null;
}

function compile(schema: z.ZodType): Field | string {
  try {
    return compileField(schema as unknown as ZodInternals, '', '(root)', new Set());
  } catch (err) {
    if (err instanceof Unsupported) return err.message;
    throw err;
  }
}

// ---- the walk (build time) ---------------------------------------------------------------------

function internals(node: unknown, where: string): ZodInternals['_zod'] {
  const zod = (node as Partial<ZodInternals> | null | undefined)?._zod;
  if (!zod || typeof zod.def !== 'object' || zod.def === null || !(zod.traits instanceof Set)) throw new Unsupported(`${where}: not a zod 4 schema`);
  return zod;
}

function checksOf(def: Record<string, unknown>, where: string): ZodInternals[] {
  const checks = def.checks;
  if (checks === undefined) return [];
  if (!Array.isArray(checks)) throw new Unsupported(`${where}: def.checks is not an array`);
  return checks as ZodInternals[];
}

/** An object field, or the root (key ''); optional only means something there (an absent key, or an undefined root). */
function compileField(schema: ZodInternals, key: string, where: string, path: Set<unknown>): Field {
  const field = new Field();
  field.key = key;
  // Peel .optional() / .nullable() in any order; each wrapper must carry no checks of its own.
  let node = schema;
  for (;;) {
    const zod = internals(node, where);
    const type = zod.def.type;
    if ((type === 'optional' && zod.traits.has('$ZodOptional')) || (type === 'nullable' && zod.traits.has('$ZodNullable'))) {
      if (checksOf(zod.def, where).length) throw new Unsupported(`${where}: checks on .${type}()`);
      if (type === 'optional') field.optional = true;
      else field.nullable = true;
      node = zod.def.innerType as ZodInternals;
      continue;
    }
    break;
  }
  if (path.has(node)) throw new Unsupported(`${where}: recursive schema`);
  path.add(node);
  compileLeaf(field, node, where, path);
  path.delete(node);
  return field;
}

function compileLeaf(field: Field, node: ZodInternals, where: string, path: Set<unknown>): void {
  const { def, traits } = node._zod;
  const type = def.type;
  if (def.coerce) throw new Unsupported(`${where}: coercion`);
  const checks = checksOf(def, where);
  // A schema that is itself a check (z.int(), z.email()…) runs its own def as its first check.
  const isSelfCheck = traits.has('$ZodCheck');
  if (type === 'string' && traits.has('$ZodString')) {
    if (isSelfCheck || traits.has('$ZodStringFormat') || def.format !== undefined) throw new Unsupported(`${where}: string format ${String(def.format)}`);
    field.kind = STRING;
    for (const ch of checks) stringCheck(field, ch, where);
    return;
  }
  if (type === 'number' && traits.has('$ZodNumber')) {
    field.kind = NUMBER;
    if (isSelfCheck) numberCheck(field, node, where, true);
    for (const ch of checks) numberCheck(field, ch, where, false);
    return;
  }
  if (checks.length || isSelfCheck) throw new Unsupported(`${where}: checks on ${String(type)}`);
  if (type === 'boolean' && traits.has('$ZodBoolean')) {
    field.kind = BOOLEAN;
    return;
  }
  if (type === 'literal' && traits.has('$ZodLiteral')) {
    const values = def.values;
    if (!Array.isArray(values) || values.length === 0) throw new Unsupported(`${where}: literal without values`);
    for (const v of values) {
      if (!(v === null || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number')) throw new Unsupported(`${where}: literal ${typeof v}`);
    }
    field.kind = ONE_OF;
    field.values = new Set(values);
    return;
  }
  if (type === 'enum' && traits.has('$ZodEnum')) {
    const entries = def.entries;
    if (typeof entries !== 'object' || entries === null) throw new Unsupported(`${where}: enum without entries`);
    const values = Object.values(entries);
    // Only string enums: zod drops a numeric enum's reverse mappings (util.getEnumValues).
    if (values.length === 0 || values.some((v) => typeof v !== 'string')) throw new Unsupported(`${where}: enum with non-string values`);
    field.kind = ONE_OF;
    field.values = new Set(values);
    return;
  }
  if (type === 'object' && traits.has('$ZodObject')) {
    field.kind = OBJECT;
    field.object = compileObject(def, where, path);
    return;
  }
  throw new Unsupported(`${where}: ${String(type)}`);
}

function compileObject(def: Record<string, unknown>, where: string, path: Set<unknown>): ObjectPlan {
  // No catchall strips undeclared keys and strict (never) refuses them: the acceptor refuses them
  // both ways. Loose (unknown) copies them as they are. Any other catchall would parse them.
  const catchall = def.catchall;
  let loose = false;
  if (catchall !== undefined) {
    const c = internals(catchall, where);
    loose = c.def.type === 'unknown' && c.traits.has('$ZodUnknown');
    const strict = c.def.type === 'never' && c.traits.has('$ZodNever');
    if (!(loose || strict) || checksOf(c.def, where).length) throw new Unsupported(`${where}: catchall ${String(c.def.type)}`);
  }
  const shape = def.shape as Record<string, unknown> | undefined;
  if (typeof shape !== 'object' || shape === null) throw new Unsupported(`${where}: object without shape`);
  if (Object.getOwnPropertySymbols(shape).length) throw new Unsupported(`${where}: symbol keys`);
  const fields: Field[] = [];
  for (const key of Object.keys(shape)) {
    // zod skips a declared __proto__ key when it builds the output.
    if (key === '__proto__') throw new Unsupported(`${where}: __proto__ key`);
    fields.push(compileField(shape[key] as ZodInternals, key, where === '(root)' ? key : `${where}.${key}`, path));
  }
  return new ObjectPlan(fields, loose);
}

/** `self`: the schema itself is the check (z.int()); its def.checks are then the schema's checks. */
function checkDef(ch: ZodInternals, trait: string, where: string, self = false): Record<string, unknown> {
  const zod = internals(ch, where);
  if (!zod.traits.has(trait)) throw new Unsupported(`${where}: check ${String(zod.def.check)} is not a ${trait}`);
  // A schema used as a check (`.check(z.int().min(1))`) runs only its own check, not its checks.
  if (!self && checksOf(zod.def, where).length) throw new Unsupported(`${where}: a check with checks of its own`);
  return zod.def;
}

function nonNegativeInt(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Unsupported(`${where}: length bound ${String(v)}`);
  return v;
}

function stringCheck(field: Field, ch: ZodInternals, where: string): void {
  const kind = internals(ch, where).def.check;
  switch (kind) {
    case 'min_length':
      field.minLength = Math.max(field.minLength, nonNegativeInt(checkDef(ch, '$ZodCheckMinLength', where).minimum, where));
      return;
    case 'max_length':
      field.maxLength = Math.min(field.maxLength, nonNegativeInt(checkDef(ch, '$ZodCheckMaxLength', where).maximum, where));
      return;
    case 'length_equals': {
      const n = nonNegativeInt(checkDef(ch, '$ZodCheckLengthEquals', where).length, where);
      field.minLength = Math.max(field.minLength, n);
      field.maxLength = Math.min(field.maxLength, n);
      return;
    }
    case 'string_format': {
      const def = checkDef(ch, '$ZodCheckRegex', where);
      if (def.format !== 'regex' || !(def.pattern instanceof RegExp)) throw new Unsupported(`${where}: string format ${String(def.format)}`);
      field.patterns.push(patternTest(def.pattern));
      return;
    }
    default:
      throw new Unsupported(`${where}: string check ${String(kind)}`);
  }
}

function numberCheck(field: Field, ch: ZodInternals, where: string, self: boolean): void {
  const kind = internals(ch, where).def.check;
  switch (kind) {
    case 'greater_than':
    case 'less_than': {
      const def = checkDef(ch, kind === 'greater_than' ? '$ZodCheckGreaterThan' : '$ZodCheckLessThan', where, self);
      if (typeof def.value !== 'number' || Number.isNaN(def.value) || typeof def.inclusive !== 'boolean') throw new Unsupported(`${where}: bound ${String(def.value)}`);
      if (kind === 'greater_than') lowerBound(field, def.value, def.inclusive);
      else upperBound(field, def.value, def.inclusive);
      return;
    }
    case 'number_format': {
      const def = checkDef(ch, '$ZodCheckNumberFormat', where, self);
      // zod's init sets a missing format to float64, so def.format is always there.
      const format = typeof def.format === 'string' && Object.hasOwn(NUMBER_FORMATS, def.format) ? NUMBER_FORMATS[def.format] : undefined;
      if (!format) throw new Unsupported(`${where}: number format ${String(def.format)}`);
      if (format.int) field.int = true;
      lowerBound(field, format.min, true);
      upperBound(field, format.max, true);
      return;
    }
    default:
      throw new Unsupported(`${where}: number check ${String(kind)}`);
  }
}

/** Keeps the tightest bound: the conjunction of `x >(=) a` and `x >(=) b`. */
function lowerBound(field: Field, value: number, inclusive: boolean): void {
  if (value > field.lo || (value === field.lo && !inclusive)) {
    field.lo = value;
    field.loInclusive = inclusive;
  }
}

/**
 * A pattern's test. The ids of this protocol are `^[class]{m,n}$` patterns (boot ids, client ids),
 * checked for every message: those become a table of allowed characters and a length range, about
 * 5x quicker than the RegExp call (bench/probe: 1/3 of the acceptor's time). Any other pattern,
 * or flags, or a class with escapes or a negation, keeps its RegExp.
 */
export function patternTest(pattern: RegExp): (s: string) => boolean {
  const table = pattern.flags === '' ? charClassRule(pattern.source) : null;
  if (!table) {
    return (s) => {
      pattern.lastIndex = 0; // as zod does, for /g and /y patterns
      return pattern.test(s);
    };
  }
  const { allowed, min, max } = table;
  return (s) => {
    const n = s.length;
    if (n < min || n > max) return false;
    for (let i = 0; i < n; i++) if (allowed[s.charCodeAt(i)] !== 1) return false;
    return true;
  };
}

const CHAR_CLASS_RULE = /^\^\[([A-Za-z0-9_.:-]+)\](?:\{(\d+)(?:(,)(\d*))?\}|([+*]))\$$/;

function charClassRule(source: string): { allowed: Uint8Array; min: number; max: number } | null {
  const m = CHAR_CLASS_RULE.exec(source);
  if (!m) return null;
  const [, set, count, comma, upTo, plusOrStar] = m as unknown as [string, string, string?, string?, string?, string?];
  const allowed = new Uint8Array(128);
  for (let i = 0; i < set.length; i++) {
    const lo = set.charCodeAt(i);
    if (set[i + 1] === '-' && i + 2 < set.length) {
      const hi = set.charCodeAt(i + 2);
      if (hi < lo) return null; // the RegExp constructor refuses these; never here
      allowed.fill(1, lo, hi + 1);
      i += 2;
    } else allowed[lo] = 1;
  }
  if (plusOrStar) return { allowed, min: plusOrStar === '+' ? 1 : 0, max: Infinity };
  const min = Number(count);
  return { allowed, min, max: !comma ? min : upTo ? Number(upTo) : Infinity };
}

function upperBound(field: Field, value: number, inclusive: boolean): void {
  if (value < field.hi || (value === field.hi && !inclusive)) {
    field.hi = value;
    field.hiInclusive = inclusive;
  }
}

// ---- the acceptor (per call: no allocation) ----------------------------------------------------

/** `value` is never undefined here: absence is the object walk's business. */
function acceptValue(f: Field, value: unknown): boolean {
  if (value === null && f.nullable) return true;
  switch (f.kind) {
    case STRING: {
      if (typeof value !== 'string') return false;
      const units = value.length;
      if (units < f.minLength) return false; // code points ≤ units
      // units ≥ 2·min and ≤ max settle it, since units/2 ≤ code points ≤ units; else count.
      if (units > f.maxLength || units < 2 * f.minLength) {
        const n = codePoints(value);
        if (n < f.minLength || n > f.maxLength) return false;
      }
      const patterns = f.patterns;
      for (let i = 0; i < patterns.length; i++) if (!patterns[i]!(value)) return false;
      return true;
    }
    case NUMBER:
      if (typeof value !== 'number' || !Number.isFinite(value)) return false;
      if (f.int && !Number.isSafeInteger(value)) return false;
      if (f.loInclusive ? !(value >= f.lo) : !(value > f.lo)) return false;
      if (f.hiInclusive ? !(value <= f.hi) : !(value < f.hi)) return false;
      return true;
    case BOOLEAN:
      return typeof value === 'boolean';
    case ONE_OF:
      return f.values!.has(value);
    case OBJECT:
      return acceptObject(f.object!, value);
  }
  return false;
}

function acceptObject(plan: ObjectPlan, value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return false;
  const obj = value as Record<string, unknown>;
  const fields = plan.fields;
  const n = fields.length;
  // Every key must be declared: zod would strip (or refuse) any other, unless the object is loose.
  let keys = 0;
  for (const key in obj) {
    // Senders usually write keys in schema order, so try the matching position first.
    if (keys >= n || fields[keys]!.key !== key) {
      let i = 0;
      while (i < n && fields[i]!.key !== key) i++;
      if (i === n) {
        if (plan.loose && key !== '__proto__') continue;
        return false;
      }
    }
    keys++;
  }
  let present = 0;
  for (let i = 0; i < n; i++) {
    const f = fields[i]!;
    const v = obj[f.key];
    if (v === undefined) {
      // Absent and optional: zod leaves it absent. Present but undefined: let zod decide.
      if (f.optional && !(f.key in obj)) continue;
      return false;
    }
    if (!acceptValue(f, v)) return false;
    present++;
  }
  // Each declared key counted above is distinct and one of the `present` fields.
  return keys === present;
}

/** Unicode code points, as zod's util.codePointLength counts them (a lone surrogate is one). */
function codePoints(s: string): number {
  const units = s.length;
  let count = units;
  for (let i = 0; i < units - 1; i++) {
    if ((s.charCodeAt(i) & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      count--;
      i++;
    }
  }
  return count;
}
