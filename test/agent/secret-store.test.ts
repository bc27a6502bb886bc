import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SecretStore } from '../../agent/secret-store.js';
import { newAgentSecret } from '../../controller/auth/tokens.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('muster-secret-store-');
afterAll(() => tmp.remove());

describe("the agent's secret store", () => {
  it('keeps the secret under the run dir and the state dir, 0600, and reads it back', () => {
    const store = new SecretStore(tmp.dir);
    expect(store.read()).toBeNull();
    const secret = newAgentSecret();
    expect(store.save(secret)).toEqual([]);
    for (const file of [join(tmp.dir, 'run/muster/agent-secret'), join(tmp.dir, 'var/lib/muster/agent-secret')]) {
      expect(readFileSync(file, 'utf8')).toBe(`${secret}\n`);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    }
    expect(store.read()).toBe(secret);
  });

  it('after a reboot (run dir gone) reads the state dir; ignores a malformed file', () => {
    const store = new SecretStore(tmp.dir);
    const secret = newAgentSecret();
    store.save(secret);
    writeFileSync(join(tmp.dir, 'run/muster/agent-secret'), 'not a secret\n');
    expect(store.read()).toBe(secret);
  });
});
