import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fastAcceptor, patternTest, whyNoFastAcceptor } from '../../shared/fast-accept.js';
import { AGENT_ACCEPTORS } from '../../controller/ingest.js';
import { AgentState, AgentStatus, Heartbeat, Hello, parseMessage } from '../../shared/protocol.js';
import { seededRandom } from '../../shared/random.js';
import { AGENT_PHASES } from '../../shared/wire.js';

// ---- value generation ----------------------------------------------------------------------------

type Rand = () => number;
type Gen = (r: Rand) => unknown;
type Plain = Record<string, unknown>;

const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, 0, xs.length - 1)]!;
const hex = (r: Rand, n: number) => Array.from({ length: n }, () => '0123456789abcdef'[int(r, 0, 15)]).join('');
const fromAlphabet = (r: Rand, alphabet: string, n: number) => Array.from({ length: n }, () => pick(r, [...alphabet])).join('');

const bootId: Gen = (r) => hex(r, pick(r, [8, 8, 16, 32, 64, int(r, 8, 64)]));
const safeUint: Gen = (r) => pick(r, [0, 1, int(r, 0, 1000), int(r, 0, 2 ** 31), Math.floor(r() * Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER]);
const epochMs: Gen = (r) => pick(r, [0, 1_700_000_000_000 + int(r, 0, 10 ** 9), Number.MAX_SAFE_INTEGER]);
const seconds: Gen = (r) => pick(r, [0, int(r, 0, 10 ** 6), r() * 10 ** 7, 1e-9, 1e300]);

/** Valid messages of a schema, one generator per field; the fields are written in schema order. */
const objectGen =
  (fields: Record<string, Gen>): Gen =>
  (r) =>
    Object.fromEntries(Object.entries(fields).map(([k, g]) => [k, g(r)]));

const heartbeat = objectGen({ v: () => 1, bootId, seq: safeUint, phase: (r) => pick(r, AGENT_PHASES), uptime: seconds });
const agentState = objectGen({ v: () => 1, bootId, phase: (r) => pick(r, AGENT_PHASES), at: epochMs });
const agentStatus = objectGen({ v: () => 1, bootId, online: (r) => r() < 0.5 });

/** Every feature the acceptor supports, in one schema. */
const Kitchen = z.object({
  v: z.literal([1, 2, 'x', null, true]),
  name: z.string().min(2).max(4), // code points, not UTF-16 units
  exact: z.string().length(3),
  id: z.string().regex(/^[a-z]+$/g).max(8), // a /g pattern: lastIndex must not leak between calls
  n: z.number().gt(-1).lt(10),
  i32: z.int32(),
  u: z.int().positive().max(100),
  f: z.number().finite().min(-1.5).optional(),
  b: z.boolean().nullable(),
  e: z.enum(['a', 'b']).nullish(),
  x: z.exactOptional(z.string()),
  inner: z.strictObject({ k: z.number().nonnegative(), s: z.string().nullable() }).nullable(),
  loose: z.looseObject({ q: z.boolean() }).optional(),
});
const unicode = ['é', '😀', 'ab', 'x', '\u0301', '中', '\ud83d', '\ude00'];
const kitchen: Gen = (r) => {
  const value: Plain = {
    v: pick(r, [1, 2, 'x', null, true]),
    name: Array.from({ length: int(r, 2, 4) }, () => pick(r, ['a', 'é', '😀', '中'])).join(''),
    exact: Array.from({ length: 3 }, () => pick(r, ['z', '😀'])).join(''),
    id: fromAlphabet(r, 'abcxyz', int(r, 1, 8)),
    n: pick(r, [-0.999, 0, 5, 9.999, r() * 10 - 0.5]),
    i32: pick(r, [-2147483648, 0, 2147483647, int(r, -1000, 1000)]),
    u: int(r, 1, 100),
  };
  if (r() < 0.7) value.f = pick(r, [-1.5, 0, 1e300, r()]);
  value.b = pick(r, [true, false, null]);
  if (r() < 0.7) value.e = pick(r, ['a', 'b', null]);
  if (r() < 0.5) value.x = pick(r, ['', 'anything', '😀']);
  value.inner = r() < 0.2 ? null : { k: pick(r, [0, 3.5, 1e9]), s: pick(r, ['', 's', null]) };
  if (r() < 0.5) value.loose = { q: r() < 0.5 };
  return value;
};

// ---- mutations -----------------------------------------------------------------------------------

class Box {
  constructor(readonly inner: unknown) {}
}
const NUMBERS = [
  0, -0, 1, -1, 1.5, -1.5, 0.5, 2, 9.999, 10, 100, 101, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32 - 1, 2 ** 32,
  Number.MAX_SAFE_INTEGER, 2 ** 53, -Number.MAX_SAFE_INTEGER, -(2 ** 53), 1e21, 1e308, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE,
  -Number.MIN_VALUE, Number.EPSILON, Infinity, -Infinity, NaN, 1_700_000_000_000, 1_700_000_000_000.5,
];
const OTHERS = [
  null, undefined, true, false, '', '1', '0', 'true', 'null', 'run', 'RUN', 'online', [], [1], ['run'], {}, { v: 1 }, Object.create(null),
  new Date(0), new Box(1), 1n, Symbol('s'), () => 1, new String('run'), new Number(1),
];
const stringVariants = (s: string): string[] => {
  const out = [s.slice(1), s.slice(0, -1), s + s.charAt(0), `${s}a`, s.toUpperCase(), `${s}\n`, `\n${s}`, ` ${s}`, `${s}\u0000`, `é${s.slice(1)}`, `${s}😀`, `\ud83d${s}`, `${s}\ude00`];
  for (const n of [0, 1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 65, 80, 81, 257]) out.push('a'.repeat(n), '0'.repeat(n), '😀'.repeat(n));
  for (const u of unicode) out.push(u, u.repeat(3), `${s.slice(0, -1)}${u}`);
  out.push('uuid-x', 'mac-525400000001', 'serial-' + 'a'.repeat(81), 'A'.repeat(8), 'g'.repeat(8), '0123456789ABCDEF');
  return out;
};
const numberVariants = (n: number): number[] => [n + 1, n - 1, -n, n + 0.5, n * 2 ** 20, n / 3, ...NUMBERS];

function clone(x: unknown): unknown {
  if (typeof x !== 'object' || x === null || Object.getPrototypeOf(x) !== Object.prototype) return x;
  const out: Plain = {};
  for (const k of Object.keys(x)) out[k] = clone((x as Plain)[k]);
  return out;
}

/** Paths to every field, nested plain objects included. */
function paths(x: unknown, prefix: string[] = []): string[][] {
  if (typeof x !== 'object' || x === null || Object.getPrototypeOf(x) !== Object.prototype) return [];
  return Object.keys(x).flatMap((k) => [[...prefix, k], ...paths((x as Plain)[k], [...prefix, k])]);
}
function parentOf(root: unknown, path: string[]): Plain {
  let node = root as Plain;
  for (const k of path.slice(0, -1)) node = node[k] as Plain;
  return node;
}
function replaced(base: unknown, path: string[], value: unknown): unknown {
  const copy = clone(base);
  parentOf(copy, path)[path.at(-1)!] = value;
  return copy;
}
/** The key kept but made non-enumerable: zod reads it (`key in input`), for-in does not see it. */
function hidden(base: unknown, path: string[], value: unknown): unknown {
  const copy = clone(base);
  Object.defineProperty(parentOf(copy, path), path.at(-1)!, { value, enumerable: false });
  return copy;
}
function deleted(base: unknown, path: string[]): unknown {
  const copy = clone(base);
  delete parentOf(copy, path)[path.at(-1)!];
  return copy;
}
/** Ways to dress the same fields in an object that is not a plain one, or carries more. */
function disguises(x: Plain): unknown[] {
  const json = JSON.stringify(x);
  const withProto = json === '{}' ? '{"__proto__":{"v":1}}' : `{"__proto__":{"v":1},${json.slice(1)}`;
  const inheritedExtra = Object.assign(Object.create({ extra: 1 }) as Plain, x);
  const onlyInherited = Object.create(x) as Plain;
  const nullProto = Object.assign(Object.create(null) as Plain, x);
  const deepProto = Object.assign(Object.create(Object.create(Object.prototype) as object) as Plain, x);
  return [
    JSON.parse(withProto),
    JSON.parse(json.replace(/^\{/, '{"__proto__":null,')),
    nullProto,
    inheritedExtra,
    onlyInherited,
    deepProto,
    new Box(x),
    Object.assign(new Box(0), x),
    Object.assign([], x),
    [x],
    Object.freeze(clone(x)),
    { ...x, extra: 1 },
    { ...x, constructor: 1 },
    { ...x, toString: 'x' },
    { ...x, hasOwnProperty: null },
    { ...x, '': 1 },
    { ...x, 0: 1 },
    json,
  ];
}

/** Mutants of one valid value: `full` tries every replacement at every path, else a random few. */
function mutants(r: Rand, base: Plain, full: boolean): unknown[] {
  const out: unknown[] = [];
  for (const path of paths(base)) {
    const leaf = parentOf(base, path)[path.at(-1)!];
    const pool: unknown[] = [...OTHERS, ...NUMBERS];
    if (typeof leaf === 'string') pool.push(...stringVariants(leaf));
    if (typeof leaf === 'number') pool.push(...numberVariants(leaf));
    if (typeof leaf === 'object' && leaf !== null) pool.push(...disguises(leaf as Plain));
    const chosen = full ? pool : Array.from({ length: 6 }, () => pick(r, pool));
    for (const v of chosen) out.push(replaced(base, path, v));
    out.push(deleted(base, path), hidden(base, path, leaf), hidden(base, path, undefined));
  }
  for (const d of disguises(base)) if (full || r() < 0.3) out.push(d);
  out.push(null, undefined, [], base.v, JSON.stringify(base));
  return out;
}

// ---- the contract --------------------------------------------------------------------------------

/**
 * accept(x) ⇒ zod accepts x and returns a deep-equal copy. For a value that came out of JSON.parse
 * (the ingest's case) also the converse: zod returning x's equal ⇒ accept(x), so no false negative.
 */
function check(schema: z.ZodType, accept: (value: unknown) => boolean, x: unknown, fromJson: boolean): boolean {
  const accepted = accept(x);
  const r = schema.safeParse(x);
  const same = r.success && isDeepStrictEqual(r.data, x);
  if (accepted && !same) assert.fail(`accepted but zod ${r.success ? `returns ${JSON.stringify(r.data)}` : `refuses: ${r.error.message}`} for ${String(JSON.stringify(x))}`);
  if (fromJson && same && !accepted) assert.fail(`refused a JSON value that zod returns unchanged: ${JSON.stringify(x)}`);
  return accepted;
}
function viaJson(x: unknown): { ok: true; value: unknown } | { ok: false } {
  try {
    const text = JSON.stringify(x);
    return text === undefined ? { ok: false } : { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false }; // a bigint
  }
}

function fuzz(name: string, schema: z.ZodType, gen: Gen, seed: number, bases = 150) {
  const accept = fastAcceptor(schema);
  it(`${name}: accepts every valid message and keeps the contract on ${bases} bases and their mutants (seed ${seed})`, () => {
    expect(whyNoFastAcceptor(schema)).toBeNull();
    const r = seededRandom(seed);
    let accepted = 0;
    let refused = 0;
    for (let b = 0; b < bases; b++) {
      const base = gen(r) as Plain;
      expect(schema.safeParse(base).success, JSON.stringify(base)).toBe(true); // the generator makes valid ones
      expect(accept!(base), JSON.stringify(base)).toBe(true);
      expect(accept!(JSON.parse(JSON.stringify(base)))).toBe(true);
      for (const m of mutants(r, base, b < 4)) {
        if (check(schema, accept!, m, false)) accepted++;
        else refused++;
        const j = viaJson(m);
        if (j.ok) check(schema, accept!, j.value, true);
      }
    }
    // Neither side is vacuous: mutants of both kinds were seen.
    expect(accepted).toBeGreaterThan(bases);
    expect(refused).toBeGreaterThan(bases * 10);
  });
}

describe('fastAcceptor on the agent messages', () => {
  it('gives Heartbeat, AgentState and AgentStatus an acceptor, and tells why Hello has none', () => {
    expect(AGENT_ACCEPTORS.heartbeat).toBeTypeOf('function');
    expect(AGENT_ACCEPTORS.state).toBeTypeOf('function');
    expect(AGENT_ACCEPTORS.status).toBeTypeOf('function');
    expect(AGENT_ACCEPTORS.hello).toBeNull();
    expect(whyNoFastAcceptor(Hello)).toMatch(/^fingerprint\.nics: .*array/);
    expect(whyNoFastAcceptor(Heartbeat)).toBeNull();
  });

  fuzz('Heartbeat', Heartbeat, heartbeat, 0x6b1e);
  fuzz('AgentState', AgentState, agentState, 0x57a7e);
  fuzz('AgentStatus', AgentStatus, agentStatus, 0x5a7a5);
  fuzz('every supported feature', Kitchen, kitchen, 0xc0ffee, 60);

  it('refuses the classic near-misses of a heartbeat', () => {
    const accept = AGENT_ACCEPTORS.heartbeat!;
    const hb = { v: 1, bootId: '0123456789abcdef', seq: 7, phase: 'run', uptime: 12.5 };
    expect(accept(hb)).toBe(true);
    expect(accept({ ...hb, uptime: -0 })).toBe(true); // zod passes -0 through: nonnegative is >= 0
    for (const bad of [
      { ...hb, v: 2 },
      { ...hb, v: '1' },
      { ...hb, bootId: '0123456' }, // 7 hex digits
      { ...hb, bootId: 'a'.repeat(65) },
      { ...hb, bootId: '0123456789ABCDEF' },
      { ...hb, bootId: '0123456789abcdef\n' },
      { ...hb, seq: -1 },
      { ...hb, seq: 1.5 },
      { ...hb, seq: 2 ** 53 },
      { ...hb, seq: NaN },
      { ...hb, uptime: Infinity },
      { ...hb, uptime: NaN },
      { ...hb, phase: 'off' },
      { ...hb, extra: true },
      { v: 1, bootId: hb.bootId, seq: 7, phase: 'run' },
      JSON.parse(`{"__proto__":{},${JSON.stringify(hb).slice(1)}`),
      Object.assign(Object.create(null), hb),
    ]) {
      expect(accept(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it('counts string lengths in code points, as zod does', () => {
    const accept = fastAcceptor(z.object({ s: z.string().min(2).max(3) }))!;
    const cases: Array<[string, boolean]> = [
      ['😀', false], // 2 units, 1 code point
      ['😀😀', true],
      ['😀😀😀', true], // 6 units, 3 code points
      ['😀😀😀😀', false],
      ['\ud83d\ud83d\ud83d', true], // lone surrogates count one each
      ['ab\ude00', true],
      ['a\u0301', true], // a combining mark is a code point of its own
    ];
    for (const [s, ok] of cases) {
      expect(accept({ s }), s).toBe(ok);
      expect(z.object({ s: z.string().min(2).max(3) }).safeParse({ s }).success, s).toBe(ok);
    }
  });

  it('is derived from the schema: a stricter or wider schema gives a different acceptor', () => {
    const hb = { v: 1, bootId: '0123456789abcdef', seq: 7, phase: 'run', uptime: 12.5 };
    expect(fastAcceptor(Heartbeat.extend({ seq: z.number().int().max(5) }))!(hb)).toBe(false);
    expect(fastAcceptor(Heartbeat.extend({ note: z.string().optional() }))!(hb)).toBe(true);
    expect(fastAcceptor(Heartbeat.extend({ note: z.string().optional() }))!({ ...hb, note: 'x' })).toBe(true);
    expect(fastAcceptor(Heartbeat.omit({ uptime: true }))!(hb)).toBe(false);
  });

  it('lets parseMessage skip zod when the acceptor says yes, and still explains a refusal', () => {
    const hb = { v: 1, bootId: '0123456789abcdef', seq: 7, phase: 'run', uptime: 12.5 };
    const fast = parseMessage(Heartbeat, hb, AGENT_ACCEPTORS.heartbeat);
    expect(fast).toEqual({ ok: true, value: hb });
    if (fast.ok) expect(fast.value).toBe(hb); // the value itself, not zod's copy
    expect(parseMessage(Heartbeat, { ...hb, seq: -1 }, AGENT_ACCEPTORS.heartbeat)).toEqual({ ok: false, error: expect.stringMatching(/^seq: /) });
    expect(parseMessage(Heartbeat, { ...hb, extra: 1 }, AGENT_ACCEPTORS.heartbeat)).toEqual({ ok: true, value: hb }); // zod strips it
  });
});

describe('fastAcceptor refuses what it does not fully understand', () => {
  const str = z.string();
  const unsupported: Record<string, z.ZodType> = {
    default: z.object({ a: z.number().default(1) }),
    prefault: z.object({ a: z.number().prefault(1) }),
    transform: z.object({ a: z.string().transform((s) => s.length) }),
    'transform at the root': z.object({ a: str }).transform((o) => o),
    preprocess: z.object({ a: z.preprocess((x) => x, z.number()) }),
    pipe: z.object({ a: str.pipe(z.string()) }),
    refine: z.object({ a: z.number().refine((n) => n > 0) }),
    'refine on an object': z.object({ a: str }).refine(() => true),
    'refine on an optional': z.object({ a: str.optional().refine(() => true) }),
    overwrite: z.object({ a: str.trim() }),
    coerce: z.object({ a: z.coerce.number() }),
    union: z.union([z.string(), z.number()]),
    'union in a field': z.object({ a: z.union([z.string(), z.number()]) }),
    array: z.object({ a: z.array(z.string()) }),
    record: z.record(z.string(), z.string()),
    'string format': z.object({ a: z.email() }),
    'string format as a check': z.object({ a: str.check(z.email()) }),
    includes: z.object({ a: str.includes('x') }),
    startsWith: z.object({ a: str.startsWith('x') }),
    lowercase: z.object({ a: str.lowercase() }),
    multipleOf: z.object({ a: z.number().multipleOf(2) }),
    bigint: z.object({ a: z.bigint() }),
    'numeric enum': z.object({ a: z.enum({ A: 1, B: 2 }) }),
    'literal undefined': z.object({ a: z.literal(undefined) }),
    'literal bigint': z.object({ a: z.literal(1n) }),
    catch: z.object({ a: z.number().catch(0) }),
    readonly: z.object({ a: str }).readonly(),
    'catchall string': z.object({ a: str }).catchall(z.string()),
    unknown: z.object({ a: z.unknown() }),
    any: z.object({ a: z.any() }),
    lazy: z.object({ a: z.lazy(() => z.string()) }),
    date: z.object({ a: z.date() }),
    'nested default': z.object({ a: z.object({ b: z.object({ c: z.string().default('') }) }) }),
    '__proto__ key': z.object({ ['__proto__']: z.string() }),
  };
  for (const [name, schema] of Object.entries(unsupported)) {
    it(`null for ${name}`, () => {
      expect(fastAcceptor(schema)).toBeNull();
      expect(whyNoFastAcceptor(schema)).toEqual(expect.any(String));
    });
  }

  it('null for a recursive schema', () => {
    const Node = z.object({
      name: z.string(),
      get child() {
        return Node.nullable();
      },
    });
    expect(whyNoFastAcceptor(Node)).toMatch(/recursive/);
  });

  it('builds one for the supported building blocks', () => {
    for (const schema of [z.strictObject({ a: str }), z.looseObject({ a: str }), z.object({ a: z.int() }), z.object({ a: z.uint32().nullish() }), z.object({ a: z.exactOptional(str) }), z.object({})]) {
      expect(whyNoFastAcceptor(schema)).toBeNull();
    }
  });
});

describe('patternTest', () => {
  // Half the strings from characters most classes allow, so the lengths decide as often as the characters.
  const alphabets = ['abcdef0189', 'abcdefxyzABCZ0189_.:-/+ #ü\u{1F600}'];
  const patterns = [
    /^[0-9a-f]{8,64}$/, // BOOT_ID: a character table
    /^[A-Za-z0-9_.-]{1,64}$/,
    /^[a-z]{3}$/,
    /^[0-9:]{2,}$/,
    /^[-a]+$/,
    /^[a-]*$/,
    /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/, // two classes: keeps its RegExp
    /^[^/]{1,4}$/, // negated
    /^[a-z]{2,5}$/i, // flags
    /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/,
  ];
  it('answers what the RegExp answers, on 2,000 strings per pattern', () => {
    const r = seededRandom(11);
    for (const pattern of patterns) {
      const test = patternTest(pattern);
      let matched = 0;
      for (let i = 0; i < 2000; i++) {
        const s = fromAlphabet(r, alphabets[i % 2]!, int(r, 0, i % 3 === 0 ? 70 : 10));
        expect(test(s), `${pattern} on ${JSON.stringify(s)}`).toBe(pattern.test(s));
        if (test(s)) matched++;
      }
      if (pattern.source !== '^([0-9a-f]{2}:){5}[0-9a-f]{2}$') expect(matched, `${pattern} matched some`).toBeGreaterThan(5);
      for (const s of ['', 'deadbeef', 'DEADBEEF', 'abc', 'a-a-', '12:34', 'x'.repeat(63), 'aa:bb:cc:dd:ee:ff']) expect(test(s), `${pattern} on ${s}`).toBe(pattern.test(s));
    }
  });
  it('keeps a /g pattern\'s answer stable from call to call', () => {
    const test = patternTest(/^[a-z]+$/g);
    expect([test('abc'), test('abc'), test('abc')]).toEqual([true, true, true]);
  });
});
