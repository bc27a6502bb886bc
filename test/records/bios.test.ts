import { describe, expect, it } from 'vitest';
import { biosDiff, desiredFor, parseBiosSettings, recordReportedBios, setDesired } from '../../controller/records/bios.js';
import { storeWith } from './fixtures.js';

describe('BIOS settings (pure)', () => {
  it('a node overrides its groups; a group listed earlier wins over a later one', () => {
    const data = storeWith({ n001: ['gpu', 'compute'], n002: ['compute'] });
    setDesired(data, { kind: 'group', name: 'compute' }, { version: '2.1.3', SMT: 'disabled', VT: 'on' });
    setDesired(data, { kind: 'group', name: 'gpu' }, { SMT: 'enabled' });
    setDesired(data, { kind: 'nodes', names: ['n002'] }, { VT: 'off' });
    expect(desiredFor(data, 'n001')).toEqual({
      version: { value: '2.1.3', from: 'group compute' },
      SMT: { value: 'enabled', from: 'group gpu' },
      VT: { value: 'on', from: 'group compute' },
    });
    expect(desiredFor(data, 'n002').VT).toEqual({ value: 'off', from: 'node n002' });
    // key= removes; a scope left empty disappears.
    setDesired(data, { kind: 'nodes', names: ['n002'] }, { VT: null });
    expect(data.bios.desired.nodes).toEqual({});
  });

  it('diff shows version and setting drift, and "not reported" as null', () => {
    const data = storeWith({ n001: ['compute'], n002: ['compute'], n003: [] });
    setDesired(data, { kind: 'group', name: 'compute' }, { version: '2.1.3', SMT: 'disabled' });
    expect(recordReportedBios(data, 'n001', { version: ' 2.1.3 ', at: 10 })).toBe(true);
    expect(recordReportedBios(data, 'n001', { version: '2.1.3', at: 20 })).toBe(false);
    recordReportedBios(data, 'n002', { version: '1.9.0', settings: { SMT: 'disabled' }, at: 30 });
    // The agent reports the version only: settings a driver reported before are kept.
    recordReportedBios(data, 'n002', { version: '1.9.0', at: 40 });
    expect(biosDiff(data, ['n001', 'n002', 'n003'])).toEqual([
      { node: 'n001', reportedAt: 20, drift: [{ key: 'SMT', desired: 'disabled', actual: null, pending: null, from: 'group compute' }] },
      { node: 'n002', reportedAt: 40, drift: [{ key: 'version', desired: '2.1.3', actual: '1.9.0', pending: null, from: 'group compute' }] },
      { node: 'n003', reportedAt: null, drift: [] },
    ]);
  });

  it('parses key=value settings and names every bad one', () => {
    expect(parseBiosSettings(['SMT=disabled', 'Boot.Order=pxe,disk', 'VT='])).toEqual({ SMT: 'disabled', 'Boot.Order': 'pxe,disk', VT: null });
    expect(() => parseBiosSettings(['SMT', '1x=2', `a=${'x'.repeat(300)}`])).toThrow(/"SMT" is not key=value.*"1x=2" is not key=value.*a: value is 300 characters, at most 256/);
  });
});
