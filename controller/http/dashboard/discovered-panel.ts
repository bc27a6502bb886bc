/// <reference lib="dom" />
/**
 * Agents that said hello but match no node definition (`discovered`), each with an assign form
 * (`assign`). Assigning needs the admin role: the buttons are disabled for other roles (a known
 * role that is not admin), and a refusal from the controller is shown as it says it.
 */
import type { DiscoveredAgent } from '../../../shared/verbs/results.js';
import { h } from './dom.js';
import { ago } from './format.js';
import type { Link } from './link.js';
import { gate, roleBlock, type Identity } from './role-gate.js';

export class DiscoveredPanel {
  private loading: Promise<void> | null = null;
  private again = false;
  /** Why assigning is off for this login, or null when it may be tried. */
  private assignBlocked: string | null = null;
  /** The last assignment's outcome: kept across reloads of the list, which drop its row. */
  private readonly result = h('p', { id: 'discovered-result', class: 'note', role: 'status' });

  constructor(
    private readonly root: HTMLElement,
    private readonly link: Link,
    private readonly onCount: (n: number) => void,
    private readonly onAssigned: (node: string) => void,
  ) {}

  /** The login: only an admin (or an unknown role: the controller decides) may assign. */
  setIdentity(id: Identity): void {
    this.assignBlocked = roleBlock(id, 'admin', 'assigning');
    for (const b of this.root.querySelectorAll<HTMLButtonElement>('form.assign button')) gate(b, this.assignBlocked);
  }

  /** Reloads the list; calls during a load coalesce into one more load. */
  refresh(): void {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = this.load().finally(() => {
      this.loading = null;
      if (this.again) {
        this.again = false;
        this.refresh();
      }
    });
  }

  private async load(): Promise<void> {
    let agents: DiscoveredAgent[];
    try {
      agents = await this.link.request('discovered', {});
    } catch (err) {
      this.root.replaceChildren(h('h2', {}, 'Discovered agents'), this.result, h('p', { class: 'error' }, (err as Error).message));
      return;
    }
    this.onCount(agents.length);
    const now = Date.now();
    this.root.replaceChildren(
      h('h2', {}, 'Discovered agents'),
      h('p', { class: 'muted' }, 'Agents that said hello but match no node definition. Give one a node name to bind it (like ', h('code', {}, 'muster assign'), ').'),
      this.result,
      agents.length === 0
        ? h('p', { class: 'muted', id: 'discovered-empty' }, 'none')
        : h(
            'table',
            { class: 'discovered' },
            h('thead', {}, h('tr', {}, ...['agent', 'MACs', 'serial', 'product', 'phase', 'last seen', 'assign as'].map((t) => h('th', {}, t)))),
            h('tbody', {}, ...agents.map((a) => this.row(a, now))),
          ),
    );
  }

  private row(a: DiscoveredAgent, now: number): HTMLElement {
    const input = h('input', { type: 'text', placeholder: 'node name', 'aria-label': `node name for ${a.agentId}`, pattern: '[A-Za-z][A-Za-z0-9_.\\-]*', required: true });
    const button = h('button', { type: 'submit' }, 'Assign');
    gate(button, this.assignBlocked);
    const form = h('form', { class: 'assign', 'data-agent': a.agentId }, input, button);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.assign(a.agentId, input.value.trim(), button);
    });
    return h(
      'tr',
      {},
      h('td', {}, h('code', {}, a.agentId), a.live ? '' : h('span', { class: 'muted' }, ' (gone)')),
      h('td', {}, a.macs.join(', ')),
      h('td', {}, a.serial ?? '—'),
      h('td', {}, a.product ?? '—'),
      h('td', {}, a.phase ?? '—'),
      h('td', {}, ago(a.lastSeen, now)),
      h('td', {}, form),
    );
  }

  private async assign(agent: string, node: string, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    this.show('', `assigning ${agent} as ${node}…`);
    try {
      const r = await this.link.request('assign', { agent, node });
      this.show('ok', `${r.agentId} is ${r.node}`);
      this.onAssigned(r.node);
      this.refresh();
    } catch (err) {
      this.show('error', (err as Error).message);
      gate(button, this.assignBlocked);
    }
  }

  private show(outcome: '' | 'ok' | 'error', text: string): void {
    this.result.className = `note ${outcome}`;
    this.result.textContent = text;
  }
}
