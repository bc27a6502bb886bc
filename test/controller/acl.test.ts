import { describe, expect, it } from 'vitest';
import { publishRefusal, subscribeRefusal } from '../../controller/broker/acl.js';
import { Topics } from '../../shared/topics.js';

const t = new Topics('muster');
const agent = 'mac-525400000001';

describe('broker ACL', () => {
  it('lets an agent publish only under its own id', () => {
    expect(publishRefusal(t, agent, `muster/agents/${agent}/hello`, 100)).toBeNull();
    expect(publishRefusal(t, agent, 'muster/agents/mac-525400000002/hello', 100)).toMatch(/only under muster\/agents\/mac-525400000001/);
    expect(publishRefusal(t, agent, 'muster/nodes/n001/state', 100)).toMatch(/may publish only under/);
    expect(publishRefusal(t, agent, 'muster/events/assigned', 100)).toMatch(/may publish only under/);
    expect(publishRefusal(t, agent, 'muster/request/assign', 100)).toMatch(/may publish only under/);
  });

  it('keeps node state, events, responses and console output to the controller', () => {
    for (const topic of ['muster/nodes/n001/state', 'muster/events/transition', 'muster/response/x', 'muster/consoles/n001/out']) {
      expect(publishRefusal(t, 'muster-cli-abc', topic, 10)).toMatch(/only the controller publishes/);
    }
    expect(publishRefusal(t, 'muster-cli-abc', 'muster/request/nodes', 10)).toBeNull();
    expect(publishRefusal(t, 'muster-cli-abc', 'muster/consoles/n001/in', 10)).toBeNull();
  });

  it('refuses $SYS, foreign topics and oversized payloads', () => {
    expect(publishRefusal(t, 'x', '$SYS/broker/uptime', 1)).toMatch(/reserved for the broker/);
    expect(publishRefusal(t, 'x', 'other/topic', 1)).toMatch(/not a muster topic/);
    expect(publishRefusal(t, agent, `muster/agents/${agent}/hello`, 1024 * 1024)).toMatch(/exceeds/);
  });

  it('lets agents subscribe to nothing and clients read only their own responses', () => {
    expect(subscribeRefusal(t, agent, 'muster/#')).toMatch(/agents may not subscribe/);
    expect(subscribeRefusal(t, 'muster-cli-a', 'muster/response/muster-cli-b')).toMatch(/only its own responses/);
    expect(subscribeRefusal(t, 'muster-cli-a', 'muster/response/muster-cli-a')).toBeNull();
    expect(subscribeRefusal(t, 'watcher', 'muster/#')).toBeNull();
  });
});
