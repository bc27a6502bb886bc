// Loaded into a controller (or the bare broker) with `--require`, to see where time and memory go.
// Each part is on when its variable is set:
//   PROBE_MEM=1       SIGWINCH prints "MEM rss … | <heap spaces>" on stderr.
//   PROBE_STALLS=1    prints "STALL n ms" when a 10 ms timer fires > 100 ms late (PROBE_STALLS=MS:
//                     > MS late), and every JSON.stringify over 20 ms (the store's writes), to
//                     attribute the stalls.
//   PROBE_PROMOTED=F  SIGURG starts sampling allocations that survive a scavenge (promoted to old
//                     space: live or later collected by a major GC); the next SIGURG writes the
//                     sampling profile to F. With PROBE_ALLOC_ALL=1, every allocation is sampled
//                     (those a scavenge collects too): what makes the scavenges.
const fs = require('node:fs');
const v8 = require('node:v8');
const say = (line) => fs.writeSync(2, `${line}\n`);
const mib = (bytes) => (bytes / 1048576).toFixed(1);

if (process.env.PROBE_MEM) {
  process.on('SIGWINCH', () => {
    const m = process.memoryUsage();
    const spaces = v8.getHeapSpaceStatistics().map((s) => `${s.space_name.replace('_space', '')} ${mib(s.space_size)}/${mib(s.space_used_size)}`);
    say(`MEM rss ${mib(m.rss)} heapTotal ${mib(m.heapTotal)} heapUsed ${mib(m.heapUsed)} external ${mib(m.external)} | ${spaces.join(' ')}`);
  });
}

if (process.env.PROBE_STALLS) {
  const stringify = JSON.stringify;
  JSON.stringify = function (...args) {
    const t0 = performance.now();
    const out = stringify.apply(this, args);
    const ms = performance.now() - t0;
    if (ms > 20) say(`STRINGIFY ${ms.toFixed(0)} ms, ${out?.length} chars`);
    return out;
  };
  const stallMs = Number(process.env.PROBE_STALLS) > 1 ? Number(process.env.PROBE_STALLS) : 100;
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last > stallMs + 10) say(`STALL ${(now - last - 10).toFixed(0)} ms`);
    last = now;
  }, 10).unref();
}

if (process.env.PROBE_PROMOTED) {
  const session = new (require('node:inspector').Session)();
  session.connect();
  let sampling = false;
  process.on('SIGURG', () => {
    if (!sampling) {
      sampling = true;
      const opts = { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: Boolean(process.env.PROBE_ALLOC_ALL) };
      session.post('HeapProfiler.enable', () => session.post('HeapProfiler.startSampling', opts, () => say('PROMOTED sampling')));
      return;
    }
    session.post('HeapProfiler.stopSampling', (err, r) => {
      if (err) return say(`PROMOTED failed: ${err.message}`);
      fs.writeFileSync(process.env.PROBE_PROMOTED, JSON.stringify(r.profile));
      say(`PROMOTED written to ${process.env.PROBE_PROMOTED}`);
    });
  });
}
