/**
 * The controller's two times. `wall` is the system clock: what people read (events, the journal,
 * the store's timestamps, node states as published). `steady` is what every duration is judged on
 * (liveness, phase deadlines, grace, settle, backoff, timeouts): epoch-like milliseconds that start
 * at the wall time of the process start and then advance with the monotonic clock only, so a
 * jump of the wall clock (an NTP step, a hand `date -s`) moves no deadline and kills no node.
 */
export interface Clock {
  wall(): number;
  steady(): number;
}

/** The process's clock: `performance.now()` is monotonic, `performance.timeOrigin` the wall time it counts from. */
export const systemClock: Clock = {
  wall: Date.now,
  steady: () => Math.floor(performance.timeOrigin + performance.now()),
};

/** Below this, wall and steady time agree as far as anyone reads them. */
const AGREE_MS = 1000;

/**
 * What to add to a steady time to show it as wall time: the wall clock's jumps since the start,
 * or 0 while the two agree within a second (else the same instant would read a millisecond
 * differently in a node's state and in the journal).
 */
export function wallOffset(wall: number, steady: number): number {
  const offset = wall - steady;
  return Math.abs(offset) < AGREE_MS ? 0 : offset;
}
