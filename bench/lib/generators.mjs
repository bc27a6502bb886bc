// The orchestrator's side of the generator processes: fork, command over IPC, kill/freeze.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { children } from './targets.mjs';

export class Generator {
  constructor(name) {
    this.name = name;
    this.child = fork(join(import.meta.dirname, 'gen-worker.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.add(this.child);
    this.child.once('exit', () => children.delete(this.child));
    this.pending = new Map();
    this.seq = 0;
    this.exited = false;
    this.ready = new Promise((resolve, reject) => {
      this.child.on('message', (m) => {
        if (m.ready) return resolve();
        if (m.log) return void (process.env.BENCH_VERBOSE && console.error(`[${name}] ${m.log}`));
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        m.ok ? p.resolve(m.value) : p.reject(new Error(`${name}: ${m.error}`));
      });
      this.child.once('exit', (code, sig) => {
        this.exited = true;
        const err = new Error(`generator ${name} exited (${sig ?? code})`);
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      });
    });
  }

  get pid() {
    return this.child.pid;
  }

  async call(cmd, args) {
    await this.ready;
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, cmd, args });
    });
  }

  signal(sig) {
    this.child.kill(sig);
  }

  async close() {
    if (this.exited) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    try {
      this.child.kill('SIGCONT');
      await Promise.race([this.call('end'), new Promise((r) => setTimeout(r, 2000))]);
    } catch {
      // already gone
    }
    if (!this.exited) this.child.kill('SIGKILL');
    await exited;
  }
}

/** `count` agents numbered from `first`, split over `workers` generator processes. */
export async function spawnGenerators({ first = 1, count, workers, label = 'gen' }) {
  const per = Math.ceil(count / workers);
  const gens = [];
  for (let w = 0; w < workers; w++) {
    const n = Math.min(per, count - w * per);
    if (n <= 0) break;
    const g = new Generator(`${label}${w}`);
    g.first = first + w * per;
    g.count = n;
    gens.push(g);
  }
  await Promise.all(gens.map((g) => g.ready));
  return gens;
}
