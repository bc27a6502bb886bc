/** Small tools the reliability tests share: a seeded PRNG, polling, metrics and store checks. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StoreData } from '../../controller/store/schema.js';
import { Transition } from '../../shared/protocol.js';

/** A seeded PRNG, so a failing run is reproduced from the seed it printed. */
export { seededRandom as seeded } from '../../shared/random.js';

/** The seed from MUSTER_SEED (to replay a failure) or a fresh one. */
export function testSeed(): number {
  const fromEnv = process.env.MUSTER_SEED;
  if (fromEnv !== undefined && !/^\d+$/.test(fromEnv)) throw new Error(`MUSTER_SEED must be a non-negative integer, got "${fromEnv}"`);
  return fromEnv !== undefined ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31);
}

export { until } from '../helpers/wait.js';

/** Sum of a Prometheus counter's samples whose labels contain `label` (all samples without one). */
export async function metric(adminUrl: string, name: string, label = ''): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(label))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

/** Resident set size of a process, from /proc (Linux). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}

/** The store file as the controller left it, validated by its schema (throws when invalid). */
export function readStore(dataDir: string): StoreData {
  return StoreData.parse(JSON.parse(readFileSync(join(dataDir, 'store.json'), 'utf8')));
}

/** Problems with the node ↔ agent binding: a node with two agents or an agent with two nodes. */
export function bindingProblems(d: StoreData): string[] {
  const problems: string[] = [];
  const nodeOfAgent = new Map<string, string>();
  for (const n of Object.values(d.nodes)) {
    if (!n.agentId) continue;
    const other = nodeOfAgent.get(n.agentId);
    if (other) problems.push(`agent ${n.agentId} is both ${other} and ${n.name}`);
    nodeOfAgent.set(n.agentId, n.name);
    const back = d.agents[n.agentId]?.node;
    if (back !== n.name) problems.push(`node ${n.name} has agent ${n.agentId}, whose record says node ${back}`);
  }
  for (const a of Object.values(d.agents)) {
    if (a.node && d.nodes[a.node]?.agentId !== a.agentId) problems.push(`agent ${a.agentId} says node ${a.node}, which has agent ${d.nodes[a.node]?.agentId}`);
  }
  return problems;
}

/** Journal lines that are not a valid transition (a line torn by a crash). */
export function tornJournalLines(dataDir: string): string[] {
  return readFileSync(join(dataDir, 'journal.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => {
      if (l === '') return false;
      try {
        return !Transition.safeParse(JSON.parse(l)).success;
      } catch {
        return true;
      }
    });
}

