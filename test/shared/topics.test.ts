import { describe, expect, it } from 'vitest';
import { normalizeIbGuid, normalizeMac } from '../../shared/protocol.js';
import { seededRandom } from '../../shared/random.js';
import { Topics } from '../../shared/topics.js';

describe('topics', () => {
  const t = new Topics('muster');
  it('builds and parses every topic', () => {
    expect(t.parse(t.agent('mac-525400000001', 'hello'))).toEqual({ area: 'agent', agentId: 'mac-525400000001', kind: 'hello' });
    expect(t.parse(t.nodeState('n001'))).toEqual({ area: 'node', node: 'n001' });
    expect(t.parse(t.event('transition'))).toEqual({ area: 'event', kind: 'transition' });
    expect(t.parse(t.consoleOut('n001'))).toEqual({ area: 'console', node: 'n001', stream: 'out' });
    expect(t.parse(t.request('nodes'))).toEqual({ area: 'request', verb: 'nodes' });
    expect(t.parse(t.response('cli-1'))).toEqual({ area: 'response', clientId: 'cli-1' });
    expect(t.parse(t.controllerRequest('c2'))).toEqual({ area: 'controller', controller: 'c2', kind: 'request' });
    expect(t.parse(t.controllerResponse('c1'))).toEqual({ area: 'controller', controller: 'c1', kind: 'response' });
    expect(t.sharedRequests).toBe('$share/muster-controllers/muster/request/+');
  });
  it('refuses topics that are not exactly ours', () => {
    for (const bad of ['other/agents/x/hello', 'muster/agents/x/unknown', 'muster/agents/x/hello/extra', 'muster/agents/+/hello', 'muster//x', 'muster/nodes/n1/state/x']) {
      expect(t.parse(bad), bad).toBeNull();
    }
  });
  it('refuses ids that would inject topic levels', () => {
    expect(() => t.nodeState('a/b')).toThrow(/cannot be a topic level/);
    expect(() => t.agent('#', 'hello')).toThrow(/cannot be a topic level/);
    expect(() => new Topics('a/b')).toThrow(/one topic level/);
  });
  it('normalises MACs and IB GUIDs in their usual spellings', () => {
    expect(normalizeMac('AA-BB-CC-DD-EE-FF')).toBe('aa:bb:cc:dd:ee:ff');
    expect(normalizeMac('aabb.ccdd.eeff')).toBe('aa:bb:cc:dd:ee:ff');
    expect(normalizeMac('aa:bb:cc:dd:ee')).toBeNull();
    expect(normalizeMac('gg:bb:cc:dd:ee:ff')).toBeNull();
    expect(normalizeIbGuid('0x0002C90300012345')).toBe('0002:c903:0001:2345');
    expect(normalizeIbGuid('00:02:c9:03:00:01:23:45')).toBe('0002:c903:0001:2345');
    expect(normalizeIbGuid('1234')).toBeNull();
  });
});

describe('topic parsing by index', () => {
  // The split-and-pattern parser it replaced: the reference for what a topic means.
  const reference = (prefix: string, topic: string): unknown => {
    const parts = topic.split('/');
    if (parts[0] !== prefix || parts.some((p) => !/^[A-Za-z0-9_.-]{1,128}$/.test(p))) return null;
    const [, area, a, b] = parts;
    if (parts.length === 4 && area === 'agents' && ['hello', 'state', 'heartbeat', 'status'].includes(b!)) return { area: 'agent', agentId: a, kind: b };
    if (parts.length === 4 && area === 'nodes' && b === 'state') return { area: 'node', node: a };
    if (parts.length === 4 && area === 'consoles' && (b === 'out' || b === 'in')) return { area: 'console', node: a, stream: b };
    if (parts.length === 3 && area === 'events') return { area: 'event', kind: a };
    if (parts.length === 3 && area === 'request') return { area: 'request', verb: a };
    if (parts.length === 3 && area === 'response') return { area: 'response', clientId: a };
    if (parts.length === 4 && area === 'controllers' && (b === 'request' || b === 'response')) return { area: 'controller', controller: a, kind: b };
    return null;
  };

  it('means what the split-and-pattern parser meant, on 20,000 generated topics', () => {
    // Topics built from the levels that matter plus near misses: wildcards, empty levels,
    // over-long and non-ASCII ids, a prefix that is only a prefix of the first level.
    const levels = ['muster', 'musterx', 'muste', 'agents', 'nodes', 'consoles', 'controllers', 'events', 'request', 'response', 'hello', 'state', 'heartbeat', 'status',
      'out', 'in', 'n001', 'mac-5254', '', '+', '#', 'a b', 'ü', 'x'.repeat(128), 'x'.repeat(129), 'heartbeats', 'stat', '$SYS'];
    const random = seededRandom(7);
    const pick = (): string => levels[Math.floor(random() * levels.length)]!;
    const t = new Topics('muster');
    let ours = 0;
    for (let i = 0; i < 20_000; i++) {
      const depth = 1 + (i % 5);
      const topic = ['muster', ...Array.from({ length: depth }, pick)].join('/');
      const expected = reference('muster', topic);
      if (expected) ours++;
      expect(t.parse(topic), topic).toEqual(expected);
      const shifted = `${pick()}/${topic}`;
      expect(t.parse(shifted), shifted).toEqual(reference('muster', shifted));
    }
    expect(ours).toBeGreaterThan(200); // the generator reaches the valid topics, not only refusals
  });

  it('hands one topic\'s meaning to each caller in turn, and a new topic its own', () => {
    const t = new Topics('site1');
    const first = t.parse('site1/agents/a1/heartbeat');
    expect(t.parse('site1/agents/a1/heartbeat')).toBe(first);
    expect(t.parse('site1/agents/a2/heartbeat')).toEqual({ area: 'agent', agentId: 'a2', kind: 'heartbeat' });
    expect(t.parse('muster/agents/a2/heartbeat')).toBeNull();
    expect(t.parse('site1/agents/a1/heartbeat')).toEqual(first);
  });
});
