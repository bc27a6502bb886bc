import { describe, expect, it } from 'vitest';
import { closeIssue, listIssues, openIssue, openIssueCount } from '../../controller/records/hwlog.js';
import { HwlogIssue } from '../../controller/store/schema.js';
import { storeWith } from './fixtures.js';

describe('hwlog (pure)', () => {
  it('opens issues with stable per-store ids and counts the open ones per node', () => {
    const data = storeWith({ n001: [], n002: [] });
    const a = openIssue(data, { node: 'n001', text: 'DIMM B2 errors', source: 'admin', by: 'alice' }, 1000);
    const b = openIssue(data, { node: 'n002', text: 'fan 3 failed', source: 'policy', evidence: { attempts: 3 }, by: 'policy' }, 2000);
    expect([a.issue.id, b.issue.id]).toEqual([1, 2]);
    expect(a.issue).toMatchObject({ node: 'n001', text: 'DIMM B2 errors', source: 'admin', openedAt: 1000, openedBy: 'alice', closedAt: null, evidence: {} });
    expect(b.issue.evidence).toEqual({ attempts: 3 });
    expect(openIssueCount(data, 'n001')).toBe(1);

    closeIssue(data, 'n001', 1, 'DIMM replaced', 'bob', 3000);
    expect(openIssueCount(data, 'n001')).toBe(0);
    // Ids are never reused, even after a close.
    expect(openIssue(data, { node: 'n001', text: 'PSU 2 lost', source: 'admin', by: 'alice' }, 4000).issue.id).toBe(3);
    expect(listIssues(data, null, false).map((i) => i.id)).toEqual([2, 3]);
    expect(listIssues(data, ['n001'], true).map((i) => [i.id, i.closedBy, i.note])).toEqual([
      [1, 'bob', 'DIMM replaced'],
      [3, null, null],
    ]);
  });

  it('returns the open issue instead of a copy when the same fault is reported again', () => {
    const data = storeWith({ n001: [] });
    const first = openIssue(data, { node: 'n001', text: 'NIC swapped', source: 'drift', by: 'identify' }, 1);
    const again = openIssue(data, { node: 'n001', text: 'NIC swapped', source: 'drift', by: 'identify' }, 2);
    expect(again).toEqual({ issue: first.issue, created: false });
    expect(openIssueCount(data, 'n001')).toBe(1);
  });

  it('refuses to close an unknown, foreign or closed issue, and empty text', () => {
    const data = storeWith({ n001: [], n002: [] });
    openIssue(data, { node: 'n001', text: 'x', source: 'admin', by: 'a' }, 1);
    expect(() => closeIssue(data, 'n001', 9, 'n', 'b', 2)).toThrow('there is no issue #9');
    expect(() => closeIssue(data, 'n002', 1, 'n', 'b', 2)).toThrow('issue #1 belongs to node n001, not n002');
    closeIssue(data, 'n001', 1, 'done', 'b', 2);
    expect(() => closeIssue(data, 'n001', 1, 'n', 'c', 3)).toThrow('already closed by b');
    expect(() => openIssue(data, { node: 'n001', text: '  ', source: 'admin', by: 'a' }, 1)).toThrow('must not be empty');
    // A policy's long message is clipped to what the store takes, never refused.
    const long = openIssue(data, { node: 'n001', text: 'x'.repeat(10_000), source: 'policy', by: 'policy' }, 1).issue;
    expect(HwlogIssue.parse(long).text).toHaveLength(4096);
  });
});
