// readable-stream falls back to the `abort-controller` polyfill when the global is missing; Node
// always has it, so the agent bundles the global instead of the polyfill (~8 KB).
module.exports = { AbortController: globalThis.AbortController, AbortSignal: globalThis.AbortSignal };
