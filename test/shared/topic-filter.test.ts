import { expect, it } from 'vitest';
import { filterCovers, subscriptionFilter } from '../../shared/topic-filter.js';

const CASES: Array<[filter: string, other: string, covers: boolean]> = [
  // topics: + one level, # the rest and the parent level
  ['muster/nodes/+/state', 'muster/nodes/n1/state', true],
  ['muster/nodes/+/state', 'muster/nodes/n1/other', false],
  ['muster/events/#', 'muster/events/transition', true],
  ['muster/events/#', 'muster/events', true],
  ['muster/events/+', 'muster/events', false],
  ['muster/consoles/n1/out', 'muster/consoles/n1/out', true],
  ['muster/consoles/n1/out', 'muster/consoles/n1', false],
  // filters (the broker ACL: is a subscription within what a client may read)
  ['a/#', 'a/b/c', true],
  ['a/+/out', 'a/+/out', true],
  ['a/+/out', 'a/#', false],
  ['a/+/out', 'a/x/out/y', false],
  ['a/b', 'a/+', false],
];

it.each(CASES)('filterCovers(%s, %s) is %s', (filter, other, covers) => {
  expect(filterCovers(filter, other)).toBe(covers);
});

it('reads the topic filter of a shared subscription', () => {
  expect(subscriptionFilter('$share/muster-controllers/muster/request/+')).toBe('muster/request/+');
  expect(subscriptionFilter('muster/request/+')).toBe('muster/request/+');
  expect(subscriptionFilter('$share/no-filter')).toBe('$share/no-filter');
});
