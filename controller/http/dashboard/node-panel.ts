/// <reference lib="dom" />
/**
 * The node page: what muster will do next and why, operator actions (power, offline with a
 * reason, online), identifiers, mappings (the power target comes redacted from `show`), the live
 * state, the hardware log (read; opened and closed by an operator), the console (read-only, or
 * read-write for an operator who attaches), and the history with its actions, as `muster history`
 * prints it.
 */
import { historyCause } from '../../../shared/history-text.js';
import type { NodeNext, NodeState } from '../../../shared/protocol.js';
import { HISTORY_AXES } from '../../../shared/wire.js';
import type { BuildLatest, HwlogIssue } from '../../../shared/verbs/results.js';
import { ConsoleView } from './console-view.js';
import { h } from './dom.js';
import { ago, bytes, clock } from './format.js';
import { RequestError, type Link } from './link.js';
import { NodeActions } from './node-actions.js';
import { gate, roleBlock, type Identity } from './role-gate.js';
import { classify } from './state-classes.js';

const HISTORY_LINES = 50;

export class NodePanel {
  private node: string | null = null;
  private identity: Identity = { user: null, role: null };
  private console: ConsoleView | null = null;
  private actions: NodeActions | null = null;
  private stateBox: HTMLElement | null = null;
  private nextBox: HTMLElement | null = null;
  private buildBox: HTMLElement | null = null;
  private historyBox: HTMLElement | null = null;
  private historyAxis: HTMLSelectElement | null = null;
  private hwlogBox: HTMLElement | null = null;
  private hwlogAll: HTMLInputElement | null = null;
  private hwlogButtons: HTMLButtonElement[] = [];
  /** The latest load of each list: an older answer arriving later (another axis, closed issues or not) is dropped. */
  private readonly loads = { history: 0, hwlog: 0 };

  constructor(
    private readonly root: HTMLElement,
    private readonly link: Link,
    private readonly stateOf: (node: string) => NodeState | undefined,
    private readonly onClose: () => void,
  ) {}

  get current(): string | null {
    return this.node;
  }

  setIdentity(id: Identity): void {
    this.identity = id;
    this.actions?.setIdentity(id);
    this.console?.setIdentity(id);
    for (const b of this.hwlogButtons) gate(b, this.hwlogBlock());
  }

  open(node: string): void {
    if (node === this.node) return;
    this.close(false);
    this.node = node;
    this.stateBox = h('div', { class: 'kv', id: 'node-state' });
    this.nextBox = h('p', { id: 'node-next' }, h('span', { class: 'muted' }, 'loading…'));
    this.buildBox = h('p', { id: 'node-build', hidden: true });
    this.historyBox = h('div', { id: 'node-history' }, h('p', { class: 'muted' }, 'loading…'));
    this.historyAxis = h('select', { id: 'history-axis', 'aria-label': 'history axis' }, h('option', { value: '' }, 'every axis'), ...HISTORY_AXES.map((a) => h('option', { value: a }, a)));
    this.historyAxis.addEventListener('change', () => void this.loadHistory(node));
    this.hwlogBox = h('div', { id: 'node-hwlog' }, h('p', { class: 'muted' }, 'loading…'));
    this.hwlogAll = h('input', { type: 'checkbox', id: 'hwlog-all' });
    this.hwlogAll.addEventListener('change', () => void this.loadHwlog(node));
    this.hwlogButtons = [];
    this.console = new ConsoleView(this.link, node, this.identity);
    this.actions = new NodeActions(this.link, () => [node], 'node-actions', this.identity);
    const ids = h('div', { id: 'node-ids', class: 'kv' }, h('p', { class: 'muted' }, 'loading…'));
    const closeBtn = h('button', { class: 'close', title: 'close (Esc)', 'aria-label': 'close' }, '×');
    closeBtn.addEventListener('click', () => this.close());
    this.root.replaceChildren(
      h('header', { class: 'panel-head' }, h('h2', { id: 'node-title' }, node), closeBtn),
      h('section', {}, h('h3', {}, 'Next'), this.nextBox, this.buildBox),
      h('section', {}, h('h3', {}, 'Actions'), this.actions.root),
      h('section', {}, h('h3', {}, 'State'), this.stateBox),
      h('section', {}, h('h3', {}, 'Identifiers and mappings'), ids),
      h('section', {}, h('h3', {}, 'Hardware log ', h('label', { class: 'inline' }, this.hwlogAll, ' closed too')), this.hwlogBox, this.hwlogOpenForm(node)),
      h('section', {}, h('h3', {}, 'Console'), this.console.root),
      h('section', {}, h('h3', {}, 'History ', this.historyAxis), this.historyBox),
    );
    this.root.hidden = false;
    this.renderState();
    void this.loadShow(node, ids);
    void this.loadHwlog(node);
    void this.loadHistory(node);
  }

  close(notify = true): void {
    this.console?.close();
    this.console = null;
    this.actions = null;
    this.node = null;
    this.root.hidden = true;
    this.root.replaceChildren();
    if (notify) this.onClose();
  }

  /** The node's retained state changed. */
  stateChanged(node: string): void {
    if (node === this.node) this.renderState();
  }

  /** An event about this node arrived: the next line, history and hwlog follow it live. */
  event(kind: string, node: string | null): void {
    if (node !== this.node || !node) return;
    if (kind === 'transition' || kind === 'action') void this.loadHistory(node);
    if (kind === 'transition' || kind === 'action' || kind === 'policy' || kind === 'build') void this.loadNext(node);
    if (kind === 'hwlog') void this.loadHwlog(node);
  }

  /** What muster will do about the node next (the `show` verb's `next`). */
  private async loadNext(node: string): Promise<void> {
    try {
      const n = await this.link.request('show', { node });
      if (node !== this.node) return;
      this.renderNext(n.next);
      this.renderBuild(n.build);
    } catch (err) {
      if (node === this.node) this.nextBox?.replaceChildren(problem(err));
    }
  }

  /** Its build's last word (`disk building: 45% writing image to /dev/sda`), when it has one. */
  private renderBuild(build: BuildLatest | null): void {
    if (!this.buildBox) return;
    this.buildBox.hidden = build === null;
    this.buildBox.replaceChildren(build ? `build: ${build.system ?? ''} ${build.state}: ${build.detail}` : '');
  }

  private renderNext(next: NodeNext | null): void {
    this.nextBox?.replaceChildren(next ? h('span', { class: `next next-${next.state}` }, next.summary) : h('span', { class: 'muted' }, 'no state for this node'));
  }

  private renderState(): void {
    const s = this.node ? this.stateOf(this.node) : undefined;
    if (!this.stateBox) return;
    if (!s) return void this.stateBox.replaceChildren(h('p', { class: 'muted' }, 'no state published for this node'));
    const now = Date.now();
    const c = classify(s);
    const since = (at: number) => h('span', { class: 'muted', title: clock(at) }, ` since ${ago(at, now)}`);
    this.stateBox.replaceChildren(
      ...kv([
        ['class', h('span', {}, h('span', { class: 'swatch', style: `background:${c.colour}` }), ` ${c.label}`)],
        ['phase', h('span', {}, s.phase, since(s.phaseSince))],
        ['liveness', h('span', {}, s.liveness, since(s.livenessSince))],
        ['admin', h('span', {}, s.admin, s.reason ? ` — ${s.reason}` : '', s.adminBy ? ` (${s.adminBy})` : '', since(s.adminSince))],
        ['power', h('span', {}, s.power, since(s.powerSince))],
        ['faults', String(s.faults)],
        ['agent', s.agentId ?? '—'],
      ]),
    );
  }

  private async loadShow(node: string, box: HTMLElement): Promise<void> {
    try {
      const n = await this.link.request('show', { node });
      if (node !== this.node) return;
      this.renderNext(n.next);
      this.renderBuild(n.build);
      const fp = n.fingerprint;
      box.replaceChildren(
        ...kv([
          ['agent id', n.agentId ?? 'not bound'],
          ['MACs', n.ids.macs.join(', ') || '—'],
          ['serial', n.ids.serial ?? '—'],
          ['UUID', n.ids.uuid ?? '—'],
          ['IB GUIDs', n.ids.ibGuids.join(', ') || '—'],
          ['hardware', fp ? [fp.dmi?.vendor, fp.dmi?.product, fp.cpu ? `${fp.cpu.count} × ${fp.cpu.model}` : null, fp.memoryBytes ? bytes(fp.memoryBytes) : null].filter(Boolean).join(' · ') : '—'],
          ['power', h('code', {}, n.power ?? '—')],
          ['console', h('code', {}, n.console ?? '—')],
          ['image', n.image ?? '—'],
          ['groups', n.groups.join(', ') || '—'],
          ['tags', n.tags.join(', ') || '—'],
          ...Object.entries(n.attrs).map(([k, v]): [string, string] => [k, v]),
        ]),
      );
    } catch (err) {
      if (node === this.node) box.replaceChildren(problem(err));
    }
  }

  // ---- hardware log ----------------------------------------------------------------------------

  private hwlogBlock(): string | null {
    return roleBlock(this.identity, 'operator', 'changing the hardware log');
  }

  /** A button that runs a hardware-log change, gated like the other operator actions. */
  private hwlogButton(label: string, attrs: Record<string, string>, run: () => Promise<void>, result: HTMLElement): HTMLButtonElement {
    const b = h('button', { type: 'submit', ...attrs }, label);
    gate(b, this.hwlogBlock());
    this.hwlogButtons.push(b);
    b.addEventListener('click', (e) => {
      e.preventDefault();
      b.disabled = true;
      run()
        .then(() => (result.textContent = ''))
        .catch((err: Error) => {
          result.className = 'note error';
          result.textContent = err.message;
        })
        .finally(() => gate(b, this.hwlogBlock()));
    });
    return b;
  }

  private hwlogOpenForm(node: string): HTMLElement {
    const text = h('input', { type: 'text', id: 'hwlog-text', placeholder: 'what is wrong with the machine', 'aria-label': 'new hardware-log issue', maxlength: '4096' });
    const result = h('span', { class: 'note', id: 'hwlog-result', role: 'status' });
    const open = this.hwlogButton('open issue', { id: 'hwlog-open' }, async () => {
      if (!text.value.trim()) throw new Error('hwlog open: say what is wrong first');
      await this.link.request('hwlog-open', { node, text: text.value.trim() });
      text.value = '';
    }, result);
    return h('form', { class: 'hwlog-open' }, text, open, result);
  }

  private async loadHwlog(node: string): Promise<void> {
    const box = this.hwlogBox!;
    const load = ++this.loads.hwlog;
    try {
      const issues = await this.link.request('hwlog-list', { range: node, all: this.hwlogAll?.checked ?? false });
      if (node !== this.node || load !== this.loads.hwlog) return;
      box.replaceChildren(issues.length === 0 ? h('p', { class: 'muted' }, 'none') : h('ul', { class: 'issues' }, ...issues.map((i) => this.issue(node, i))));
    } catch (err) {
      if (node !== this.node) return;
      // A controller without the hardware log answers "unknown request": say so, keep the page working.
      box.replaceChildren(err instanceof RequestError && err.unknownVerb ? h('p', { class: 'muted' }, 'this controller has no hardware log') : problem(err));
    }
  }

  private issue(node: string, i: HwlogIssue): HTMLElement {
    const now = Date.now();
    const line = h('li', { 'data-issue': String(i.id) }, h('strong', {}, `#${i.id} `), i.text, h('span', { class: 'muted' }, ` — ${i.openedBy}, ${ago(i.openedAt, now)}`));
    if (i.closedAt !== null) {
      line.classList.add('closed');
      line.append(h('span', { class: 'muted' }, ` · closed by ${i.closedBy ?? '?'}, ${ago(i.closedAt, now)}: ${i.note ?? ''}`));
      return line;
    }
    const note = h('input', { type: 'text', placeholder: 'note (required)', 'aria-label': `note closing issue ${i.id}`, maxlength: '4096' });
    const result = h('span', { class: 'note', role: 'status' });
    const close = this.hwlogButton('close', { class: 'hwlog-close' }, async () => {
      if (!note.value.trim()) throw new Error(`hwlog close #${i.id}: a note is required`);
      await this.link.request('hwlog-close', { node, id: i.id, note: note.value.trim() });
    }, result);
    line.append(h('form', { class: 'hwlog-close' }, note, close, result));
    return line;
  }

  // ---- history ---------------------------------------------------------------------------------

  /** The journal's lines for the node, newest first, with the CAUSE `muster history` prints (who, which attempt). */
  private async loadHistory(node: string): Promise<void> {
    const box = this.historyBox!;
    const axis = (this.historyAxis?.value || undefined) as (typeof HISTORY_AXES)[number] | undefined;
    const load = ++this.loads.history;
    try {
      const { transitions } = await this.link.request('history', { node, axis, limit: HISTORY_LINES });
      if (node !== this.node || load !== this.loads.history) return;
      box.replaceChildren(
        transitions.length === 0
          ? h('p', { class: 'muted' }, axis ? `no ${axis} lines yet` : 'no transitions yet')
          : h(
              'table',
              { class: 'history' },
              h('thead', {}, h('tr', {}, ...['time', 'axis', 'from', 'to', 'cause'].map((t) => h('th', {}, t)))),
              h(
                'tbody',
                {},
                ...transitions.reverse().map((t) =>
                  h(
                    'tr',
                    { class: t.axis === 'action' ? `action${t.to?.endsWith(' failed') ? ' failed' : ''}` : undefined },
                    h('td', { class: 'muted', title: clock(t.at) }, clock(t.at).slice(11)),
                    h('td', {}, t.axis),
                    h('td', {}, t.from ?? '—'),
                    h('td', {}, t.to ?? '—'),
                    h('td', { class: 'muted' }, historyCause(t)),
                  ),
                ),
              ),
            ),
      );
    } catch (err) {
      if (node === this.node) box.replaceChildren(problem(err));
    }
  }
}

function kv(rows: Array<[string, string | Node]>): HTMLElement[] {
  return rows.flatMap(([k, v]) => [h('span', { class: 'k' }, k), h('span', { class: 'v' }, v)]);
}

function problem(err: unknown): HTMLElement {
  return h('p', { class: 'error' }, (err as Error).message);
}
