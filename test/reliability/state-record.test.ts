/**
 * A node's stored runtime record the controller cannot read (issue 26, point 5a). Found: a record
 * with one value this muster does not know (a phase from a newer version, a hand edit) made the node
 * start as a new one, admin-online: a node an admin had taken offline was back in service, with no
 * transition in the journal. Rule: what the controller cannot read keeps the admin state it had
 * (offline stays offline, with the reason), and is reported with the record whole; when the admin
 * state itself is unreadable the node is taken offline, journalled. A record with fields the
 * controller does not know refuses the start instead (point 5b: the next write would drop them).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newRuntime } from '../../controller/state/types.js';
import { startInProc } from '../helpers/inproc.js';
import { logSink } from '../helpers/log-sink.js';

const T = Date.UTC(2026, 10, 1);
const offline = { ...newRuntime('n001', T), admin: 'offline', reason: 'disk swap, ticket 4711', adminBy: 'alice', adminSince: T + 1 };
const node = (name: string, runtime: unknown) => ({ name, ids: {}, createdAt: T, updatedAt: T, runtime });
const storeWith = (nodes: Record<string, unknown>) => (dataDir: string) => writeFileSync(join(dataDir, 'store.json'), JSON.stringify({ version: 1, nodes, agents: {} }));

describe('a stored runtime record the controller cannot read', () => {
  it('keeps the node offline with its reason, reports the record, and takes a node whose admin state is unreadable offline, journalled', async () => {
    const { log, lines } = logSink('error');
    const c = await startInProc({}, {
      log,
      prepare: storeWith({
        n001: node('n001', { ...offline, phase: 'sleeping' }),
        n002: node('n002', { ...newRuntime('n002', T), admin: 'maybe', phase: 'sleeping' }),
      }),
    });
    try {
      const rows = await c.client.request('nodes', {});
      const row = (name: string) => rows.find((r) => r.node === name);
      expect(row('n001')).toMatchObject({ admin: 'offline', reason: 'disk swap, ticket 4711' });
      expect(row('n002')).toMatchObject({ admin: 'offline', reason: expect.stringMatching(/^state record unreadable at start \(phase: .*admin: /) });
      const reported = lines.filter((l) => l.msg === 'state record unreadable: the node starts as unknown and keeps its admin state');
      expect(reported.map((l) => [l.node, l.admin])).toEqual([
        ['n001', 'offline'],
        ['n002', 'unreadable: taken offline'],
      ]);
      expect(reported[0]).toMatchObject({ err: expect.stringMatching(/^phase: /), record: { ...offline, phase: 'sleeping' } });
      const journal = c.running.ctx.journal;
      expect((await journal.history({ node: 'n001', axis: 'admin' })).transitions).toEqual([]);
      expect((await journal.history({ node: 'n002', axis: 'admin' })).transitions).toMatchObject([{ to: 'offline', cause: expect.stringMatching(/state record unreadable/) }]);
      // What is stored from now on is the record the controller runs with: offline, with the reason.
      await c.running.ctx.store.flush();
      expect(c.running.ctx.store.data.nodes.n001?.runtime).toMatchObject({ admin: 'offline', reason: 'disk swap, ticket 4711', adminBy: 'alice' });
    } finally {
      await c.stop();
    }
  });

  it('refuses to start when the record has fields the controller does not know, naming them', async () => {
    const started = startInProc({}, { prepare: storeWith({ n001: node('n001', { ...offline, bootBudget: 3 }) }) });
    await expect(started).rejects.toThrow(/store .*store\.json has fields this muster does not know: nodes\.n001\.runtime\.bootBudget\. .*Upgrade muster/);
  });
});
