/**
 * The degraded banner in a real headless Chromium: the controller's data directory on a 1 MB tmpfs
 * the test mounts (needs root), filled until a store write fails with ENOSPC. The page shows why
 * and since when, `muster doctor`'s store check fails with the same reason, and both clear when
 * space is back and the retried write lands. A page opened while degraded shows it at once.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { smallDisk, type SmallDisk } from '../helpers/small-disk.js';
import { launchChromium, type Browser } from './browser.js';
import { startDashboardController, type DashboardController } from './controller.js';

let disk: SmallDisk;
let ctl: DashboardController;
let browser: Browser;

beforeAll(async () => {
  disk = smallDisk('the degraded-banner test');
  const dataDir = join(disk.dir, 'data');
  mkdirSync(dataDir);
  browser = await launchChromium();
  ctl = await startDashboardController({ dataDir, storeDebounceMs: 0 });
});
afterAll(async () => {
  await browser?.close();
  await ctl?.stop().catch(() => {});
  disk?.remove();
});

async function openPage(): Promise<Page> {
  const page = await browser.context.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(`${ctl.adminUrl}/`);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'live');
  return page;
}

describe('the degraded banner', () => {
  test('says why and since when while the store cannot be written, and goes when a write succeeds', async () => {
    const page = await openPage();
    const banner = page.locator('#degraded');
    expect(await banner.isHidden()).toBe(true);
    await ctl.client.request('define', { range: 'n001', settings: [] });

    disk.fill();
    const before = Date.now();
    await expect(ctl.client.request('define', { range: 'n[002-200]', settings: [] })).rejects.toThrow(/ENOSPC/);

    // The live page: from the `degraded` event.
    await banner.waitFor({ state: 'visible' });
    const text = (await banner.textContent())!;
    expect(text).toMatch(/^Controller degraded since \S+Z: store not writable: .*ENOSPC.*; changes are refused until a write succeeds\. It retries the write by itself/);
    const since = Date.parse(/since (\S+Z):/.exec(text)![1]!);
    expect(since).toBeGreaterThanOrEqual(before);

    // `muster doctor`'s store check fails with the same reason and time.
    const { checks } = await ctl.client.request('doctor', { checks: ['store'] });
    expect(checks).toEqual([expect.objectContaining({ id: 'store', status: 'fail', since: ctl.running.ctx.health.degraded!.since, fix: expect.stringContaining('free space') })]);
    expect(`Controller ${checks[0]!.detail}.`).toBe(text.slice(0, text.indexOf('. It retries') + 1));

    // A page opened now shows it at once: it asks the controller, no event needed.
    const late = await openPage();
    await late.locator('#degraded').waitFor({ state: 'visible' });
    expect(await late.locator('#degraded').textContent()).toBe(text);

    // Space back: the retried write lands, the banner goes on both pages.
    disk.free();
    await banner.waitFor({ state: 'hidden', timeout: 60_000 });
    await late.locator('#degraded').waitFor({ state: 'hidden' });
    expect((await ctl.client.request('doctor', { checks: ['store'] })).checks[0]).toMatchObject({ status: 'ok' });
    await late.close();
    await page.close();
  });
});
