/**
 * The dashboard's synthetic mode driven in a real Chromium page: first render, bursts of updates,
 * the state filter and a scroll to the end, each timed in the page. Shared by the scale test (which
 * checks what is shown) and bench/ (which holds the figures to their targets).
 */
import type { BrowserContext } from 'playwright-core';
import { NO_FILTER, NodeModel } from '../../controller/http/dashboard/node-model.js';
import { syntheticStates } from '../../controller/http/dashboard/synthetic.js';
import { seededRandom } from '../../shared/random.js';

export interface SyntheticFigures {
  nodes: number;
  shown: number;
  firstRenderMs: number;
  updates: { changes: number; totalMs: number; frameMs: number }[];
  filterMs: number;
  /** Cells shown with the state filter on `dead`. */
  deadShown: number;
  scrollMs: number;
  /** Whether the last node's cell is on screen after scrolling to the end. */
  lastVisible: boolean;
  maxFrameMs: number;
}

export const UPDATE_BURSTS = [100, 1000, 10_000];

/** Opens `${httpUrl}/dashboard/?synthetic=N` in a new page of `context` and measures it. */
export async function measureSyntheticPage(context: BrowserContext, httpUrl: string, nodes: number): Promise<SyntheticFigures> {
  const page = await context.newPage();
  try {
    await page.goto(`${httpUrl}/dashboard/?synthetic=${nodes}`);
    await page.waitForFunction(() => window.musterDashboard.perf.synthetic !== undefined, null, { timeout: 30_000 });
    return await page.evaluate(
      async ({ nodes, bursts }) => {
        const d = window.musterDashboard;
        const synthetic = d.perf.synthetic!;
        const updates = [];
        for (const n of bursts) updates.push(await synthetic.update(n));
        const timed = async (change: () => void) => {
          const t = performance.now();
          change();
          await d.nextFrame();
          return performance.now() - t;
        };
        const stateSelect = document.getElementById('filter-state') as HTMLSelectElement;
        const filterMs = await timed(() => {
          stateSelect.value = 'liveness:dead';
          stateSelect.dispatchEvent(new Event('change'));
        });
        const deadShown = d.shown();
        await timed(() => {
          stateSelect.value = '';
          stateSelect.dispatchEvent(new Event('change'));
        });
        const scroller = document.getElementById('grid-scroll')!;
        const scrollMs = await timed(() => (scroller.scrollTop = scroller.scrollHeight));
        const lastVisible = d.cellRect(`n${nodes}`) !== null;
        scroller.scrollTop = 0;
        await d.nextFrame();
        return { nodes, shown: d.shown(), firstRenderMs: synthetic.firstRenderMs, updates, filterMs, deadShown, scrollMs, lastVisible, maxFrameMs: d.perf.maxFrameMs };
      },
      { nodes, bursts: UPDATE_BURSTS },
    );
  } finally {
    await page.close();
  }
}

/** A time in ms to one decimal, for printing. */
export const round = (ms: number) => Math.round(ms * 10) / 10;

export function describeSyntheticFigures(f: SyntheticFigures): string {
  return (
    `dashboard, ${f.nodes} synthetic nodes in Chromium: first render ${round(f.firstRenderMs)} ms; ` +
    f.updates.map((u) => `${u.changes} changes → ${round(u.totalMs)} ms (frame ${round(u.frameMs)} ms)`).join('; ') +
    `; state filter ${round(f.filterMs)} ms; scroll to end ${round(f.scrollMs)} ms; longest frame ${round(f.maxFrameMs)} ms`
  );
}

/** The node model filled with `nodes` seeded synthetic states, then one state filter and one count, timed. */
export function timeModelSelect(nodes: number) {
  const m = new NodeModel();
  for (const s of syntheticStates(nodes, 0, seededRandom(7))) m.apply(s.node, s);
  const t = performance.now();
  const dead = m.select({ ...NO_FILTER, state: 'liveness:dead' });
  const counts = m.counts(m.names());
  const ms = performance.now() - t;
  return { names: m.names(), dead, counts, ms };
}
