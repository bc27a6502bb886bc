/// <reference lib="dom" />
/**
 * The dashboard page: wires the live link, the node model, the grid, the legend and filters, the
 * range selection and its actions, the node page and the discovered list. State messages only
 * mark things dirty; one requestAnimationFrame applies them, so a burst of 10,000 retained states
 * costs a few frames.
 */
import { DegradedBanner } from './degraded-banner.js';
import { DiscoveredPanel } from './discovered-panel.js';
import { byId, h } from './dom.js';
import { Link, type DashboardConfig, type LinkStatus } from './link.js';
import { LoginBox } from './login.js';
import { NodeModel, NO_FILTER, readNodeState, type NodeFilter } from './node-model.js';
import { NodeGrid } from './grid.js';
import { NodePanel } from './node-panel.js';
import { NodeActions } from './node-actions.js';
import type { Identity } from './role-gate.js';
import { NodeSelection } from './selection.js';
import { expandNodeRange } from '../../../shared/noderange.js';
import { compressNodeRange } from '../../../shared/noderange-compress.js';
import { classify, stateClass } from './state-classes.js';
import { COUNTED, type CountedAxis } from '../../../shared/state-counts.js';
import { seededRandom } from '../../../shared/random.js';
import { syntheticChanges, syntheticStates } from './synthetic.js';

/** What tests and benchmarks read from the running page (`window.musterDashboard`). */
export interface DashboardProbe {
  cellRect(node: string): { x: number; y: number; width: number; height: number } | null;
  classOf(node: string): string | null;
  shown(): number;
  /** Resolves after the next drawn frame with how long that frame's work took (ms). */
  nextFrame(): Promise<number>;
  perf: { frames: number; lastFrameMs: number; maxFrameMs: number; synthetic?: SyntheticPerf };
}
interface SyntheticPerf {
  nodes: number;
  /** Parse + apply every state and draw the first frame. */
  firstRenderMs: number;
  /** `changes` random states changed: parse + apply + the frame that shows them. */
  update(changes: number): Promise<{ changes: number; totalMs: number; frameMs: number }>;
}

declare global {
  interface Window {
    musterDashboard: DashboardProbe;
  }
}

const model = new NodeModel();
const decoder = new TextDecoder();
let filter: NodeFilter = NO_FILTER;
let groups: Record<string, string[]> = {};
let base: readonly string[] = [];
let shown: readonly string[] = [];
const dirty = { selection: true, states: true };
let frameRequested = false;
const frameWaiters: Array<(ms: number) => void> = [];
const perf: DashboardProbe['perf'] = { frames: 0, lastFrameMs: 0, maxFrameMs: 0 };

const scroller = byId<HTMLDivElement>('grid-scroll');
const grid = new NodeGrid(scroller, byId('grid-spacer'), byId<HTMLCanvasElement>('grid'), (node) => {
  const s = model.get(node);
  return { colour: s ? classify(s).colour : '#30363d', faults: !!s && s.faults > 0 };
}, schedule);
const legendCounts = new Map<string, HTMLElement>();
const selection = new NodeSelection();
grid.setMarked(selection);

function schedule(): void {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(frame);
}

function frame(): void {
  frameRequested = false;
  const t0 = performance.now();
  if (dirty.selection || (dirty.states && filter.state)) {
    base = model.select({ ...filter, state: null });
    const next = filter.state ? model.select(filter) : base;
    if (!sameNames(next, shown)) {
      shown = next;
      grid.setNames(shown);
    }
    byId('shown').textContent = `${shown.length.toLocaleString('en')} of ${model.size.toLocaleString('en')} nodes`;
  }
  if (dirty.selection || dirty.states) updateLegend();
  if (dirty.selection && selection.size) showSelection();
  dirty.selection = dirty.states = false;
  grid.draw();
  const ms = performance.now() - t0;
  perf.frames++;
  perf.lastFrameMs = ms;
  perf.maxFrameMs = Math.max(perf.maxFrameMs, ms);
  for (const w of frameWaiters.splice(0)) w(ms);
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

function applyState(node: string, text: string): void {
  try {
    if (model.apply(node, readNodeState(node, text))) {
      dirty.selection = true;
      groupsSoon();
    }
    dirty.states = true;
    nodePanel?.stateChanged(node);
  } catch (err) {
    console.warn((err as Error).message);
  }
  schedule();
}

// ---- legend and filters -------------------------------------------------------------------------

/**
 * The legend: the columns of `muster summary` (nodes per phase, per liveness, admin offline),
 * counted by its function, and the nodes with open hwlog issues. A swatch shows the colour a cell
 * takes when that value decides it.
 */
function buildLegend(): void {
  const legend = byId('legend');
  const entries = [
    ...Object.entries(COUNTED).flatMap(([axis, values]) =>
      values.map((value, i) => {
        const c = stateClass(value);
        return { key: `${axis}:${value}`, axis: i === 0 ? axis : null, label: axis === 'admin' ? `admin ${value}` : value, colour: c?.colour ?? null, meaning: `${axis} ${value}, as muster summary counts it${c ? `; a cell is this colour for: ${c.meaning}` : ''}` };
      }),
    ),
    { key: 'faults', axis: null, label: 'open hwlog issues', colour: '#ff3b30', meaning: 'red corner: the node has open hardware-log issues' },
  ];
  for (const e of entries) {
    const count = h('span', { class: 'count' }, '0');
    legendCounts.set(e.key, count);
    if (e.axis) legend.append(h('span', { class: 'legend-axis muted' }, e.axis));
    const swatch = h('span', { class: e.colour ? 'swatch' : 'swatch hollow', style: e.colour ? `background:${e.colour}` : undefined });
    const item = h('button', { class: `legend-item${e.key === 'faults' ? ' faults' : ''}`, 'data-state': e.key, title: `${e.meaning} — click to show only these` }, swatch, e.label, count);
    item.addEventListener('click', () => setStateFilter(filter.state === e.key ? null : e.key));
    legend.append(item);
    byId<HTMLSelectElement>('filter-state').append(h('option', { value: e.key }, e.key === 'faults' ? e.label : e.key.replace(':', ' ')));
  }
}

function updateLegend(): void {
  const { states, faults } = model.counts(base);
  for (const [key, el] of legendCounts) {
    const [axis, value] = key.split(':') as [CountedAxis, string];
    const text = (key === 'faults' ? faults : (states[axis][value] ?? 0)).toLocaleString('en');
    if (el.textContent !== text) el.textContent = text;
    el.parentElement!.classList.toggle('active', filter.state === key);
  }
}

function setStateFilter(state: string | null): void {
  filter = { ...filter, state };
  byId<HTMLSelectElement>('filter-state').value = state ?? '';
  dirty.selection = true;
  schedule();
}

function wireFilters(): void {
  const group = byId<HTMLSelectElement>('filter-group');
  group.addEventListener('change', () => {
    filter = { ...filter, members: group.value ? new Set(groups[group.value] ?? []) : null };
    dirty.selection = true;
    schedule();
  });
  byId<HTMLSelectElement>('filter-state').addEventListener('change', (e) => setStateFilter((e.target as HTMLSelectElement).value || null));
  const text = byId<HTMLInputElement>('filter-text');
  text.addEventListener('input', () => {
    filter = { ...filter, text: text.value };
    dirty.selection = true;
    schedule();
  });
  text.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && model.get(text.value.trim())) location.hash = `node=${text.value.trim()}`;
  });
}

function showGroups(next: Record<string, string[]>): void {
  groups = next;
  const select = byId<HTMLSelectElement>('filter-group');
  const chosen = select.value;
  select.replaceChildren(h('option', { value: '' }, 'all groups'), ...Object.keys(groups).sort().map((g) => h('option', { value: g }, `${g} (${groups[g]!.length})`)));
  select.value = groups[chosen] ? chosen : '';
  if (filter.members) {
    filter = { ...filter, members: select.value ? new Set(groups[select.value]) : null };
    dirty.selection = true;
    schedule();
  }
}

// ---- range selection ---------------------------------------------------------------------------------

let selectionActions: NodeActions | null = null;

function selectionChanged(): void {
  showSelection();
  schedule();
}

/** The selection bar: how many and which, of the nodes that still exist. */
function showSelection(): void {
  const names = selection.names(model.names());
  byId('selection').hidden = names.length === 0 || !selectionActions;
  byId('selection-count').textContent = `${names.length.toLocaleString('en')} selected`;
  byId('selection-range').textContent = names.length ? compressNodeRange(names) : '';
}

/** The noderange box: the project's parser over the nodes and groups this page knows; its errors name the column. */
function selectRange(text: string): void {
  const error = byId('select-error');
  error.textContent = '';
  if (!text.trim()) selection.clear();
  else {
    try {
      selection.replace(expandNodeRange(text, { nodes: model.names(), groups }));
    } catch (err) {
      error.textContent = (err as Error).message;
      return;
    }
  }
  selectionChanged();
}

function wireSelection(): void {
  const range = byId<HTMLInputElement>('select-range');
  range.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') selectRange(range.value);
  });
  range.addEventListener('input', () => range.value === '' && selectRange(''));
  byId('select-shown').addEventListener('click', () => {
    selection.replace(shown);
    selectionChanged();
  });
  byId('selection-clear').addEventListener('click', () => {
    range.value = '';
    selectRange('');
  });
}

// ---- live mode -----------------------------------------------------------------------------------

let link: Link | null = null;
let nodePanel: NodePanel | null = null;
let discovered: DiscoveredPanel | null = null;
let banner: DegradedBanner | null = null;
let groupsTimer = 0;

/** Group membership changes with definitions: reload it shortly after nodes come or go. */
function groupsSoon(): void {
  if (!link) return;
  window.clearTimeout(groupsTimer);
  groupsTimer = window.setTimeout(() => void loadGroups(), 1000);
}

async function loadGroups(): Promise<void> {
  try {
    showGroups(await link!.request('groups', {}));
  } catch (err) {
    console.warn(`groups: ${(err as Error).message}`);
  }
}

function showStatus(s: LinkStatus | 'synthetic' | 'no-broker', detail = ''): void {
  const el = byId('status');
  el.className = `status ${s}`;
  el.textContent = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', offline: 'offline', synthetic: 'synthetic data', 'no-broker': 'no live feed' }[s] + (detail ? `: ${detail}` : '');
}

async function startLive(config: DashboardConfig): Promise<void> {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const url = config.wsUrl ?? (config.wsPort === null ? null : `${scheme}://${location.hostname}:${config.wsPort}`);
  if (url === null) return showStatus('no-broker', config.wsProblem ?? 'the controller has no MQTT WebSocket listener');
  link = new Link(config, url, (s, detail) => {
    showStatus(s, detail);
    // Events missed while away: ask again on every (re)connect.
    if (s === 'live') void banner?.refresh();
  });
  const l = link;
  banner = new DegradedBanner(byId('degraded'), l);
  nodePanel = new NodePanel(byId('node-panel'), l, (n) => model.get(n), () => route(''));
  discovered = new DiscoveredPanel(byId('discovered-panel'), l, (n) => (byId('discovered-count').textContent = n ? String(n) : ''), (node) => route(`node=${node}`));
  selectionActions = new NodeActions(l, () => selection.names(model.names()), 'selection-actions', { user: null, role: null });
  byId('selection').append(selectionActions.root);
  byId('select-range').hidden = byId('select-shown').hidden = false;
  const login = new LoginBox(l, (id: Identity) => {
    discovered!.setIdentity(id);
    nodePanel!.setIdentity(id);
    selectionActions!.setIdentity(id);
  });
  l.listen(l.topic('nodes', '+', 'state'), (topic, payload) => applyState(topic.split('/').at(-2)!, decoder.decode(payload)));
  l.listen(l.topic('events', '+'), (topic, payload) => {
    const kind = topic.split('/').at(-1)!;
    let node: string | null = null;
    try {
      node = (JSON.parse(decoder.decode(payload)) as { node?: string | null }).node ?? null;
    } catch {
      return;
    }
    if (kind === 'degraded') void banner!.refresh();
    if (kind === 'discovered' || kind === 'assigned') discovered!.refresh();
    if (kind === 'assigned') groupsSoon();
    nodePanel!.event(kind, node);
  });
  void loadGroups();
  void login.refresh();
  discovered.refresh();
  window.addEventListener('hashchange', () => route(location.hash.slice(1), false));
  route(location.hash.slice(1), false);
}

/** `#node=NAME` opens the node page, `#discovered` the discovered agents; empty shows only the grid. */
function route(hash: string, push = true): void {
  if (push && location.hash.slice(1) !== hash) return void (location.hash = hash); // hashchange calls back
  const node = hash.startsWith('node=') ? decodeURIComponent(hash.slice(5)) : null;
  const panel = byId('discovered-panel');
  panel.hidden = hash !== 'discovered';
  byId('tab-discovered').classList.toggle('active', hash === 'discovered');
  if (node) {
    nodePanel?.open(node);
    grid.reveal(node);
  } else if (nodePanel?.current) nodePanel.close(false);
  grid.select(node);
}

// ---- synthetic mode (the 10,000-node check) -----------------------------------------------------------

async function startSynthetic(count: number): Promise<void> {
  showStatus('synthetic', `${count.toLocaleString('en')} nodes`);
  const rand = seededRandom(1);
  const texts = syntheticStates(count, Date.now(), rand).map((s) => [s.node, JSON.stringify(s)] as const);
  const t0 = performance.now();
  for (const [node, text] of texts) applyState(node, text);
  await probe.nextFrame();
  perf.synthetic = {
    nodes: count,
    firstRenderMs: performance.now() - t0,
    async update(changes) {
      const batch = syntheticChanges(count, changes, Date.now(), rand).map((s) => [s.node, JSON.stringify(s)] as const);
      const t = performance.now();
      for (const [node, text] of batch) applyState(node, text);
      const frameMs = await probe.nextFrame();
      return { changes, totalMs: performance.now() - t, frameMs };
    },
  };
}

// ---- start ---------------------------------------------------------------------------------------------

const probe: DashboardProbe = {
  cellRect: (node) => grid.cellRect(node),
  classOf: (node) => {
    const s = model.get(node);
    return s ? classify(s).key : null;
  },
  shown: () => shown.length,
  nextFrame: () =>
    new Promise((resolve) => {
      frameWaiters.push(resolve);
      schedule();
    }),
  perf,
};
window.musterDashboard = probe;

const tooltip = byId('tooltip');
const canvas = byId<HTMLCanvasElement>('grid');
canvas.addEventListener('mousemove', (e) => {
  const node = grid.nodeAt(e.clientX, e.clientY);
  const s = node ? model.get(node) : undefined;
  tooltip.hidden = !s;
  if (!s || !node) return;
  tooltip.textContent = `${node} · ${classify(s).label} · ${s.phase} / ${s.liveness} / ${s.admin}${s.reason ? ` (${s.reason})` : ''}${s.faults ? ` · ${s.faults} open issue(s)` : ''}`;
  tooltip.style.left = `${e.clientX + 12}px`;
  tooltip.style.top = `${e.clientY + 12}px`;
});
canvas.addEventListener('mouseleave', () => (tooltip.hidden = true));
canvas.addEventListener('click', (e) => {
  const node = grid.nodeAt(e.clientX, e.clientY);
  if (!node) return;
  if (e.shiftKey) selection.extend(node, shown);
  else if (e.ctrlKey || e.metaKey) selection.toggle(node);
  else return void (link && route(`node=${node}`));
  selectionChanged();
});
byId('tab-discovered').addEventListener('click', () => route(location.hash === '#discovered' ? '' : 'discovered'));
document.addEventListener('keydown', (e) => {
  // Esc in the confirmation dialog cancels it, and only it.
  if (e.key === 'Escape' && location.hash && !document.querySelector('dialog[open]')) route('');
});
buildLegend();
wireFilters();
wireSelection();

const synthetic = new URLSearchParams(location.search).get('synthetic');
if (synthetic !== null) {
  void startSynthetic(Number(synthetic));
} else {
  fetch('config.json')
    .then((r) => {
      if (!r.ok) throw new Error(`config.json: HTTP ${r.status}`);
      return r.json() as Promise<DashboardConfig>;
    })
    .then(startLive)
    .catch((err: Error) => showStatus('offline', err.message));
}
schedule();
