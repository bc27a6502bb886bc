import { describe, expect, it } from 'vitest';
import { EventBus } from '../../controller/events.js';
import { createMetrics } from '../../controller/metrics.js';

const hwlog = (node: string) => ({ node });

/** A bus whose failures are recorded, as the controller logs and counts them. */
function recordingBus() {
  const failures: string[] = [];
  const metrics = createMetrics();
  const bus = new EventBus((event, owner, err) => {
    metrics.listenerErrors.inc({ event });
    failures.push(`${owner} ${event}: ${(err as Error).message}`);
  });
  return { bus, failures, metrics };
}

describe('EventBus', () => {
  it('a listener that throws is reported and counted; the others still run, and the emitter sees no error', async () => {
    const { bus, failures, metrics } = recordingBus();
    const heard: string[] = [];
    bus.owner('first').on('hwlog:changed', ({ node }) => void heard.push(`first ${node}`));
    bus.owner('faulty').on('hwlog:changed', ({ node }) => {
      throw new Error(`no record of ${node}`);
    });
    bus.owner('last').on('hwlog:changed', ({ node }) => void heard.push(`last ${node}`));
    expect(() => bus.emit('hwlog:changed', hwlog('n1'))).not.toThrow();
    bus.emit('hwlog:changed', hwlog('n2'));
    expect(heard).toEqual(['first n1', 'last n1', 'first n2', 'last n2']);
    expect(failures).toEqual(['faulty hwlog:changed: no record of n1', 'faulty hwlog:changed: no record of n2']);
    expect(await metrics.registry.getSingleMetricAsString('muster_listener_errors_total')).toContain('muster_listener_errors_total{event="hwlog:changed"} 2');
  });

  it("an owner's off() drops all of its listeners, of every kind, and no one else's", () => {
    const { bus } = recordingBus();
    const heard: string[] = [];
    const power = bus.owner('power');
    power.on('hwlog:changed', () => void heard.push('power hwlog'));
    power.on('rejected', () => void heard.push('power rejected'));
    bus.owner('state').on('hwlog:changed', () => void heard.push('state hwlog'));
    power.off();
    bus.emit('hwlog:changed', hwlog('n1'));
    bus.emit('rejected', { source: 't', reason: 'r', at: 1 });
    expect(heard).toEqual(['state hwlog']);
  });

  it('listeners dropped or added during an emit take effect from the next emit', () => {
    const { bus } = recordingBus();
    const heard: string[] = [];
    const later = bus.owner('later');
    bus.owner('dropper').on('hwlog:changed', ({ node }) => {
      heard.push(`dropper ${node}`);
      later.off();
      bus.owner('added').on('hwlog:changed', ({ node: n }) => void heard.push(`added ${n}`));
    });
    later.on('hwlog:changed', ({ node }) => void heard.push(`later ${node}`));
    bus.emit('hwlog:changed', hwlog('n1'));
    expect(heard).toEqual(['dropper n1', 'later n1']);
    heard.length = 0;
    bus.emit('hwlog:changed', hwlog('n2'));
    expect(heard).toEqual(['dropper n2', 'added n2']);
  });

  it('emits synchronously: when emit returns, every listener has run', () => {
    const { bus } = recordingBus();
    let last = '';
    bus.owner('state').on('power:reading', ({ node, power }) => void (last = `${node} ${power}`));
    bus.emit('power:reading', { node: 'n3', power: 'off', at: 5 });
    expect(last).toBe('n3 off');
  });
});
