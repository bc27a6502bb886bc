/**
 * The change feed's notifications (controller/store/postgres/change-feed.ts): a write naming more
 * keys than one NOTIFY payload holds is split into several under the 8000-byte limit, and every
 * key comes back out of them; a payload that is not a store notification is ignored.
 */
import { describe, expect, it } from 'vitest';
import { changeNotifications, parseChangeNotification } from '../../controller/store/postgres/change-feed.js';

describe('store change notifications', () => {
  it('splits a large write under the payload limit and names every key once', () => {
    const nodes = Array.from({ length: 10_000 }, (_, i) => `n${String(i).padStart(5, '0')}`);
    const agents = ['ä-agent', 'quote"agent'];
    const payloads = changeNotifications('w1', new Map([['nodes', nodes], ['agents', agents], ['settings', ['naming']]]));
    expect(payloads.length).toBeGreaterThan(1);
    for (const p of payloads) expect(Buffer.byteLength(p)).toBeLessThan(8000);
    const seen = new Map<string, string[]>();
    for (const p of payloads) {
      const n = parseChangeNotification(p)!;
      expect(n.writer).toBe('w1');
      for (const [t, keys] of n.keys) seen.set(t, [...(seen.get(t) ?? []), ...keys]);
    }
    expect(seen).toEqual(new Map([['nodes', nodes], ['agents', agents], ['settings', ['naming']]]));
  });

  it('a write naming nothing sends nothing; a key too long for a payload is an error naming its table', () => {
    expect(changeNotifications('w1', new Map())).toEqual([]);
    expect(() => changeNotifications('w1', new Map([['nodes', ['x'.repeat(8000)]]]))).toThrow(/a key of table nodes is too long to be named in a notification/);
  });

  it('ignores payloads that are not store notifications', () => {
    expect(parseChangeNotification('not json')).toBeNull();
    expect(parseChangeNotification(JSON.stringify({ w: 1, t: {} }))).toBeNull();
    expect(parseChangeNotification(JSON.stringify({ w: 'w2', t: { nodes: ['n1'] } }))).toEqual({ writer: 'w2', keys: new Map([['nodes', new Set(['n1'])]]) });
  });
});
