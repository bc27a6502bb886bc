/**
 * The fuzz generator: random and mutated agent messages, each labelled with the fate the
 * controller must give it, so the test can check every refusal was counted:
 *  - `valid`: a well-formed message on the sender's own topic (counted in muster_messages_total);
 *  - `ingest`: passes the broker, refused by ingest (encoding, JSON, version, schema, identity);
 *  - `acl`: refused by the broker's authorisation (topic injection, oversized payload); the
 *    broker closes the connection.
 * Pure: the same seed gives the same messages.
 */
import { simFingerprint } from '../../controller/demo/sim-cluster.js';
import { MAX_PAYLOAD_BYTES } from '../../shared/protocol.js';

export type Fate = 'valid' | 'ingest' | 'acl';
export interface FuzzMessage {
  topic: string;
  payload: Buffer;
  fate: Fate;
  /** What kind of damage, for the failure message. */
  what: string;
}

type Rnd = () => number;
const pick = <T>(rnd: Rnd, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const int = (rnd: Rnd, lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
const hex = (rnd: Rnd, n: number) => Array.from({ length: n }, () => '0123456789abcdef'[int(rnd, 0, 15)]).join('');
const PHASES = ['build', 'kernel', 'init', 'run'] as const;
const KINDS = ['hello', 'state', 'heartbeat', 'status'] as const;
type Kind = (typeof KINDS)[number];

/** A valid message of `kind` from `agentId` (agent number `n` gives its fingerprint). */
function validBody(rnd: Rnd, kind: Kind, agentId: string, n: number): Record<string, unknown> {
  const bootId = hex(rnd, 32);
  switch (kind) {
    case 'hello':
      return { v: 1, agentId, bootId, agentVersion: `fuzz-${int(rnd, 0, 99)}`, phase: pick(rnd, PHASES), at: Date.now(), uptime: rnd() * 1e5, fingerprint: simFingerprint(n) };
    case 'state':
      return { v: 1, bootId, phase: pick(rnd, PHASES), at: Date.now() };
    case 'heartbeat':
      return { v: 1, bootId, seq: int(rnd, 0, 1e9), phase: pick(rnd, PHASES), uptime: rnd() * 1e5 };
    case 'status':
      return { v: 1, bootId, online: rnd() < 0.5 };
  }
}

/** Values of the wrong type for every required field (none is nullable at the top level). */
const WRONG = [null, true, [], {}, 'x', -1.5, { v: 1 }, '1', 1e400 /* Infinity → null in JSON */];
/** A top-level field whose value is replaced by one of WRONG must be refused: no field accepts all. */
function wrongType(rnd: Rnd, body: Record<string, unknown>): string {
  const keys = Object.keys(body);
  const key = pick(rnd, keys);
  const candidates = WRONG.filter((w) => typeof w !== typeof body[key] || (Array.isArray(w) !== Array.isArray(body[key])));
  const value = pick(rnd, candidates);
  body[key] = value;
  // A `v` of '1' is a version mismatch, everything else a schema error: both are refusals.
  return `field ${key} = ${JSON.stringify(value)}`;
}

function deepNesting(depth: number, open: '[' | '{'): string {
  return open === '[' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** A byte sequence that is never valid UTF-8 (lone continuation, overlong, surrogate, 0xFF). */
const BAD_UTF8 = [Buffer.from([0xff]), Buffer.from([0x80]), Buffer.from([0xc0, 0xaf]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xe2, 0x28, 0xa1]), Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80])];

/**
 * One message from the agent `agentId` (number `n`). `big` allows the rare 10 MB payload.
 */
export function fuzzMessage(rnd: Rnd, agentId: string, n: number, opts: { big: boolean }): FuzzMessage {
  const m = makeMessage(rnd, agentId, n, opts);
  // Whatever else is wrong with it, an oversized payload is refused by the broker first.
  return m.payload.length > MAX_PAYLOAD_BYTES ? { ...m, fate: 'acl' } : m;
}

function makeMessage(rnd: Rnd, agentId: string, n: number, opts: { big: boolean }): FuzzMessage {
  const kind = pick(rnd, KINDS);
  const own = `muster/agents/${agentId}/${kind}`;
  const body = validBody(rnd, kind, agentId, n);
  const json = (o: unknown) => Buffer.from(JSON.stringify(o));
  const r = rnd();
  if (r < 0.2) return { topic: own, payload: json(body), fate: 'valid', what: `valid ${kind}` };
  if (r < 0.24) {
    // Valid plus noise the schema strips: unknown keys, __proto__, constructor.
    const noisy = JSON.stringify({ ...body, extra: 'x'.repeat(int(rnd, 0, 100)), nested: { a: [1, 2] } }).replace(/^\{/, '{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}},');
    return { topic: own, payload: Buffer.from(noisy), fate: 'valid', what: `valid ${kind} with extra keys` };
  }
  if (r < 0.36) {
    const text = JSON.stringify(body);
    return { topic: own, payload: Buffer.from(text.slice(0, int(rnd, 0, text.length - 1))), fate: 'ingest', what: 'truncated JSON' };
  }
  if (r < 0.46) {
    const bytes = Buffer.alloc(int(rnd, 1, 400));
    for (let i = 0; i < bytes.length; i++) bytes[i] = int(rnd, 0, 255);
    return { topic: own, payload: bytes, fate: 'ingest', what: 'random bytes' };
  }
  if (r < 0.62) {
    const what = wrongType(rnd, body);
    return { topic: own, payload: json(body), fate: 'ingest', what: `wrong type: ${what}` };
  }
  if (r < 0.68) {
    // A huge string in a bounded field, still under the broker's size limit.
    const field = kind === 'hello' ? 'agentVersion' : 'bootId';
    body[field] = 'A'.repeat(int(rnd, 1000, MAX_PAYLOAD_BYTES - 1000));
    return { topic: own, payload: json(body), fate: 'ingest', what: `huge ${field}` };
  }
  if (r < 0.73) {
    const depth = int(rnd, 100, 40_000);
    const deep = deepNesting(depth, rnd() < 0.5 ? '[' : '{');
    const text = rnd() < 0.5 ? deep : JSON.stringify({ ...body, bootId: '@' }).replace('"@"', deep);
    return { topic: own, payload: Buffer.from(text), fate: 'ingest', what: `nesting depth ${depth}` };
  }
  if (r < 0.8) {
    // Invalid UTF-8 inside a string value of an otherwise valid message (in a hello, a free-text
    // field: decoded leniently, the bytes would become U+FFFD and pass the schema).
    const text = JSON.stringify(body);
    const field = kind === 'hello' ? '"agentVersion":"' : '"bootId":"';
    const at = text.indexOf(field) + field.length;
    return { topic: own, payload: Buffer.concat([Buffer.from(text.slice(0, at)), pick(rnd, BAD_UTF8), Buffer.from(text.slice(at))]), fate: 'ingest', what: 'invalid UTF-8' };
  }
  if (r < 0.84) {
    body.v = pick(rnd, [0, 2, 99, -1, 1.5]);
    return { topic: own, payload: json(body), fate: 'ingest', what: `version ${String(body.v)}` };
  }
  if (r < 0.87) {
    const hello = validBody(rnd, 'hello', `mac-${hex(rnd, 12)}`, n);
    return { topic: `muster/agents/${agentId}/hello`, payload: json(hello), fate: 'ingest', what: 'hello claiming another agent id' };
  }
  if (r < 0.875 && opts.big) {
    return { topic: own, payload: Buffer.alloc(10 * 1024 * 1024, 0x7b), fate: 'acl', what: '10 MB payload' };
  }
  if (r < 0.88) {
    return { topic: own, payload: Buffer.alloc(int(rnd, MAX_PAYLOAD_BYTES + 1, 2 * MAX_PAYLOAD_BYTES), 0x20), fate: 'acl', what: 'payload over the size limit' };
  }
  // Topic injection: anything but the sender's own four topics.
  const other = `mac-${hex(rnd, 12)}`;
  const topic = pick(rnd, [
    `muster/agents/${other}/${kind}`,
    `muster/nodes/n${int(rnd, 1, 999)}/state`,
    `muster/events/transition`,
    `muster/request/assign`,
    `muster/response/muster-cli-x`,
    `muster/consoles/n001/in`,
    `muster/agents/${agentId}/${kind}/extra`,
    `muster/agents/${agentId}/unknown`,
    `muster/agents/${agentId}`,
    `muster/agents/../${kind}`,
    `muster/agents/${agentId}\u0000/${kind}`,
    `muster/agents/${agentId}/${kind}\u202e`,
    `muster//agents/${agentId}/${kind}`,
    `/muster/agents/${agentId}/${kind}`,
    `$SYS/broker/uptime`,
    `other/${agentId}`,
    `muster/agents/${'x'.repeat(int(rnd, 200, 60_000))}/hello`,
    `muster/${'a/'.repeat(int(rnd, 5, 60))}x`,
  ]);
  return { topic, payload: json(body), fate: 'acl', what: `topic ${topic.slice(0, 80)}` };
}
