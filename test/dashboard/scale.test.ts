/**
 * The 10,000-node check, in a real headless Chromium: the page's synthetic mode (no controller
 * data, the same parse → model → frame path), then a real controller with 10,000 defined nodes
 * whose retained states reach the page over MQTT-over-WebSocket. Figures are printed; their targets
 * are in bench/ (bench/scenarios/dashboard.mjs).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchChromium, type Browser } from './browser.js';
import { startDashboardController, type DashboardController } from './controller.js';
import { describeSyntheticFigures, measureSyntheticPage, round, UPDATE_BURSTS } from './synthetic-figures.js';

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

describe('dashboard at 10,000 nodes', () => {
  test('synthetic states: every node shown, the state filter narrows, the last cell is reachable by scrolling', async () => {
    // The times are printed here and held to their targets by `node bench/run.mjs --only dashboard`.
    const figures = await measureSyntheticPage(browser.context, ctl.adminUrl, NODES);
    console.log(describeSyntheticFigures(figures));
    expect(figures.shown).toBe(NODES);
    expect(figures.updates.map((u) => u.changes)).toEqual(UPDATE_BURSTS);
    expect(figures.deadShown).toBeGreaterThan(0);
    expect(figures.deadShown).toBeLessThan(NODES);
    expect(figures.lastVisible).toBe(true);
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
    expect(await page.locator('.legend-item[data-state="phase:unknown"] .count').textContent()).toBe('10,000');
    // The node page of one of them, while 10,000 cells are on the grid.
    await page.goto(`${ctl.adminUrl}/dashboard/#node=n00042`);
    await expect.poll(() => page.locator('#node-ids').textContent()).toContain('big');
    await expect.poll(() => page.locator('#node-hwlog').textContent()).toBe('none');
    await page.close();
  });
});
