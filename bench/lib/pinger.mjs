// The outside view of a controller's event loop, in a process of its own: a `naming` request every
// 100 ms over MQTT until the parent says stop, then the round trips. Its own process so that the
// orchestrator's work (every event parsed, the store file read whole) is not in the round trips;
// its own event-loop delay comes back beside them. Forked by `forkPinger` (observer.mjs).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Observer } from './observer.mjs';

const [url, verb, everyMs] = process.argv.slice(2);
const obs = await Observer.connect(url, []);
const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();
const stop = obs.startPinger(verb, Number(everyMs));
process.send({ ready: true });
process.once('message', async () => {
  const rtts = await stop();
  lag.disable();
  await obs.close();
  process.send({ rtts, loopDelayMaxMs: lag.max / 1e6 }, () => process.exit(0));
});
