import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../controller/metrics.js';

const sample = (text: string, series: string): number | null => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? null : Number(line.slice(series.length + 1));
};

describe('muster_messages_total', () => {
  it('counts by kind between scrapes and keeps counting up across them', async () => {
    const metrics = createMetrics();
    for (let i = 0; i < 3; i++) metrics.messages.count('heartbeat');
    metrics.messages.count('hello');
    const first = await metrics.registry.metrics();
    expect(sample(first, 'muster_messages_total{kind="heartbeat"}')).toBe(3);
    expect(sample(first, 'muster_messages_total{kind="hello"}')).toBe(1);
    expect(sample(first, 'muster_messages_total{kind="state"}')).toBeNull(); // never seen: no series, as before
    metrics.messages.count('heartbeat');
    metrics.messages.count('heartbeat');
    const second = await metrics.registry.metrics();
    expect(sample(second, 'muster_messages_total{kind="heartbeat"}')).toBe(5);
    expect(sample(second, 'muster_messages_total{kind="hello"}')).toBe(1);
    expect(sample(await metrics.registry.metrics(), 'muster_messages_total{kind="heartbeat"}')).toBe(5);
  });
});
