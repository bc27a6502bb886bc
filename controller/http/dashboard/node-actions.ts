/// <reference lib="dom" />
/**
 * Operator actions on a set of nodes: power on/off/cycle/reset, offline with a reason, online.
 * Each is confirmed naming what and how many ("power cycle 8 nodes?") and sent as the CLI sends
 * it (`power`, `offline`, `online` with the nodes as one noderange), so the controller's role
 * check decides. The node page uses one for its node, the selection bar one for the selection.
 */
import { compressNodeRange } from '../../../shared/noderange-compress.js';
import type { AdminChange } from '../../../shared/verbs/results.js';
import { confirmAction } from './confirm.js';
import { h } from './dom.js';
import type { Link } from './link.js';
import { gate, roleBlock, type Identity } from './role-gate.js';

const POWER_ACTIONS = ['on', 'off', 'cycle', 'reset'] as const;
/** A power action waits for its result (an `off` is read back until it shows); the controller bounds it by its `actionTimeout`. */
const POWER_TIMEOUT_MS = 300_000;

export class NodeActions {
  readonly root: HTMLElement;
  private readonly buttons = new Map<string, HTMLButtonElement>();
  private readonly reason = h('input', { type: 'text', class: 'reason', placeholder: 'reason (required for offline)', 'aria-label': 'reason for offline', maxlength: '1024' });
  private readonly result = h('p', { class: 'note action-result', role: 'status' });
  private blocked: string | null = null;
  private busy = false;

  constructor(
    private readonly link: Link,
    private readonly targets: () => readonly string[],
    id: string,
    identity: Identity,
  ) {
    this.root = h(
      'div',
      { class: 'actions', id },
      h('span', { class: 'group' }, h('span', { class: 'muted' }, 'power'), ...POWER_ACTIONS.map((a) => this.button(`power-${a}`, a, () => this.power(a)))),
      h('span', { class: 'group' }, this.reason, this.button('offline', 'offline', () => this.offline()), this.button('online', 'online', () => this.online())),
      this.result,
    );
    this.reason.addEventListener('input', () => this.gateAll());
    this.setIdentity(identity);
  }

  setIdentity(id: Identity): void {
    this.blocked = roleBlock(id, 'operator', 'power and offline/online');
    this.gateAll();
  }

  private button(action: string, label: string, run: () => Promise<void>): HTMLButtonElement {
    const b = h('button', { type: 'button', 'data-action': action }, label);
    b.addEventListener('click', () => void this.run(run));
    this.buttons.set(action, b);
    return b;
  }

  private gateAll(): void {
    for (const [action, b] of this.buttons) gate(b, this.busy ? 'an action is running' : (this.blocked ?? (action === 'offline' && !this.reason.value.trim() ? 'give a reason first' : null)));
  }

  private async run(action: () => Promise<void>): Promise<void> {
    if (this.busy || this.targets().length === 0) return;
    this.busy = true;
    this.gateAll();
    try {
      await action();
    } catch (err) {
      this.show('error', (err as Error).message);
    } finally {
      this.busy = false;
      this.gateAll();
    }
  }

  private async power(action: (typeof POWER_ACTIONS)[number]): Promise<void> {
    const names = this.targets();
    const range = compressNodeRange(names);
    if (!(await confirmAction(`power ${action} ${counted(names)}?`, range, `power ${action}`))) return;
    this.show('', `power ${action} ${counted(names)}…`);
    const { results } = await this.link.request('power', { action, range }, POWER_TIMEOUT_MS);
    const failed = results.filter((r) => !r.ok);
    this.show(failed.length ? 'error' : 'ok', `power ${action}: ${results.length - failed.length} ok${failed.length ? `, ${failed.length} failed: ${failed.map((r) => r.error ?? r.node).join('; ')}` : ''}`);
  }

  private async offline(): Promise<void> {
    const names = this.targets();
    const range = compressNodeRange(names);
    const reason = this.reason.value.trim();
    if (!(await confirmAction(`take ${counted(names)} offline?`, `${range} — reason: ${reason}`, 'offline'))) return;
    const r = await this.link.request('offline', { range, reason });
    this.reason.value = '';
    this.showChange('offline', r, ` (${reason})`);
  }

  private async online(): Promise<void> {
    const names = this.targets();
    const range = compressNodeRange(names);
    if (!(await confirmAction(`return ${counted(names)} to service (online)?`, range, 'online'))) return;
    const r = await this.link.request('online', { range });
    this.showChange('online', r, '');
  }

  /** The nodes changed and, with several controllers, those whose owner refused or did not answer. */
  private showChange(admin: 'offline' | 'online', r: AdminChange, note: string): void {
    const failed = r.failed ?? [];
    this.show(failed.length ? 'error' : 'ok', `${admin}: ${counted(r.nodes)}${note}${failed.length ? `; ${failed.length} failed: ${failed.map((f) => f.error).join('; ')}` : ''}`);
  }

  private show(outcome: '' | 'ok' | 'error', text: string): void {
    this.result.className = `note action-result ${outcome}`;
    this.result.textContent = text;
  }
}

/** `demo02` for one node, `8 nodes` for more: what a confirmation names. */
export function counted(names: readonly string[]): string {
  return names.length === 1 ? names[0]! : `${names.length.toLocaleString('en')} nodes`;
}
