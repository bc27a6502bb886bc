/** The dashboard's pure parts: state classes, the node model and filters, console text and keys, the selection, role gates, topics, grid layout. */
import { describe, expect, test } from 'vitest';
import { ConsoleText } from '../../controller/http/dashboard/console-text.js';
import { keyBytes } from '../../controller/http/dashboard/console-keys.js';
import { counted } from '../../controller/http/dashboard/node-actions.js';
import { roleBlock } from '../../controller/http/dashboard/role-gate.js';
import { NodeSelection } from '../../controller/http/dashboard/selection.js';
import { historyCause } from '../../shared/history-text.js';
import { cellIndexAt, cellOrigin, gridLayout, LABELLED_MAX, visibleRows } from '../../controller/http/dashboard/grid-layout.js';
import { RequestError } from '../../controller/http/dashboard/link.js';
import { NO_FILTER, NodeModel, readNodeState } from '../../controller/http/dashboard/node-model.js';
import { classify } from '../../controller/http/dashboard/state-classes.js';
import { seededRandom } from '../../shared/random.js';
import { syntheticChanges, syntheticState, syntheticStates } from '../../controller/http/dashboard/synthetic.js';
import { NodeState } from '../../shared/protocol.js';
import { timeModelSelect } from './synthetic-figures.js';

const state = (node: string, over: Partial<NodeState> = {}): NodeState => ({ ...syntheticState(1, 1_795_600_000_000, () => 0.5), node, phase: 'run', liveness: 'alive', admin: 'online', reason: null, adminBy: null, faults: 0, ...over });

describe('classify', () => {
  test.each([
    [{ phase: 'run', liveness: 'alive', admin: 'online' }, 'run'],
    [{ phase: 'kernel', liveness: 'alive', admin: 'online' }, 'kernel'],
    [{ phase: 'run', liveness: 'suspect', admin: 'online' }, 'suspect'],
    [{ phase: 'init', liveness: 'dead', admin: 'online' }, 'dead'],
    [{ phase: 'off', liveness: 'dead', admin: 'online' }, 'off'],
    [{ phase: 'unknown', liveness: 'dead', admin: 'online' }, 'unknown'],
    [{ phase: 'run', liveness: 'dead', admin: 'offline' }, 'offline'],
  ] as const)('%o → %s', (s, key) => expect(classify(s).key).toBe(key));
});

describe('NodeModel', () => {
  test('names in natural order; removal by an empty retained payload', () => {
    const m = new NodeModel();
    for (const n of ['n10', 'n2', 'n1', 'rack2-n1']) expect(m.apply(n, state(n))).toBe(true);
    expect(m.apply('n2', state('n2', { phase: 'init' }))).toBe(false); // a change, not a new name
    expect(m.names()).toEqual(['n1', 'n2', 'n10', 'rack2-n1']);
    expect(m.apply('n2', null)).toBe(true);
    expect(m.names()).toEqual(['n1', 'n10', 'rack2-n1']);
  });

  test('filters by group, legend entry, faults and name; counts as muster summary does', () => {
    const m = new NodeModel();
    m.apply('n1', state('n1'));
    m.apply('n2', state('n2', { liveness: 'dead', faults: 2 }));
    m.apply('n3', state('n3', { admin: 'offline', reason: 'fan' }));
    m.apply('x1', state('x1', { phase: 'kernel' }));
    expect(m.select(NO_FILTER)).toEqual(['n1', 'n2', 'n3', 'x1']);
    expect(m.select({ ...NO_FILTER, members: new Set(['n2', 'x1']) })).toEqual(['n2', 'x1']);
    expect(m.select({ ...NO_FILTER, state: 'liveness:dead' })).toEqual(['n2']);
    expect(m.select({ ...NO_FILTER, state: 'phase:run' })).toEqual(['n1', 'n2', 'n3']);
    expect(m.select({ ...NO_FILTER, state: 'admin:offline' })).toEqual(['n3']);
    expect(m.select({ ...NO_FILTER, state: 'faults' })).toEqual(['n2']);
    expect(m.select({ ...NO_FILTER, text: ' N ' })).toEqual(['n1', 'n2', 'n3']);
    // Per axis, as `summary` counts: the dead node and the offline one are in phase run too.
    expect(m.counts(m.names())).toEqual({ states: { nodes: 4, phase: { run: 3, kernel: 1 }, liveness: { alive: 3, dead: 1 }, admin: { online: 3, offline: 1 }, held: {} }, faults: 1 });
    expect(m.counts(['n2', 'x1']).states.phase).toEqual({ run: 1, kernel: 1 });
  });

  test('10,000 nodes: the state filter and the counts agree and cover every node', () => {
    // The time is printed here and held to its target by `node bench/run.mjs --only dashboard`.
    const { names, dead, counts, ms } = timeModelSelect(10_000);
    console.log(`node model, 10,000 nodes: select + counts ${ms.toFixed(1)} ms`);
    expect(names).toHaveLength(10_000);
    expect(dead.length).toBe(counts.states.liveness.dead);
    expect(counts.states.nodes).toBe(10_000);
    for (const axis of ['phase', 'liveness', 'admin'] as const) expect(Object.values(counts.states[axis]).reduce((a, n) => a + n, 0)).toBe(10_000);
  });
});

describe('readNodeState', () => {
  test('accepts what the controller publishes, and an empty payload as removal', () => {
    const s = state('n1');
    expect(NodeState.parse(s)).toEqual(s); // the fixture is a real protocol state
    expect(readNodeState('n1', JSON.stringify(s))).toEqual(s);
    expect(readNodeState('n1', '')).toBeNull();
  });

  test('refuses with the reason', () => {
    expect(() => readNodeState('n1', '{')).toThrow('node n1: state is not JSON');
    expect(() => readNodeState('n1', JSON.stringify({ ...state('n1'), v: 2 }))).toThrow('protocol version 2');
    expect(() => readNodeState('n1', JSON.stringify(state('n9')))).toThrow('state names node n9');
    expect(() => readNodeState('n1', JSON.stringify({ ...state('n1'), phase: 'boot' }))).toThrow('phase "boot" is not one of');
  });
});

describe('ConsoleText', () => {
  test('lines from chunks, control sequences and carriage returns dropped, a prompt kept as partial', () => {
    const c = new ConsoleText(3);
    c.pushLines(['old 1']);
    c.push('\x1b[1;32m[  OK  ]\x1b[0m Started\r\nDebian GNU/Li');
    c.push('nux 12\r\n\x1b]0;title\x07n1 login: ');
    expect(c.lines()).toEqual(['[  OK  ] Started', 'Debian GNU/Linux 12', 'n1 login: ']);
    expect(() => new ConsoleText(0)).toThrow('maxLines must be a positive integer');
  });
});

describe('grid layout', () => {
  test('labelled cells for a few hundred nodes, small squares beyond', () => {
    expect(gridLayout(LABELLED_MAX, 1000).labelled).toBe(true);
    const l = gridLayout(10_000, 1000);
    expect(l.labelled).toBe(false);
    expect(l.cols).toBe(70); // (1000 - 16 + 2) / 14
    expect(l.rows).toBe(143);
  });

  test('hit-testing is the inverse of placement; gaps and the end hit nothing', () => {
    const l = gridLayout(100, 500);
    for (const i of [0, 7, 99]) {
      const o = cellOrigin(l, i);
      expect(cellIndexAt(l, 100, o.x + 1, o.y + 1)).toBe(i);
      expect(cellIndexAt(l, 100, o.x + l.cellW + 1, o.y + 1)).toBe(-1); // the gap after it
    }
    expect(cellIndexAt(l, 100, cellOrigin(l, 99).x + l.cellW + l.gap + 1, cellOrigin(l, 99).y + 1)).toBe(-1);
    expect(cellIndexAt(l, 100, 2, 2)).toBe(-1);
  });

  test('only the rows in the viewport are drawn', () => {
    const l = gridLayout(10_000, 1000);
    const [first, last] = visibleRows(l, 1400, 700);
    expect(first).toBe(99);
    expect(last).toBe(142);
    expect((last - first + 1) * l.cols).toBeLessThan(4000);
  });
});

test('synthetic data is seeded and valid', () => {
  const a = syntheticStates(50, 1, seededRandom(3));
  expect(syntheticStates(50, 1, seededRandom(3))).toEqual(a);
  for (const s of a) expect(NodeState.safeParse(s).success).toBe(true);
  expect(syntheticChanges(50, 10, 1, seededRandom(4)).every((s) => /^n000(0[1-9]|[1-4]\d|50)$/.test(s.node))).toBe(true);
  expect(() => syntheticStates(-1, 0, seededRandom(1))).toThrow('node count must be an integer');
});

test('an unknown verb is told apart from other refusals', () => {
  expect(new RequestError('hwlog-list', 'unknown request "hwlog-list"; known: assign, show').unknownVerb).toBe(true);
  expect(new RequestError('show', 'node n9 is not defined').unknownVerb).toBe(false);
});

describe('range selection', () => {
  const order = ['n1', 'n2', 'n3', 'n4', 'n5', 'n10'];

  test('Ctrl-click toggles, Shift-click extends from the last one picked over the shown order', () => {
    const sel = new NodeSelection();
    sel.extend('n3', order); // no anchor yet: n3 alone
    expect(sel.names(order)).toEqual(['n3']);
    sel.extend('n5', order);
    expect(sel.names(order)).toEqual(['n3', 'n4', 'n5']);
    sel.toggle('n4');
    sel.extend('n1', order.filter((n) => n !== 'n3')); // from n4 (the anchor) back to n1, in that order
    expect(sel.names(order)).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    sel.toggle('n10');
    expect(sel.size).toBe(6);
  });

  test('a noderange replaces it; names no longer known drop out; clear empties it', () => {
    const sel = new NodeSelection();
    sel.replace(['n10', 'n2', 'gone']);
    expect(sel.names(order)).toEqual(['n2', 'n10']);
    expect(sel.has('gone')).toBe(true);
    sel.clear();
    expect(sel.names(order)).toEqual([]);
    sel.extend('n2', order); // the anchor went with the clear
    expect(sel.names(order)).toEqual(['n2']);
  });

  test('a confirmation names the node, or the count', () => {
    expect(counted(['demo02'])).toBe('demo02');
    expect(counted(Array.from({ length: 8 }, (_, i) => `n${i}`))).toBe('8 nodes');
    expect(counted(Array.from({ length: 1200 }, (_, i) => `n${i}`))).toBe('1,200 nodes');
  });
});

describe('role gates', () => {
  test('operator actions: a viewer is told why; operator, admin and an unknown role (the controller decides) may try', () => {
    expect(roleBlock({ user: 'wall', role: 'viewer' }, 'operator', 'power')).toBe('power needs an operator login; wall is viewer');
    expect(roleBlock({ user: null, role: 'viewer' }, 'operator', 'power')).toBe('power needs an operator login; this page is viewer');
    expect(roleBlock({ user: 'bob', role: 'operator' }, 'operator', 'power')).toBeNull();
    expect(roleBlock({ user: 'alice', role: 'admin' }, 'operator', 'power')).toBeNull();
    expect(roleBlock({ user: null, role: null }, 'admin', 'assigning')).toBeNull();
    expect(roleBlock({ user: 'bob', role: 'operator' }, 'admin', 'assigning')).toBe('assigning needs an admin login; bob is operator');
  });
});

describe('console keys', () => {
  const key = (k: string, mods: Partial<{ ctrlKey: boolean; altKey: boolean; metaKey: boolean }> = {}) => keyBytes({ key: k, ctrlKey: false, altKey: false, metaKey: false, ...mods });
  test.each([
    ['a', 'a'],
    ['Ä', 'Ä'],
    ['😀', '😀'],
    [' ', ' '],
    ['Enter', '\r'],
    ['Backspace', '\x7f'],
    ['Escape', '\x1b'],
    ['ArrowUp', '\x1b[A'],
    ['Delete', '\x1b[3~'],
    ['F5', null],
    ['Shift', null],
  ])('%j → %j', (k, bytes) => expect(key(k)).toBe(bytes));

  test('Ctrl-letter is its control character; Alt and Meta are the browser’s', () => {
    expect(key('c', { ctrlKey: true })).toBe('\x03');
    expect(key('C', { ctrlKey: true })).toBe('\x03');
    expect(key(']', { ctrlKey: true })).toBe('\x1d');
    expect(key('1', { ctrlKey: true })).toBeNull();
    expect(key('x', { altKey: true })).toBeNull();
    expect(key('v', { metaKey: true })).toBeNull();
  });
});

test('a history line says who acted, and which attempt of a policy, as muster history prints it', () => {
  expect(historyCause({ cause: 'agent state' })).toBe('agent state');
  expect(historyCause({ cause: 'fan noise', by: 'bob' })).toBe('by bob: fan noise');
  expect(historyCause({ cause: 'dead in kernel', by: 'policy phase-deadline', attempt: 2 })).toBe('by policy phase-deadline, attempt 2: dead in kernel');
});
