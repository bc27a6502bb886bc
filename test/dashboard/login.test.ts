/**
 * The dashboard with anonymous access off: the page connects with the viewer login from config
 * `dashboard.viewer`, shows the nodes, cannot assign; after an admin logs in on the page (the
 * password kept in memory only) assigning a discovered agent works. Real Chromium, real controller.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ControllerClient } from '../../cli/client.js';
import { hashPassword } from '../../controller/auth/passwords.js';
import { simFingerprint } from '../../controller/demo/sim-cluster.js';
import { simAgent } from '../helpers/inproc.js';
import { tempDir } from '../helpers/tmp.js';
import type { Browser } from './browser.js';
import { startWithViewerLogin } from './controller.js';
import type { RunningController } from '../../controller/controller.js';

const VIEWER_PASSWORD = 'wall-display-pw';
const ADMIN_PASSWORD = 'alice-admin-pw';
const AGENT = 'mac-020000000064';

const tmp = tempDir('muster-dashboard-login-');
let running: RunningController;
let admin: ControllerClient;
let browser: Browser;
let page: Page;
let agent: ReturnType<typeof simAgent>;
const pageErrors: string[] = [];

beforeAll(async () => {
  // Anonymous agents only so the test's agent needs no token.
  ({ running, admin, browser } = await startWithViewerLogin(tmp.dir, VIEWER_PASSWORD, { demo: 2, auth: { anonymousAgents: true } }));
  page = await browser.context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

afterAll(async () => {
  await agent?.link.stop();
  await browser?.close();
  await admin?.close();
  await running?.stop();
  tmp.remove();
});

const configJson = async () => (await (await fetch(`${running.adminUrl}/dashboard/config.json`)).json()) as { wsPort: number | null; wsProblem: string | null; credentials: unknown };

describe('dashboard with anonymous access off', () => {
  test('the viewer login is handed out only once it is a viewer', async () => {
    expect(await configJson()).toMatchObject({ wsPort: null, credentials: null, wsProblem: expect.stringContaining('user wall does not exist') });
    await admin.request('user-add', { name: 'wall', role: 'admin', passwordHash: await hashPassword(VIEWER_PASSWORD) });
    expect(await configJson()).toMatchObject({ wsPort: null, credentials: null, wsProblem: expect.stringContaining('user wall is admin, not viewer') });
    await admin.request('user-password', { name: 'wall', role: 'viewer', passwordHash: await hashPassword(VIEWER_PASSWORD) });
    expect(await configJson()).toMatchObject({ wsProblem: null, credentials: { username: 'wall', password: VIEWER_PASSWORD } });
    await admin.request('user-add', { name: 'alice', role: 'admin', passwordHash: await hashPassword(ADMIN_PASSWORD) });
  });

  test('the page shows the nodes as viewer and cannot assign', async () => {
    await page.goto(`${running.adminUrl}/`);
    await page.waitForFunction(() => window.musterDashboard.shown() === 2);
    expect(await page.locator('#status').textContent()).toBe('live');
    await expect.poll(() => page.locator('#who').textContent()).toBe('wall (viewer)');
    // The node page's requests (show, history, console tail) are a viewer's.
    await page.goto(`${running.adminUrl}/dashboard/#node=demo01`);
    await expect.poll(() => page.locator('#node-ids').textContent()).toContain('02:00:00:00:00:01');
    await expect.poll(() => page.locator('#node-history').textContent()).not.toBe('');

    agent = simAgent(running.mqttUrl, simFingerprint(100), AGENT, 'run');
    await expect.poll(() => page.locator('#discovered-count').textContent()).toBe('1');
    await page.click('#tab-discovered');
    const button = page.locator(`form.assign[data-agent="${AGENT}"] button`);
    await expect.poll(() => button.isDisabled()).toBe(true);
    expect(await button.getAttribute('title')).toBe('assigning needs an admin login; wall is viewer');
    // Past the page's own gate, the controller refuses and the page shows its words.
    await page.locator(`form.assign[data-agent="${AGENT}"] input`).fill('n100');
    await button.evaluate((b: HTMLButtonElement) => (b.disabled = false));
    await button.click();
    await expect.poll(() => page.locator('#discovered-result').textContent()).toBe('assign: needs the admin role; wall is viewer');
  });

  test('a wrong password is refused and the page stays live as viewer', async () => {
    await page.click('#login-open');
    await page.fill('#login-user', 'alice');
    await page.fill('#login-password', 'not-her-password');
    await page.click('#login-form button[type=submit]');
    await expect.poll(() => page.locator('#login-error').textContent()).toBe('log-in refused: Connection refused: Bad username or password');
    expect(await page.inputValue('#login-password')).toBe('');
    expect(await page.locator('#status').textContent()).toBe('live');
    expect(await page.locator('#who').textContent()).toBe('wall (viewer)');
  });

  test('after an admin logs in, assigning a discovered agent works', async () => {
    await page.fill('#login-user', 'alice');
    await page.fill('#login-password', ADMIN_PASSWORD);
    await page.press('#login-password', 'Enter');
    await expect.poll(() => page.locator('#who').textContent()).toBe('alice (admin)');
    expect(await page.locator('#login-form').isHidden()).toBe(true);
    const form = page.locator(`form.assign[data-agent="${AGENT}"]`);
    await expect.poll(() => form.locator('button').isEnabled()).toBe(true);
    await form.locator('input').fill('n100');
    await form.locator('button').click();
    await expect.poll(() => page.locator('#discovered-result').textContent()).toBe(`${AGENT} is n100`);
    await page.waitForFunction(() => window.musterDashboard.cellRect('n100') !== null);
    expect((await admin.request('nodes', { range: 'n100' })).map((n) => n.node)).toEqual(['n100']);
    // Neither password is kept anywhere the page persists or shows.
    const kept = await page.evaluate(() => [location.href, JSON.stringify(localStorage), JSON.stringify(sessionStorage), document.cookie, document.body.innerHTML].join('\n'));
    expect(kept).not.toContain(ADMIN_PASSWORD);
    expect(kept).not.toContain(VIEWER_PASSWORD);
  });

  test('logging out goes back to the viewer login', async () => {
    await page.click('#logout');
    await expect.poll(() => page.locator('#who').textContent()).toBe('wall (viewer)');
    expect(await page.locator('#login-open').isVisible()).toBe(true);
    await page.waitForFunction(() => window.musterDashboard.shown() === 3);
    expect(pageErrors).toEqual([]);
  });
});
