/**
 * The 10,000-node check, in a real headless Chromium: the page's synthetic mode (no controller
 * data, the same parse → model → frame path), then a real controller with 10,000 defined nodes
 * whose retained states reach the page over MQTT-over-WebSocket. Figures are printed.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchChromium, type Browser } from './browser.js';
import { startDashboardController, type DashboardController } from './controller.js';

const NODES = 10_000;
let ctl: DashboardController;
let browser: Browser;

beforeAll(async () => {
  [browser, ctl] = await Promise.all([launchChromium(), startDashboardController()]);
});

afterAll(async () => {
  await browser?.close();
  await ctl?.stop();
});

const round = (ms: number) => Math.round(ms * 10) / 10;

describe('dashboard at 10,000 nodes', () => {
  test('synthetic states: first render, bursts of updates, filtering and scrolling stay fast', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${ctl.adminUrl}/dashboard/?synthetic=${NODES}`);
    await page.waitForFunction(() => window.musterDashboard.perf.synthetic !== undefined, null, { timeout: 30_000 });
    const figures = await page.evaluate(async () => {
      const d = window.musterDashboard;
      const synthetic = d.perf.synthetic!;
      const updates = [];
      for (const n of [100, 1000, 10_000]) updates.push(await synthetic.update(n));
      const timed = async (change: () => void) => {
        const t = performance.now();
        change();
        await d.nextFrame();
        return performance.now() - t;
      };
      const stateSelect = document.getElementById('filter-state') as HTMLSelectElement;
      const filterMs = await timed(() => {
        stateSelect.value = 'dead';
        stateSelect.dispatchEvent(new Event('change'));
      });
      const deadShown = d.shown();
      await timed(() => {
        stateSelect.value = '';
        stateSelect.dispatchEvent(new Event('change'));
      });
      const scroller = document.getElementById('grid-scroll')!;
      const scrollMs = await timed(() => (scroller.scrollTop = scroller.scrollHeight));
      const lastVisible = d.cellRect('n10000');
      scroller.scrollTop = 0;
      await d.nextFrame();
      return { shown: d.shown(), firstRenderMs: synthetic.firstRenderMs, updates, filterMs, deadShown, scrollMs, lastVisible: lastVisible !== null, maxFrameMs: d.perf.maxFrameMs };
    });
    console.log(
      `dashboard, ${NODES} synthetic nodes in Chromium: first render ${round(figures.firstRenderMs)} ms; ` +
        figures.updates.map((u) => `${u.changes} changes → ${round(u.totalMs)} ms (frame ${round(u.frameMs)} ms)`).join('; ') +
        `; state filter ${round(figures.filterMs)} ms; scroll to end ${round(figures.scrollMs)} ms; longest frame ${round(figures.maxFrameMs)} ms`,
    );
    expect(figures.shown).toBe(NODES);
    expect(figures.deadShown).toBeGreaterThan(0);
    expect(figures.deadShown).toBeLessThan(NODES);
    expect(figures.lastVisible).toBe(true);
    // Generous bounds for a loaded 2-core machine: the point is "interactive", not a benchmark.
    expect(figures.firstRenderMs).toBeLessThan(3000);
    for (const u of figures.updates) expect(u.totalMs).toBeLessThan(1000);
    expect(figures.filterMs).toBeLessThan(500);
    expect(figures.scrollMs).toBeLessThan(200);
    await page.close();
  });

  test('a real controller with 10,000 defined nodes: every retained state reaches the grid', async () => {
    await ctl.client.request('define', { range: `n[00001-${NODES}]`, settings: ['groups=big'] });
    const page = await browser.context.newPage();
    const t0 = Date.now();
    await page.goto(`${ctl.adminUrl}/dashboard/`);
    await page.waitForFunction((n) => window.musterDashboard.shown() === n, NODES, { timeout: 30_000, polling: 50 });
    const loadMs = Date.now() - t0;
    const perf = await page.evaluate(() => window.musterDashboard.perf);
    console.log(`dashboard, ${NODES} nodes from a real controller over MQTT/WebSocket: page load to all shown ${loadMs} ms; ${perf.frames} frames, longest ${round(perf.maxFrameMs)} ms`);
    expect(await page.locator('.legend-item[data-state="unknown"] .count').textContent()).toBe('10,000');
    // The node page of one of them, while 10,000 cells are on the grid.
    await page.goto(`${ctl.adminUrl}/dashboard/#node=n00042`);
    await expect.poll(() => page.locator('#node-ids').textContent()).toContain('big');
    await expect.poll(() => page.locator('#node-hwlog').textContent()).toBe('none');
    await page.close();
  });
});
