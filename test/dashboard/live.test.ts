/**
 * The dashboard in a real headless Chromium against a real controller (embedded broker, MQTT over
 * WebSocket, HTTP) with six simulated nodes: nodes appear and change colour live, the node page
 * shows identifiers, history and console lines, and a discovered agent is assigned from the page.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { simFingerprint } from '../../controller/demo/sim-cluster.js';
import { stateClass } from '../../controller/http/dashboard/state-classes.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { simAgent } from '../helpers/inproc.js';
import { installReportUrl } from '../helpers/install-report.js';
import { tempDir } from '../helpers/tmp.js';
import { launchChromium, type Browser } from './browser.js';
import { startDashboardController, type DashboardController } from './controller.js';

let ctl: DashboardController;
let browser: Browser;
let page: Page;
const images = tempDir('muster-dashboard-images-');

beforeAll(async () => {
  // The browser first: the page should see the nodes' first boot, not only its end.
  browser = await launchChromium();
  // A group built by the disk system, for the build's progress on the node page.
  ctl = await startDashboardController({ demo: 6, build: { groups: { disky: 'disk' }, imageDirs: [images.dir] } } as never);
  page = await browser.context.newPage();
  page.setDefaultTimeout(10_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${ctl.adminUrl}/`);
  expect(errors).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await ctl?.stop();
  images.remove();
});

/** The colour the canvas shows inside a node's cell (left of its label), as #rrggbb. */
async function cellColour(p: Page, node: string): Promise<string | null> {
  return p.evaluate((n) => {
    const r = window.musterDashboard.cellRect(n);
    const canvas = document.getElementById('grid') as HTMLCanvasElement;
    if (!r) return null;
    const c = canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const [red, green, blue] = canvas.getContext('2d')!.getImageData(Math.round((r.x - c.left + 3) * dpr), Math.round((r.y - c.top + r.height / 2) * dpr), 1, 1).data;
    return `#${[red, green, blue].map((v) => v!.toString(16).padStart(2, '0')).join('')}`;
  }, node);
}

const colour = (key: string) => stateClass(key)!.colour;
/** The node page's history table: axis, from, to, cause per row (time left out), newest first. */
const historyRows = (p: Page) => p.$$eval('#node-history tbody tr', (rows) => rows.map((r) => [...(r as HTMLTableRowElement).cells].slice(1).map((c) => c.textContent).join(' | ')));
const demoNodes = ['demo01', 'demo02', 'demo03', 'demo04', 'demo05', 'demo06'];

describe('dashboard, live', () => {
  test('serves the page, its script and where the WebSocket is', async () => {
    const root = await fetch(`${ctl.adminUrl}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/dashboard/');
    const config = (await (await fetch(`${ctl.adminUrl}/dashboard/config.json`)).json()) as { wsPort: number; prefix: string; credentials: unknown };
    expect(config).toMatchObject({ v: 1, prefix: 'muster', wsPort: ctl.wsPort, credentials: null });
    const script = await fetch(`${ctl.adminUrl}/dashboard/app.js`);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect(script.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect((await fetch(`${ctl.adminUrl}/dashboard/nope.js`)).status).toBe(404);
  });

  test('every demo node appears and its colour follows its phases without a reload', async () => {
    await page.waitForFunction(() => window.musterDashboard.shown() === 6, null, { timeout: 10_000 });
    expect(await page.locator('#status').textContent()).toBe('live');
    await page.waitForFunction((names) => names.every((n) => window.musterDashboard.classOf(n) === 'run'), demoNodes, { timeout: 25_000 });
    await page.evaluate(() => window.musterDashboard.nextFrame());
    for (const n of demoNodes) expect(await cellColour(page, n)).toBe(colour('run'));
    expect(await page.locator('.legend-item[data-state="phase:run"] .count').textContent()).toBe('6');

    // A power cycle boots demo03 again: the cell leaves run and comes back, on the same page.
    await ctl.client.request('power', { action: 'cycle', range: 'demo03' });
    await page.waitForFunction(() => window.musterDashboard.classOf('demo03') !== 'run', null, { timeout: 10_000 });
    const during = new Set<string>();
    const deadline = Date.now() + 20_000;
    while ((await page.evaluate(() => window.musterDashboard.classOf('demo03'))) !== 'run') {
      if (Date.now() > deadline) throw new Error(`demo03 did not boot to run again; colours seen: ${[...during].join(', ')}`);
      during.add((await cellColour(page, 'demo03'))!);
      await page.waitForTimeout(100);
    }
    expect([...during].some((c) => [colour('kernel'), colour('init'), colour('off')].includes(c))).toBe(true);
    await page.evaluate(() => window.musterDashboard.nextFrame());
    expect(await cellColour(page, 'demo03')).toBe(colour('run'));
  });

  test('filters by state and by group', async () => {
    await ctl.client.request('define', { range: 'spare1', settings: ['groups=spares'] });
    await page.waitForFunction(() => window.musterDashboard.shown() === 7);
    await page.waitForFunction(() => [...document.querySelectorAll('#filter-group option')].some((o) => o.textContent === 'spares (1)'));
    await page.selectOption('#filter-group', 'demo');
    await page.waitForFunction(() => window.musterDashboard.shown() === 6);
    expect(await page.evaluate(() => window.musterDashboard.cellRect('spare1'))).toBeNull();
    await page.selectOption('#filter-group', '');
    await page.click('.legend-item[data-state="phase:unknown"]');
    await page.waitForFunction(() => window.musterDashboard.shown() === 1);
    expect(await cellColour(page, 'spare1')).toBe(colour('unknown'));
    await page.click('.legend-item[data-state="phase:unknown"]'); // again: no state filter
    await page.waitForFunction(() => window.musterDashboard.shown() === 7);
  });

  test('the node page shows identifiers, redacted mappings, history, hwlog and console lines', async () => {
    // Opened by name from the search box: a node whose power target holds a password.
    await ctl.client.request('set', { range: 'spare1', settings: ['power=ipmi://admin:s3cret@10.1.2.3:623'] });
    await page.fill('#filter-text', 'spare1');
    await page.press('#filter-text', 'Enter');
    await expect.poll(() => page.locator('#node-ids').textContent()).toContain('ipmi://admin:***@10.1.2.3:623');
    expect(await page.content()).not.toContain('s3cret');
    await page.fill('#filter-text', '');
    // The grid redraws on the next animation frame.
    await page.waitForFunction(() => window.musterDashboard.cellRect('demo02') !== null);

    const r = (await page.evaluate(() => window.musterDashboard.cellRect('demo02')))!;
    await page.mouse.click(r.x + r.width / 2, r.y + r.height / 2);
    await expect.poll(() => page.locator('#node-title').textContent()).toBe('demo02');
    expect(page.url()).toMatch(/#node=demo02$/);
    const ids = page.locator('#node-ids');
    await expect.poll(() => ids.textContent()).toContain('02:00:00:00:00:02');
    expect(await ids.textContent()).toContain('mac-020000000002');
    expect(await ids.textContent()).toContain('sim://?state=on');
    await expect.poll(() => historyRows(page)).toEqual(expect.arrayContaining([expect.stringMatching(/^phase \| kernel \| init \| /)]));
    // What muster will do next, and the action with who did it: both follow the node live.
    await expect.poll(() => page.locator('#node-next').textContent()).toMatch(/^(nothing to do|never seen|\w+ in \w+ since)/);
    await ctl.client.request('offline', { range: 'demo02', reason: 'fan noise' });
    await expect.poll(() => page.locator('#node-next').textContent()).toBe('held: admin offline (fan noise, by anonymous)');
    await expect.poll(() => historyRows(page)).toEqual(expect.arrayContaining([expect.stringMatching(/^admin \| online \| offline \| .*fan noise/), expect.stringMatching(/\| by anonymous: fan noise$/)]));
    await ctl.client.request('online', { range: 'demo02' });
    await expect.poll(() => page.locator('#node-hwlog').textContent()).toBe('none');
    // An issue opened elsewhere shows up on the open page, and as the cell's fault corner.
    await ctl.client.request('hwlog-open', { node: 'demo02', text: 'DIMM B2 correctable errors' });
    await expect.poll(() => page.locator('#node-hwlog').textContent()).toMatch(/^#1 DIMM B2 correctable errors — anonymous/);
    await expect.poll(() => page.evaluate(() => document.querySelector('.legend-item[data-state="faults"] .count')!.textContent)).toBe('1');
    const consoleText = () => page.locator('#node-console').textContent().then((t) => t ?? '');
    await expect.poll(consoleText, { timeout: 10_000 }).toContain('demo02 login:');
    // Live: a reboot prints the boot text again, read from muster/consoles/demo02/out.
    const before = (await consoleText()).split('SeaBIOS').length;
    await ctl.client.request('power', { action: 'cycle', range: 'demo02' });
    await expect.poll(async () => (await consoleText()).split('SeaBIOS').length, { timeout: 15_000 }).toBeGreaterThan(before);
    await expect.poll(async () => (await consoleText()).trimEnd().endsWith('demo02 login:'), { timeout: 15_000 }).toBe(true);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('#node-panel').isHidden()).toBe(true);
  });

  test('a discovered agent is assigned from the page and appears in the grid', async () => {
    const agent = simAgent(ctl.mqttUrl, simFingerprint(100), 'mac-020000000064', 'run');
    try {
      await expect.poll(() => page.locator('#discovered-count').textContent(), { timeout: 10_000 }).toBe('1');
      await page.click('#tab-discovered');
      const form = page.locator('form.assign[data-agent="mac-020000000064"]');
      await form.locator('input').fill('n100');
      await form.locator('button').click();
      await expect.poll(() => page.locator('#discovered-result').textContent()).toBe('mac-020000000064 is n100');
      await page.waitForFunction(() => window.musterDashboard.cellRect('n100') !== null, null, { timeout: 10_000 });
      await expect.poll(() => page.locator('#node-title').textContent()).toBe('n100');
      await expect.poll(() => page.evaluate(() => window.musterDashboard.classOf('n100'))).toBe('run');
      expect(await cellColour(page, 'n100')).toBe(colour('run'));
      await expect.poll(() => page.locator('#discovered-count').textContent()).toBe('');
    } finally {
      await agent.link.stop();
    }
  });
  test("the node page shows its build's last word as the installer reports it", async () => {
    const file = (name: string) => {
      writeFileSync(join(images.dir, name), `${name} bytes`);
      return join(images.dir, name);
    };
    await ctl.client.request('image-add', { name: 'deb', kernel: file('vmlinuz'), initrd: file('installer.img'), disk: file('disk.img.gz'), system: 'disk' });
    const mac = '52:54:00:00:45:02';
    await ctl.client.request('define', { range: 'd45', settings: [`mac=${mac}`, 'groups=disky', 'image=deb'] });
    await page.fill('#filter-text', 'd45');
    await page.press('#filter-text', 'Enter');
    await expect.poll(() => page.locator('#node-title').textContent()).toBe('d45');
    expect(await page.locator('#node-build').isHidden()).toBe(true);
    await ctl.client.request('build', { range: 'd45' });
    await expect.poll(() => page.locator('#node-build').textContent()).toBe('build: disk prepared: d45 prepared to build image deb with disk (anonymous)');
    const report = await installReportUrl(ctl.running.httpUrl!, mac);
    await fetch(report, { method: 'POST', body: 'progress 45 writing image to /dev/sda' });
    await expect.poll(() => page.locator('#node-build').textContent()).toBe('build: disk building: 45% writing image to /dev/sda');
    await page.fill('#filter-text', '');
  });
});
