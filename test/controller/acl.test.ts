import { describe, expect, it } from 'vitest';
import type { Principal } from '../../controller/auth/principal.js';
import { forwardAllowed, publishRefusal, requestRefusal, subscribeRefusal } from '../../controller/broker/acl.js';
import { Topics } from '../../shared/topics.js';

const t = new Topics('muster');
const agentId = 'mac-525400000001';
const agent: Principal = { kind: 'agent', agentId, proof: 'token' };
const user = (role: 'viewer' | 'operator' | 'admin'): Principal => ({ kind: 'user', name: 'alice', role });
const cli = 'muster-cli-abc';

describe('broker ACL', () => {
  it('lets an agent publish only under its own id', () => {
    expect(publishRefusal(t, agent, agentId, `muster/agents/${agentId}/hello`, 100)).toBeNull();
    expect(publishRefusal(t, agent, agentId, 'muster/agents/mac-525400000002/hello', 100)).toMatch(/only under muster\/agents\/mac-525400000001/);
    for (const topic of ['muster/nodes/n001/state', 'muster/events/assigned', 'muster/request/assign', 'muster/response/x', 'muster/consoles/n001/in']) {
      expect(publishRefusal(t, agent, agentId, topic, 100)).toMatch(/may publish only under/);
    }
  });

  it('keeps node state, events, responses and console output to the controller, whatever the role', () => {
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      for (const topic of ['muster/nodes/n001/state', 'muster/events/transition', 'muster/response/x', 'muster/consoles/n001/out']) {
        expect(publishRefusal(t, user(role), cli, topic, 10)).toMatch(/only the controller publishes/);
      }
      expect(publishRefusal(t, user(role), cli, `muster/agents/${agentId}/hello`, 10)).toMatch(/only agents publish/);
      expect(publishRefusal(t, user(role), cli, 'muster/request/nodes', 10)).toBeNull();
    }
  });

  it('lets only operators and admins type on consoles', () => {
    expect(publishRefusal(t, user('viewer'), cli, 'muster/consoles/n001/in', 10)).toMatch(/needs the operator role/);
    expect(publishRefusal(t, user('operator'), cli, 'muster/consoles/n001/in', 10)).toBeNull();
  });

  it('refuses $SYS, foreign topics and oversized payloads', () => {
    expect(publishRefusal(t, user('admin'), 'x', '$SYS/broker/uptime', 1)).toMatch(/reserved for the broker/);
    expect(publishRefusal(t, user('admin'), 'x', 'other/topic', 1)).toMatch(/not a muster topic/);
    expect(publishRefusal(t, agent, agentId, `muster/agents/${agentId}/hello`, 1024 * 1024)).toMatch(/exceeds/);
  });

  it('requires a request to name its publisher as replyTo', () => {
    const req = (replyTo: unknown) => Buffer.from(JSON.stringify({ v: 1, id: '1', replyTo, args: {} }));
    expect(requestRefusal(cli, req(cli))).toBeNull();
    expect(requestRefusal(cli, req('muster-cli-other'))).toMatch(/must be its own client id/);
    expect(requestRefusal(cli, req(undefined))).toMatch(/must be its own client id/);
  });

  it('lets agents subscribe only to their own secret and clients read only their own responses', () => {
    expect(subscribeRefusal(t, agent, agentId, `muster/response/${agentId}`)).toMatch(/agents may subscribe only to their own muster\/credentials\/mac-525400000001/);
    expect(subscribeRefusal(t, agent, agentId, `muster/credentials/${agentId}`)).toBeNull();
    for (const bad of ['muster/credentials/mac-525400000002', 'muster/credentials/+', 'muster/credentials/#']) expect(subscribeRefusal(t, agent, agentId, bad), bad).toMatch(/only to their own/);
    expect(subscribeRefusal(t, user('viewer'), cli, 'muster/credentials/+')).toMatch(/needs admin/);
    expect(subscribeRefusal(t, user('admin'), 'muster-cli-a', 'muster/response/muster-cli-b')).toMatch(/only its own responses/);
    expect(subscribeRefusal(t, user('viewer'), 'muster-cli-a', 'muster/response/muster-cli-a')).toBeNull();
  });

  it('restricts wildcards and $SYS by role', () => {
    for (const role of ['viewer', 'operator'] as const) {
      for (const ok of ['muster/nodes/#', 'muster/nodes/+/state', 'muster/events/+', 'muster/events/transition', 'muster/consoles/+/out', 'muster/consoles/n1/out']) {
        expect(subscribeRefusal(t, user(role), cli, ok), ok).toBeNull();
      }
      for (const bad of ['#', '+/#', 'muster/#', 'muster/+/+', '$SYS/#', '$SYS/broker/clients', 'muster/request/+', 'muster/agents/+/hello', 'muster/consoles/#', 'muster/consoles/+/in', 'muster/response/+']) {
        expect(subscribeRefusal(t, user(role), cli, bad), bad).toMatch(/needs admin|only its own responses/);
      }
    }
    for (const ok of ['#', 'muster/#', '$SYS/#', 'muster/request/+']) expect(subscribeRefusal(t, user('admin'), cli, ok), ok).toBeNull();
    expect(subscribeRefusal(t, user('admin'), cli, 'muster/a#')).toMatch(/not a valid filter/);
  });

  it('forwards answers only to the client they name', () => {
    expect(forwardAllowed(t, 'a', 'muster/response/a')).toBe(true);
    expect(forwardAllowed(t, 'a', 'muster/response/b')).toBe(false);
    expect(forwardAllowed(t, 'a', 'muster/events/transition')).toBe(true);
  });

  it("delivers an agent's secret only to that agent's client id, even through an admin's #", () => {
    expect(forwardAllowed(t, agentId, `muster/credentials/${agentId}`)).toBe(true);
    expect(forwardAllowed(t, 'muster-cli-admin', `muster/credentials/${agentId}`)).toBe(false);
    expect(forwardAllowed(t, 'mac-525400000002', `muster/credentials/${agentId}`)).toBe(false);
  });
});
