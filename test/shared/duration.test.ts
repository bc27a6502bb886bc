import { describe, expect, it } from 'vitest';
import { parseSince } from '../../cli/commands/nodes.js';
import { parsePolicyConfig } from '../../controller/state/config.js';
import { formatDuration, parseDuration } from '../../shared/duration.js';

describe('parseDuration', () => {
  it('reads one unit, fractions, and several summed', () => {
    expect(['500ms', '90s', '10m', '10min', '1.5h', '2d', ' 30 s '].map(parseDuration)).toEqual([500, 90_000, 600_000, 600_000, 5_400_000, 172_800_000, 30_000]);
    expect(['2m30s', '1h 30min', '1d12h', '1s500ms'].map(parseDuration)).toEqual([150_000, 5_400_000, 129_600_000, 1_500]);
  });

  it('names the bad input', () => {
    for (const bad of ['10', 'm', '10 minutes', '1.5.h', '-5s', '2m30', 'h1']) {
      expect(() => parseDuration(bad)).toThrow(`duration "${bad}" is not like 500ms, 90s, 10m, 1.5h, 2d or 2m30s`);
    }
    expect(() => parseDuration('  ')).toThrow('duration is empty');
  });

  it('prints for people', () => {
    expect([800, 45_000, 150_000, 5_400_000].map(formatDuration)).toEqual(['800 ms', '45 s', '2 min 30 s', '1 h 30 min']);
  });
});

describe('one parser for the config and the CLI', () => {
  it('the policy config takes what --since takes', () => {
    expect(parsePolicyConfig({ bootLoop: { within: '1.5h' } }).base.bootLoop.within).toBe(5_400_000);
    expect(() => parsePolicyConfig({ bootLoop: { within: '1.5 hours' } })).toThrow('bootLoop.within: duration "1.5 hours" must be a number of seconds or like 500ms, 90s, 10m, 1.5h, 2d, 2m30s');
    const now = 10_000_000_000;
    expect(parseSince('1.5h', now)).toBe(now - 5_400_000);
    expect(parseSince('2m30s', now)).toBe(now - 150_000);
    expect(parseSince('2026-01-02T03:04:05Z', now)).toBe(Date.parse('2026-01-02T03:04:05Z'));
    expect(() => parseSince('yesterday', now)).toThrow('--since "yesterday" is neither a duration (10m, 1.5h, 2m30s) nor a date/time');
  });
});
