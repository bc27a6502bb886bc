import { describe, expect, it } from 'vitest';
import { AgentRoutes } from '../../controller/bus/agent-routes.js';

describe('AgentRoutes (which broker each agent is on)', () => {
  it('follows an agent to the broker it was last heard through', () => {
    const routes = new AgentRoutes();
    expect(routes.brokerFor('a1')).toBeUndefined();
    expect(routes.heard('a1', 'hello', 0)).toBe(true);
    expect(routes.brokerFor('a1')).toBe(0);
    expect(routes.heard('a1', 'heartbeat', 1)).toBe(true);
    expect(routes.brokerFor('a1')).toBe(1);
  });

  it('drops a status (the will) from a broker the agent has left, and delivers one from its own', () => {
    const routes = new AgentRoutes();
    routes.heard('a1', 'hello', 0);
    routes.heard('a1', 'hello', 1);
    expect(routes.heard('a1', 'status', 0)).toBe(false);
    expect(routes.brokerFor('a1')).toBe(1);
    expect(routes.heard('a1', 'status', 1)).toBe(true);
    // Gone from every broker: forgotten, so a later status from anywhere is delivered.
    expect(routes.brokerFor('a1')).toBeUndefined();
    expect(routes.heard('a1', 'status', 0)).toBe(true);
  });

  it('delivers a status from an agent never heard, and a status does not say where the agent is', () => {
    const routes = new AgentRoutes();
    expect(routes.heard('a2', 'status', 1)).toBe(true);
    expect(routes.brokerFor('a2')).toBeUndefined();
  });
});
