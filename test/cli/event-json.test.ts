/** `watch --json` lines: times as ISO-8601, in a transition's journal line and in `degraded`'s evidence. */
import { expect, it } from 'vitest';
import { eventJson } from '../../cli/json-output.js';
import { CLI_JSON } from '../../shared/cli-output.js';

const AT = Date.parse('2026-12-02T10:00:00Z');

it('writes degraded.since as ISO-8601 and leaves other evidence as published', () => {
  const degraded = eventJson({ v: 1, kind: 'degraded', node: null, agentId: null, at: AT, message: 'store degraded', details: { state: 'degraded', since: AT - 5000 } });
  expect(degraded.details).toEqual({ state: 'degraded', since: '2026-12-02T09:59:55.000Z' });
  expect(CLI_JSON.watch.parse(degraded)).toEqual(degraded);
  const build = eventJson({ v: 1, kind: 'build', node: 'n1', agentId: null, at: AT, message: 'n1 build 45% writing', details: { state: 'building', since: 7 } });
  expect(build.details).toEqual({ state: 'building', since: 7 });
  expect(build.at).toBe('2026-12-02T10:00:00.000Z');
});
