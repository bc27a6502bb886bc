import { describe, expect, it } from 'vitest';
import { WakeIndex } from '../../controller/state/wake-index.js';
import { seededRandom } from '../../shared/random.js';

describe('WakeIndex', () => {
  it('answers as a plain map of wake times scanned in full would, over 20,000 random changes', () => {
    const random = seededRandom(5);
    const index = new WakeIndex(250);
    const reference = new Map<string, number>();
    const nodes = Array.from({ length: 60 }, (_, i) => `n${i}`);
    let now = 1_736_150_000_000;
    for (let i = 0; i < 20_000; i++) {
      const node = nodes[Math.floor(random() * nodes.length)]!;
      const roll = random();
      if (roll < 0.1) {
        index.delete(node);
        reference.delete(node);
      } else if (roll < 0.8) {
        // Mostly ahead, sometimes behind (a kept silence time), sometimes in the same slot as before.
        const time = roll < 0.2 ? now - Math.floor(random() * 2000) : roll < 0.3 ? (reference.get(node) ?? now) + 1 : now + Math.floor(random() * 20_000);
        index.set(node, time);
        reference.set(node, time);
      } else now += Math.floor(random() * 600);
      expect(index.get(node)).toBe(reference.get(node));
      if (i % 10 === 0) {
        const due = [...reference].filter(([, t]) => t <= now).map(([n]) => n).sort();
        expect(index.due(now), `step ${i}`).toEqual(due);
        expect(index.earliest()).toBe(reference.size === 0 ? null : Math.min(...reference.values()));
      }
    }
  });

  it('is empty when every node has gone', () => {
    const index = new WakeIndex();
    index.set('a', 1000);
    index.set('b', 5000);
    index.set('a', 9000);
    index.delete('a');
    index.delete('b');
    index.delete('b');
    expect(index.earliest()).toBeNull();
    expect(index.due(Number.MAX_SAFE_INTEGER)).toEqual([]);
  });
});
