// Reads what a probe run wrote (bench/probe/steady.mjs) and prints where time or memory went.
//   node bench/probe/analyze.mjs cpu FILE.cpuprofile [WINDOW_S=60] [SKIP_END_S=0]
//        self and inclusive time by function over the window ending SKIP_END_S before the end
//   node bench/probe/analyze.mjs stalls FILE.cpuprofile [COUNT=6]
//        the longest runs of non-idle samples (what blocked the event loop), and what ran in them
//   node bench/probe/analyze.mjs promoted FILE      (PROBE_PROMOTED's sampling profile)
//        promoted bytes by allocating function, self and inclusive
//   node --max-old-space-size=12000 bench/probe/analyze.mjs heap FILE.heapsnapshot [COUNT=40]
//        self size by object type and constructor
//   node bench/probe/analyze.mjs perf FILE.stacks [ROOT_REGEX [DEPTH=4]]
//        `perf script -F ip,sym` output of a NODEARGS=--perf-basic-prof run: samples by kind (JS by
//        package, V8 builtins, GC, kernel), apart for the stacks through muster's own code; with
//        ROOT, the inclusive tree below the first frame that matches it
import { readFileSync } from 'node:fs';

const [what, file, a, b] = process.argv.slice(2);
if (!['cpu', 'stalls', 'promoted', 'heap', 'perf'].includes(what) || !file) {
  console.error('usage: analyze.mjs cpu|stalls|promoted|heap|perf FILE [...] (see the top of this file)');
  process.exit(2);
}
const data = what === 'perf' ? null : JSON.parse(readFileSync(file, 'utf8'));

/** `function package:line`: node_modules package, a dist/ file, `node` or (native). */
function frameKey(cf) {
  const pkg = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(cf.url)?.[1] ?? (cf.url.includes('/dist/') ? cf.url.split('/').pop() : cf.url.startsWith('node:') ? 'node' : '(native)');
  return `${cf.functionName || '(anonymous)'} ${pkg}:${cf.lineNumber}`;
}

/** Adds `amount` to the key of `node` (self) and of each distinct frame up its stack (inclusive). */
function tally(self, incl, stack, amount) {
  const leaf = stack[stack.length - 1];
  self.set(leaf, (self.get(leaf) ?? 0) + amount);
  for (const key of new Set(stack)) incl.set(key, (incl.get(key) ?? 0) + amount);
}

function top(title, map, total, count, unit = (v) => '') {
  console.log(`--- ${title}`);
  for (const [key, v] of [...map].sort((x, y) => y[1] - x[1]).slice(0, count)) console.log(`${((v / total) * 100).toFixed(1).padStart(6)} %${unit(v)}  ${key}`);
}

/** A CPU profile's samples in time order, each with its stack of frame keys (root first). */
function cpuSamples(profile) {
  const byId = new Map(profile.nodes.map((nd) => [nd.id, nd]));
  const parent = new Map();
  for (const nd of profile.nodes) for (const c of nd.children ?? []) parent.set(c, nd.id);
  const stacks = new Map();
  const stackOf = (id) => {
    if (!stacks.has(id)) stacks.set(id, [...(parent.has(id) ? stackOf(parent.get(id)) : []), frameKey(byId.get(id).callFrame)]);
    return stacks.get(id);
  };
  let t = profile.startTime;
  return profile.samples.map((id, i) => ({ at: (t += profile.timeDeltas[i]), stack: stackOf(id), idle: byId.get(id).callFrame.functionName === '(idle)' }));
}

if (what === 'cpu') {
  const end = data.endTime - Number(b ?? 0) * 1e6;
  const from = end - Number(a ?? 60) * 1e6;
  const self = new Map();
  const incl = new Map();
  const inWindow = cpuSamples(data).filter((s) => s.at >= from && s.at <= end);
  for (const s of inWindow) tally(self, incl, s.stack, 1);
  console.log(`${inWindow.length} samples, ${inWindow.filter((s) => s.idle).length} idle`);
  top('self', self, inWindow.length, 40);
  top('inclusive', incl, inWindow.length, 60);
} else if (what === 'stalls') {
  const runs = [];
  let run = null;
  let prev = data.startTime;
  for (const s of cpuSamples(data)) {
    if (s.idle) {
      if (run) runs.push({ ...run, end: s.at });
      run = null;
    } else (run ??= { start: prev, samples: [] }).samples.push(s);
    prev = s.at;
  }
  for (const r of runs.sort((x, y) => y.end - y.start - (x.end - x.start)).slice(0, Number(a ?? 6))) {
    const self = new Map();
    const incl = new Map();
    for (const s of r.samples) tally(self, incl, s.stack, 1);
    console.log(`=== ${((r.end - r.start) / 1000).toFixed(0)} ms at +${((r.start - data.startTime) / 1e6).toFixed(2)} s (${r.samples.length} samples)`);
    top('self', self, r.samples.length, 6);
    top('inclusive', incl, r.samples.length, 14);
  }
} else if (what === 'promoted') {
  const self = new Map();
  const incl = new Map();
  let total = 0;
  const walk = (nd, stack) => {
    const here = [...stack, frameKey(nd.callFrame)];
    if (nd.selfSize) {
      total += nd.selfSize;
      tally(self, incl, here, nd.selfSize);
    }
    for (const c of nd.children) walk(c, here);
  };
  walk(data.head, []);
  const mibOf = (v) => ` ${(v / 1048576).toFixed(2).padStart(7)} MiB`;
  console.log(`${(total / 1048576).toFixed(1)} MiB promoted while sampling`);
  top('self', self, total, 30, mibOf);
  top('inclusive', incl, total, 50, mibOf);
} else if (what === 'perf') {
  // Each sample: one frame a line, leaf first (`ADDRESS SYMBOL`), samples separated by a blank line.
  const samples = readFileSync(file, 'utf8')
    .split(/\n\s*\n/)
    .map((block) => block.split('\n').map((line) => line.trim().replace(/^[0-9a-f]+\s+/, '').replace(/^JS:[*~^]?/, '')).filter(Boolean))
    .filter((stack) => stack.length > 0);
  const ours = (frame) => /\/dist\/(muster\.mjs|chunks\/)/.test(frame);
  const kindOf = (leaf) => {
    const pkg = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(leaf)?.[1];
    if (pkg) return `JS ${pkg}`;
    if (/ node:/.test(leaf) || leaf.startsWith('node:')) return 'JS node';
    if (/Scaveng|MinorGC|MarkCompact|Sweeper|Marking|ConcurrentMark|Heap::/.test(leaf)) return 'GC';
    if (/^Builtins_|^v8::|^RegExp:/.test(leaf)) return 'V8 builtins and runtime';
    if (/^node::|^uv_|^uv__/.test(leaf)) return 'node and libuv';
    return 'kernel, libc and other native';
  };
  const throughOurs = new Map();
  const notOurs = new Map();
  for (const stack of samples) {
    const into = stack.some(ours) ? throughOurs : notOurs;
    const kind = ours(stack[0]) ? 'JS muster' : kindOf(stack[0]);
    into.set(kind, (into.get(kind) ?? 0) + 1);
  }
  const sum = (m) => [...m.values()].reduce((x, y) => x + y, 0);
  const count = (v) => ` ${String(v).padStart(6)}`;
  console.log(`${samples.length} samples; ${sum(throughOurs)} through muster's own code`);
  top('through muster, by leaf', throughOurs, samples.length, 12, count);
  top('the rest, by leaf', notOurs, samples.length, 12, count);
  if (a) {
    const root = new RegExp(a);
    const depth = Number(b ?? 4);
    const tree = { n: 0, children: new Map() };
    for (const stack of samples) {
      const frames = [...stack].reverse();
      const at = frames.findIndex((f) => root.test(f));
      if (at < 0) continue;
      let node = tree;
      node.n++;
      for (const f of frames.slice(at + 1, at + 1 + depth)) {
        const key = f.replace(/file:\/\/|\/[^ ]*\/node_modules\//g, '').slice(0, 120);
        if (!node.children.has(key)) node.children.set(key, { n: 0, children: new Map() });
        node = node.children.get(key);
        node.n++;
      }
    }
    console.log(`--- below /${a}/: ${tree.n} samples`);
    const show = (node, indent) => {
      for (const [key, child] of [...node.children].sort((x, y) => y[1].n - x[1].n)) {
        if (child.n < Math.max(2, tree.n / 200)) continue;
        console.log(`${String(child.n).padStart(6)} ${indent}${key}`);
        show(child, `${indent}  `);
      }
    };
    show(tree, '');
  }
} else {
  const { node_fields: fields, node_types: [types] } = data.snapshot.meta;
  const [iType, iName, iSize] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const byKind = new Map();
  let total = 0;
  for (let i = 0; i < data.nodes.length; i += fields.length) {
    const type = types[data.nodes[i + iType]];
    // Strings are named by their text and code by its source: group them by type alone.
    const name = /string|code|hidden/.test(type) ? '' : String(data.strings[data.nodes[i + iName]]).slice(0, 60);
    const size = data.nodes[i + iSize];
    const k = byKind.get(`${type}:${name}`) ?? { size: 0, count: 0 };
    k.size += size;
    k.count++;
    byKind.set(`${type}:${name}`, k);
    total += size;
  }
  console.log(`${(total / 1048576).toFixed(1)} MiB live`);
  for (const [key, k] of [...byKind].sort((x, y) => y[1].size - x[1].size).slice(0, Number(a ?? 40))) console.log(`${(k.size / 1048576).toFixed(2).padStart(8)} MiB ${String(k.count).padStart(8)}  ${key}`);
}
