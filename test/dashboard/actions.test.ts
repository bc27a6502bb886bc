/**
 * The dashboard as an operator's screen, in a real headless Chromium against a real controller
 * with real users (anonymous access off): the legend's figures are `muster summary`'s; a viewer
 * sees operator actions disabled and the controller refuses one forged past the page; an
 * operator takes a node offline with a reason, returns it, power-cycles it (the history shows the
 * action and who), selects a range (noderange box, Ctrl/Shift-click) and acts on it after a
 * confirmation naming the count, opens and closes a hardware-log issue, and writes to a console
 * until another writer takes over.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ControllerClient } from '../../cli/client.js';
import { hashPassword } from '../../controller/auth/passwords.js';
import { COUNTED } from '../../shared/state-counts.js';
import { tempDir } from '../helpers/tmp.js';
import type { RunningController } from '../../controller/controller.js';
import type { Browser } from './browser.js';
import { startWithViewerLogin } from './controller.js';

const VIEWER_PASSWORD = 'wall-display-pw';
const OPERATOR_PASSWORD = 'bob-operator-pw';
const NODES = ['demo01', 'demo02', 'demo03', 'demo04'];

const tmp = tempDir('muster-dashboard-actions-');
let running: RunningController;
let admin: ControllerClient;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  ({ running, admin, browser } = await startWithViewerLogin(tmp.dir, VIEWER_PASSWORD, { demo: NODES.length }));
  await admin.request('user-add', { name: 'wall', role: 'viewer', passwordHash: await hashPassword(VIEWER_PASSWORD) });
  await admin.request('user-add', { name: 'bob', role: 'operator', passwordHash: await hashPassword(OPERATOR_PASSWORD) });
  page = await browser.context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${running.adminUrl}/`);
  await page.waitForFunction((names) => names.every((n) => window.musterDashboard.classOf(n) === 'run'), NODES, { timeout: 30_000 });
});

afterAll(async () => {
  await browser?.close();
  await admin?.close();
  await running?.stop();
  tmp.remove();
});

const text = (selector: string) => page.locator(selector).textContent().then((t) => t ?? '');
/** The node page's history rows: axis | from | to | cause (time left out). */
const historyRows = () => page.$$eval('#node-history tbody tr', (rows) => rows.map((r) => [...(r as HTMLTableRowElement).cells].slice(1).map((c) => c.textContent).join(' | ')));
const state = async (node: string) => (await admin.request('show', { node })).state!;

/** Clicks an action button, checks the confirmation's words, and confirms it (or cancels). */
async function confirmed(button: string, question: string, answer: 'ok' | 'cancel' = 'ok'): Promise<string> {
  await page.click(button);
  const dialog = page.locator('dialog#confirm');
  await dialog.waitFor({ state: 'visible' });
  expect(await text('#confirm-text')).toBe(question);
  const detail = await text('#confirm-detail');
  await page.click(`#confirm-${answer}`);
  await dialog.waitFor({ state: 'hidden' });
  return detail;
}

/** Legend figures against the `summary` verb's row for the same nodes, for every column summary prints. */
async function legendAgainstSummary(group: string): Promise<void> {
  const row = (await admin.request('summary', {})).find((r) => r.group === group)!;
  for (const [axis, values] of Object.entries(COUNTED) as Array<[keyof typeof COUNTED, readonly string[]]>) {
    for (const value of values) expect.soft(await text(`.legend-item[data-state="${axis}:${value}"] .count`), `${axis} ${value}`).toBe(String(row[axis][value] ?? 0));
  }
}

async function cellClick(node: string, modifiers: Array<'Shift' | 'Control'> = []): Promise<void> {
  const r = (await page.evaluate((n) => window.musterDashboard.cellRect(n), node))!;
  await page.mouse.move(r.x + r.width / 2, r.y + r.height / 2);
  for (const m of modifiers) await page.keyboard.down(m);
  await page.mouse.down();
  await page.mouse.up();
  for (const m of modifiers) await page.keyboard.up(m);
}

async function login(user: string, password: string): Promise<void> {
  await page.click('#login-open');
  await page.fill('#login-user', user);
  await page.fill('#login-password', password);
  await page.press('#login-password', 'Enter');
  await expect.poll(() => text('#who')).toBe(`${user} (operator)`);
}

describe('dashboard actions by role', () => {
  test('the legend counts nodes as muster summary does, per group too', async () => {
    await admin.request('offline', { range: 'demo04', reason: 'legend check' });
    await expect.poll(() => text('.legend-item[data-state="admin:offline"] .count')).toBe('1');
    // An offline node that runs counts in both columns, as summary counts it.
    expect(await text('.legend-item[data-state="phase:run"] .count')).toBe('4');
    await legendAgainstSummary('all');
    await page.selectOption('#filter-group', 'demo');
    await legendAgainstSummary('demo');
    await page.selectOption('#filter-group', '');
    await admin.request('online', { range: 'demo04' });
    await expect.poll(() => text('.legend-item[data-state="admin:offline"] .count')).toBe('0');
  });

  test('a viewer sees operator actions disabled, and a forged one is refused by the controller', async () => {
    await expect.poll(() => text('#who')).toBe('wall (viewer)');
    await page.goto(`${running.adminUrl}/dashboard/#node=demo01`);
    await expect.poll(() => text('#node-title')).toBe('demo01');
    const cycle = page.locator('#node-actions [data-action="power-cycle"]');
    await expect.poll(() => cycle.isDisabled()).toBe(true);
    expect(await cycle.getAttribute('title')).toBe('power and offline/online needs an operator login; wall is viewer');
    for (const b of ['power-on', 'power-off', 'power-reset', 'offline', 'online']) expect(await page.locator(`#node-actions [data-action="${b}"]`).isDisabled()).toBe(true);
    expect(await page.locator('#console-attach').isDisabled()).toBe(true);
    expect(await page.locator('#console-force').isDisabled()).toBe(true);
    expect(await page.locator('#hwlog-open').isDisabled()).toBe(true);
    // The viewer still reads: the console, the history, the hardware log.
    await expect.poll(() => text('#node-console')).toContain('demo01 login:');
    await expect.poll(() => historyRows().then((r) => r.length)).toBeGreaterThan(0);

    // Past the page's gate, the request goes out with the viewer's login and the controller refuses it.
    await cycle.evaluate((b: HTMLButtonElement) => (b.disabled = false));
    expect(await confirmed('#node-actions [data-action="power-cycle"]', 'power cycle demo01?')).toBe('demo01');
    await expect.poll(() => text('#node-actions .action-result')).toBe('power: needs the operator role; wall is viewer');
    const attach = page.locator('#console-attach');
    await attach.evaluate((b: HTMLButtonElement) => (b.disabled = false));
    await attach.click();
    await expect.poll(() => text('#console-note')).toBe('console-attach: needs the operator role; wall is viewer');
    expect(await text('#console-mode')).toBe('read-only');
    expect((await admin.request('history', { node: 'demo01', axis: 'action' })).transitions.filter((t) => t.to?.startsWith('power-'))).toEqual([]);
    expect((await state('demo01')).power).toBe('on');
  });

  test('an operator takes a node offline with a reason, returns it, and power-cycles it; the history shows who', async () => {
    await login('bob', OPERATOR_PASSWORD);
    const offline = page.locator('#node-actions [data-action="offline"]');
    // Offline needs a reason first; the other actions are open to an operator.
    await expect.poll(() => page.locator('#node-actions [data-action="power-cycle"]').isEnabled()).toBe(true);
    expect(await offline.isDisabled()).toBe(true);
    expect(await offline.getAttribute('title')).toBe('give a reason first');
    await page.fill('#node-actions .reason', 'fan noise');
    expect(await confirmed('#node-actions [data-action="offline"]', 'take demo01 offline?')).toBe('demo01 — reason: fan noise');
    await expect.poll(() => text('#node-actions .action-result')).toBe('offline: demo01 (fan noise)');
    expect(await state('demo01')).toMatchObject({ admin: 'offline', reason: 'fan noise', adminBy: 'bob' });
    await expect.poll(() => text('#node-next')).toBe('held: admin offline (fan noise, by bob)');
    await expect.poll(() => historyRows()).toEqual(expect.arrayContaining([expect.stringMatching(/^admin \| online \| offline \| /), 'action | — | offline done | by bob: fan noise']));

    await confirmed('#node-actions [data-action="online"]', 'return demo01 to service (online)?');
    await expect.poll(() => state('demo01').then((s) => s.admin)).toBe('online');

    await confirmed('#node-actions [data-action="power-cycle"]', 'power cycle demo01?');
    await expect.poll(() => text('#node-actions .action-result'), { timeout: 30_000 }).toBe('power cycle: 1 ok');
    // The history's action axis, as `muster history demo01 --axis action` shows it.
    await page.selectOption('#history-axis', 'action');
    await expect.poll(async () => (await historyRows()).every((r) => r.startsWith('action | '))).toBe(true);
    await expect.poll(() => historyRows()).toEqual(expect.arrayContaining([expect.stringMatching(/^action \| — \| power-cycle started \| by bob/), expect.stringMatching(/^action \| — \| power-cycle done \| by bob/)]));
  });

  test('an operator selects a range and acts on it after a confirmation naming the count', async () => {
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('#node-panel').isHidden()).toBe(true);
    // A noderange with the project's parser: a bad one is refused with the column.
    await page.fill('#select-range', 'demo[02-04');
    await page.press('#select-range', 'Enter');
    await expect.poll(() => text('#select-error')).toMatch(/^noderange "demo\[02-04": .* at column \d+/);
    expect(await page.locator('#selection').isHidden()).toBe(true);
    await page.fill('#select-range', 'demo[02-04]');
    await page.press('#select-range', 'Enter');
    expect(await text('#select-error')).toBe('');
    expect(await text('#selection-count')).toBe('3 selected');
    expect(await text('#selection-range')).toBe('demo[02-04]');
    // Ctrl-click takes one out; Shift-click extends from the last one picked.
    await cellClick('demo03', ['Control']);
    await expect.poll(() => text('#selection-range')).toBe('demo02,demo04');
    await page.click('#selection-clear');
    expect(await page.locator('#selection').isHidden()).toBe(true);
    await cellClick('demo01', ['Control']);
    await cellClick('demo03', ['Shift']);
    await expect.poll(() => text('#selection-count')).toBe('3 selected');
    expect(await text('#selection-range')).toBe('demo[01-03]');
    expect(page.url()).not.toContain('#node='); // selecting does not open a node

    // Cancel (and Esc) do nothing.
    expect(await confirmed('#selection-actions [data-action="power-off"]', 'power off 3 nodes?', 'cancel')).toBe('demo[01-03]');
    await page.click('#selection-actions [data-action="power-off"]');
    await page.keyboard.press('Escape');
    await page.locator('dialog#confirm').waitFor({ state: 'hidden' });
    expect(await text('#selection-actions .action-result')).toBe('');
    expect((await admin.request('nodes', { range: 'demo[01-03]' })).map((n) => n.power)).toEqual(['on', 'on', 'on']);

    await confirmed('#selection-actions [data-action="power-off"]', 'power off 3 nodes?');
    await expect.poll(() => text('#selection-actions .action-result'), { timeout: 30_000 }).toBe('power off: 3 ok');
    await expect.poll(async () => (await admin.request('nodes', { range: 'demo[01-03]' })).map((n) => n.power)).toEqual(['off', 'off', 'off']);
    await page.fill('#selection-actions .reason', 'rack 1 rewiring');
    expect(await confirmed('#selection-actions [data-action="offline"]', 'take 3 nodes offline?')).toBe('demo[01-03] — reason: rack 1 rewiring');
    await expect.poll(() => text('#selection-actions .action-result')).toBe('offline: 3 nodes (rack 1 rewiring)');
    for (const n of ['demo01', 'demo02', 'demo03']) expect(await state(n)).toMatchObject({ admin: 'offline', reason: 'rack 1 rewiring', adminBy: 'bob' });
    expect((await state('demo04')).admin).toBe('online');
    await confirmed('#selection-actions [data-action="online"]', 'return 3 nodes to service (online)?');
    await confirmed('#selection-actions [data-action="power-on"]', 'power on 3 nodes?');
    await expect.poll(() => text('#selection-actions .action-result'), { timeout: 30_000 }).toBe('power on: 3 ok');
    expect((await admin.request('nodes', { range: 'demo[01-03]' })).map((n) => n.admin)).toEqual(['online', 'online', 'online']);
  });

  test('an operator opens and closes a hardware-log issue from the node page', async () => {
    await page.evaluate(() => (location.hash = 'node=demo04'));
    await expect.poll(() => text('#node-title')).toBe('demo04');
    await expect.poll(() => text('#node-hwlog')).toBe('none');
    await page.fill('#hwlog-text', 'PSU 2 fan rattles');
    await page.click('#hwlog-open');
    await expect.poll(() => text('#node-hwlog li strong')).toBe('#1 ');
    expect(await text('#node-hwlog li')).toMatch(/^#1 PSU 2 fan rattles — bob/);
    await page.fill('#node-hwlog li input', 'fan replaced');
    await page.click('#node-hwlog li button.hwlog-close');
    await expect.poll(() => text('#node-hwlog')).toBe('none');
    await page.check('#hwlog-all');
    await expect.poll(() => text('#node-hwlog li')).toMatch(/^#1 PSU 2 fan rattles — bob, .* · closed by bob, .*: fan replaced$/);
    expect((await admin.request('hwlog-list', { range: 'demo04', all: true }))[0]).toMatchObject({ closedBy: 'bob', note: 'fan replaced' });
  });

  test('an operator writes to a console until another writer takes over, and may take it back', async () => {
    await expect.poll(() => text('#node-console')).toContain('console opened');
    await page.click('#console-attach');
    await expect.poll(() => text('#console-mode')).toBe('read-write');
    expect(await text('#console-note')).toBe('attached read-write: type in the console');
    await page.keyboard.type('echo-from-the-page');
    await page.keyboard.press('Enter');
    await page.keyboard.type('next');
    // The simulated console echoes what its writer types (Enter as CR), on the live topic every reader sees.
    await expect.poll(() => text('#node-console')).toMatch(/\necho-from-the-page\nnext$/);
    const writer = (await admin.request('consoles', {})).find((c) => c.node === 'demo04')!.writer;
    expect(writer).toBe('bob@dashboard');

    // The CLI's connection forces its way in: the page's next key is refused and the view goes read-only.
    const taken = await admin.request('console-attach', { node: 'demo04', force: true });
    expect(taken.displaced).toBe(writer);
    await page.locator('#node-console').press('x');
    await expect.poll(() => text('#console-mode')).toBe('read-only');
    expect(await text('#console-note')).toContain('not the console writer (admin@');
    // Attaching without force is refused while the other writer holds it; take over works.
    await page.click('#console-attach');
    await expect.poll(() => text('#console-note')).toContain('console is attached read-write by');
    await page.click('#console-force');
    await expect.poll(() => text('#console-note')).toMatch(/^attached read-write, displacing /);
    await page.click('#console-detach');
    await expect.poll(() => text('#console-note')).toBe('detached: read-only');
    expect((await admin.request('consoles', {})).find((c) => c.node === 'demo04')!.writer).toBeNull();
    expect(pageErrors).toEqual([]);
  });
});
