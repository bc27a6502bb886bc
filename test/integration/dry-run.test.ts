/** `--dry-run`: a dead node's ladder is published as "would do", and no driver is ever called. */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simFingerprint } from '../../controller/demo/sim-cluster.js';
import { Event } from '../../shared/protocol.js';
import { simAgent, startInProc, type InProc } from '../helpers/inproc.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

let c: InProc;
const scripts = tempDir('muster-dry-run-scripts-');
const seen: Event[] = [];
beforeAll(async () => {
  c = await startInProc({ dryRun: true, heartbeatIntervalS: 1, policies: { grace: '1s', breaker: { settle: '1s' } }, commands: { allowedDirs: [scripts.dir] } });
  await c.client.stream([c.client.topics.allEvents], (_t, p) => void seen.push(Event.parse(JSON.parse(p.toString()))));
});
afterAll(async () => {
  await c.stop();
  scripts.remove();
});


describe('dry-run', () => {
  it('publishes what it would do and does nothing', async () => {
    const log = join(scripts.dir, 'power.log');
    const script = join(scripts.dir, 'power.sh');
    writeFileSync(script, `#!/bin/sh\necho "$1 $2" >> ${log}\n`);
    chmodSync(script, 0o755);
    const fp = simFingerprint(42);
    await c.client.request('define', { range: 'n042', settings: [`mac=${fp.bootMac}`, `power=command:${script}`] });
    const a = simAgent(c.running.mqttUrl, fp, 'mac-020000000042', 'run');
    await until('n042 alive', () => seen.find((e) => e.kind === 'transition' && e.node === 'n042' && e.details.to === 'alive'));
    await a.link.stop(); // says offline: dead at once
    const would = await until('a would-do action', () => seen.find((e) => e.kind === 'action' && e.details.state === 'would-do' && e.details.action === 'reset'));
    expect(would.message).toMatch(/n042 would reset .*\[dry-run\]/);
    expect(seen.filter((e) => e.kind === 'action' && e.details.state === 'started')).toEqual([]);
    // Power sync may have read the status (a reading, not an action); nothing else reached the script.
    const calls = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l && !l.startsWith('status ')) : [];
    expect(calls).toEqual([]);
  });
});
