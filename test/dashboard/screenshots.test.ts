/**
 * Screenshots of the dashboard for the docs, from a real controller with 24 simulated nodes in
 * several states. They go to a temp dir unless MUSTER_SCREENSHOT_DIR names one:
 * `MUSTER_SCREENSHOT_DIR=docs/img npx vitest run test/dashboard/screenshots.test.ts`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { simFingerprint } from '../../controller/demo/sim-cluster.js';
import { simAgent } from '../helpers/inproc.js';
import { tempDir } from '../helpers/tmp.js';
import { launchChromium, type Browser } from './browser.js';
import { startDashboardController, type DashboardController } from './controller.js';

const tmp = process.env.MUSTER_SCREENSHOT_DIR ? null : tempDir('muster-shots-');
const outDir = process.env.MUSTER_SCREENSHOT_DIR ?? tmp!.dir;
let ctl: DashboardController;
let browser: Browser;
let agent: ReturnType<typeof simAgent>;

beforeAll(async () => {
  [browser, ctl] = await Promise.all([launchChromium(), startDashboardController({ demo: 24 })]);
  agent = simAgent(ctl.mqttUrl, simFingerprint(200), 'mac-0200000000c8', 'run');
});

afterAll(async () => {
  await agent?.link.stop();
  await browser?.close();
  await ctl?.stop();
  tmp?.remove();
});

async function shot(page: Page, name: string): Promise<void> {
  const path = join(outDir, name);
  await page.evaluate(() => window.musterDashboard.nextFrame());
  await page.screenshot({ path });
  const png = readFileSync(path);
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  expect(png.length).toBeGreaterThan(10_000);
}

// The demo's simulated boots take longer on a loaded machine: a bounded wait, not a speed check.
test('grid, node page, a range action, discovered agents and 10,000 nodes', { timeout: 180_000 }, async () => {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.goto(`${ctl.adminUrl}/dashboard/`);
  await ctl.client.request('define', { range: 'rack2-n[01-08]', settings: ['groups=rack2'] });
  await page.waitForFunction(() => window.musterDashboard.shown() === 32);
  // Each demo node seen in run at least once: on a loaded machine a simulated node can miss
  // heartbeats and turn suspect for a moment, so all 24 in run at one instant may never be seen.
  await page.waitForFunction(
    () => {
      const seen = ((window as unknown as { seenInRun?: Set<string> }).seenInRun ??= new Set());
      for (let i = 1; i <= 24; i++) {
        const n = `demo${String(i).padStart(2, '0')}`;
        if (window.musterDashboard.classOf(n) === 'run') seen.add(n);
      }
      return seen.size === 24;
    },
    null,
    { timeout: 90_000, polling: 250 },
  );
  await ctl.client.request('offline', { range: 'demo05', reason: 'fan noise, ticket 12' });
  await ctl.client.request('hwlog-open', { node: 'demo07', text: 'DIMM B2: 112 correctable ECC errors in 24 h' });
  await ctl.client.request('power', { action: 'off', range: 'demo[20-21]' });
  await ctl.client.request('power', { action: 'cycle', range: 'demo[10-14]' });
  await page.waitForFunction(() => ['demo10', 'demo11', 'demo12', 'demo13', 'demo14'].every((n) => window.musterDashboard.classOf(n) !== 'run'));
  await page.waitForFunction(() => window.musterDashboard.classOf('demo07') !== null && document.querySelector('.legend-item[data-state="faults"] .count')!.textContent === '1');
  await expect.poll(() => page.locator('#discovered-count').textContent()).toBe('1');
  await shot(page, 'dashboard-grid.png');

  await page.setViewportSize({ width: 1280, height: 1000 });
  await page.goto(`${ctl.adminUrl}/dashboard/#node=demo07`);
  await expect.poll(() => page.locator('#node-console').textContent(), { timeout: 15_000 }).toContain('login:');
  await expect.poll(() => page.locator('#node-hwlog').textContent()).toContain('DIMM B2');
  // A history row phase | init | run: the node finished booting.
  await expect.poll(() => page.$$eval('#node-history tbody tr', (rows) => rows.some((r) => [...(r as HTMLTableRowElement).cells].slice(1, 4).map((c) => c.textContent).join(' ') === 'phase init run'))).toBe(true);
  await page.locator('#node-console').evaluate((el) => el.scrollIntoView({ block: 'center' }));
  await shot(page, 'dashboard-node.png');

  // A range selected, its power cycle waiting for the confirmation (cancelled: the page stays as it is).
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.goto(`${ctl.adminUrl}/dashboard/`);
  await page.waitForFunction(() => window.musterDashboard.shown() === 32);
  await page.fill('#select-range', 'demo[01-08]');
  await page.press('#select-range', 'Enter');
  await page.click('#selection-actions [data-action="power-cycle"]');
  await expect.poll(() => page.locator('#confirm-text').textContent()).toBe('power cycle 8 nodes?');
  await shot(page, 'dashboard-actions.png');
  await page.click('#confirm-cancel');

  await page.goto(`${ctl.adminUrl}/dashboard/#discovered`);
  await expect.poll(() => page.locator('form.assign[data-agent="mac-0200000000c8"]').count()).toBe(1);
  await shot(page, 'dashboard-discovered.png');

  await page.goto(`${ctl.adminUrl}/dashboard/?synthetic=10000`);
  await page.waitForFunction(() => window.musterDashboard.perf.synthetic !== undefined);
  await shot(page, 'dashboard-10k.png');
});
