/** Reconnect delays: exponential from 0.5 s to 30 s, with jitter so a rack of nodes does not reconnect in step. */
const FIRST_MS = 500;
const MAX_MS = 30_000;

/** Delay before reconnect attempt `attempt` (0-based): between half and all of the exponential step. */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const step = Math.min(MAX_MS, FIRST_MS * 2 ** Math.min(attempt, 16));
  return Math.round(step / 2 + (random() * step) / 2);
}
