// mqtt.js imports `worker-timers` (timers run in a Web Worker so background browser tabs keep
// pinging). Node needs none of that: the build aliases the package to these native timers.
export const setTimeout = globalThis.setTimeout;
export const clearTimeout = globalThis.clearTimeout;
export const setInterval = globalThis.setInterval;
export const clearInterval = globalThis.clearInterval;
