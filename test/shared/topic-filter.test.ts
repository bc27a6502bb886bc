import { describe, expect, it } from 'vitest';
import { filterCovers } from '../../shared/topic-filter.js';

describe('filterCovers', () => {
  it('matches topics: + one level, # the rest and the parent level', () => {
    expect(filterCovers('muster/nodes/+/state', 'muster/nodes/n1/state')).toBe(true);
    expect(filterCovers('muster/nodes/+/state', 'muster/nodes/n1/other')).toBe(false);
    expect(filterCovers('muster/events/#', 'muster/events/transition')).toBe(true);
    expect(filterCovers('muster/events/#', 'muster/events')).toBe(true);
    expect(filterCovers('muster/events/+', 'muster/events')).toBe(false);
    expect(filterCovers('muster/consoles/n1/out', 'muster/consoles/n1/out')).toBe(true);
    expect(filterCovers('muster/consoles/n1/out', 'muster/consoles/n1')).toBe(false);
  });

  it('knows when one filter covers another (the broker ACL)', () => {
    expect(filterCovers('a/#', 'a/b/c')).toBe(true);
    expect(filterCovers('a/+/out', 'a/x/out')).toBe(true);
    expect(filterCovers('a/+/out', 'a/+/out')).toBe(true);
    expect(filterCovers('a/+/out', 'a/#')).toBe(false);
    expect(filterCovers('a/+/out', 'a/x/in')).toBe(false);
    expect(filterCovers('a/+/out', 'a/x/out/y')).toBe(false);
    expect(filterCovers('a/b', 'a/+')).toBe(false);
  });
});
