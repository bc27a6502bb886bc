/**
 * The agent's order and pace through its brokers (BrokerRotation), on a fake clock: every try is
 * placed at the time its delay says, so "a dead broker is never hammered" is counted, not slept.
 */
import { describe, expect, it } from 'vitest';
import { BrokerRotation } from '../../agent/broker-rotation.js';
import { RECONNECT_BACKOFF } from '../../agent/link.js';
import { backoffDelayMs } from '../../shared/backoff.js';

/** No jitter: each delay is exactly its step. */
const middle = () => 0.5;

/** Tries made while every broker is dead, for `ms` of fake time: [time, broker index]. */
function triesWhileAllDead(count: number, ms: number): Array<[number, number]> {
  const rotation = new BrokerRotation(count, RECONNECT_BACKOFF, middle);
  const tries: Array<[number, number]> = [[0, rotation.current]];
  let clock = 0;
  for (;;) {
    const { index, delayMs } = rotation.next();
    clock += delayMs;
    if (clock > ms) return tries;
    tries.push([clock, index]);
  }
}

describe('BrokerRotation', () => {
  it('starts at the first broker and goes round the list in order', () => {
    const rotation = new BrokerRotation(3, RECONNECT_BACKOFF, middle);
    expect(rotation.current).toBe(0);
    expect([1, 2, 3, 4, 5, 6].map(() => rotation.next().index)).toEqual([1, 2, 0, 1, 2, 0]);
  });

  it('waits the shortest step through one round, then a doubled one per round, up to the cap', () => {
    const rotation = new BrokerRotation(2, RECONNECT_BACKOFF, middle);
    const delays = Array.from({ length: 16 }, () => rotation.next().delayMs);
    expect(delays.slice(0, 6)).toEqual([375, 375, 750, 750, 1500, 1500]);
    expect(delays.slice(-2)).toEqual([22_500, 22_500]);
  });

  it('with one broker is the plain reconnect backoff, try after try', () => {
    const rotation = new BrokerRotation(1, RECONNECT_BACKOFF, middle);
    for (let attempt = 0; attempt < 10; attempt++) {
      expect(rotation.next()).toEqual({ index: 0, delayMs: backoffDelayMs(attempt, RECONNECT_BACKOFF, middle) });
    }
  });

  it('a connection resets the pace but not the place: a loss moves on to the next broker at once', () => {
    const rotation = new BrokerRotation(3, RECONNECT_BACKOFF, middle);
    for (let i = 0; i < 7; i++) rotation.next();
    expect(rotation.current).toBe(1);
    rotation.connected();
    expect(rotation.next()).toEqual({ index: 2, delayMs: 375 });
  });

  it('never tries a dead broker more often with more brokers in the list', () => {
    // Ten minutes of fake time with every broker dead.
    const tenMinutes = 10 * 60_000;
    const alone = triesWhileAllDead(1, tenMinutes).length;
    for (const count of [2, 3, 5]) {
      const tries = triesWhileAllDead(count, tenMinutes);
      for (let broker = 0; broker < count; broker++) {
        const times = tries.filter(([, i]) => i === broker).map(([t]) => t);
        expect(times.length).toBeLessThanOrEqual(alone);
        // Once the backoff is capped, a broker waits a whole round of capped steps between tries.
        const late = times.filter((t) => t > 5 * 60_000);
        for (let k = 1; k < late.length; k++) expect(late[k]! - late[k - 1]!).toBe(count * RECONNECT_BACKOFF.maxMs);
      }
    }
  });

  it('jitter stays within a third of each step', () => {
    const low = new BrokerRotation(2, RECONNECT_BACKOFF, () => 0).next().delayMs;
    const high = new BrokerRotation(2, RECONNECT_BACKOFF, () => 1).next().delayMs;
    expect([low, high]).toEqual([250, 500]);
  });

  it('refuses an empty list', () => {
    expect(() => new BrokerRotation(0, RECONNECT_BACKOFF)).toThrow('broker rotation needs at least one broker (got 0)');
  });
});
