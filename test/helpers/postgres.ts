// PostgreSQL for vitest files: the throwaway cluster (postgres-server.ts, shared with the bench)
// started once per file.
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startPostgres, type TestPostgres } from './postgres-server.js';

export { startPostgres, type TestPostgres } from './postgres-server.js';

/**
 * For a test file: one cluster, started before its tests and stopped after them, and cleanups run
 * (last first) after each test.
 */
export function postgresPerFile(): { createDatabase: () => Promise<string>; cleanup: Array<() => unknown> } {
  let server: TestPostgres | undefined;
  const cleanup: Array<() => unknown> = [];
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(() => server?.stop());
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  return { createDatabase: () => server!.createDatabase(), cleanup };
}
