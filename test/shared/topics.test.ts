import { describe, expect, it } from 'vitest';
import { normalizeIbGuid, normalizeMac } from '../../shared/protocol.js';
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
