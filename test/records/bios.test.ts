import { describe, expect, it } from 'vitest';
import { attributesAsSettings, biosDiff, desiredFor, firmwareSettings, parseBiosSettings, planBiosWrite, recordReportedBios, setDesired, type AttributeRule } from '../../controller/records/bios.js';
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

  it('diff: a desired key differing in its actual value or with a change pending, each with both values', () => {
    const data = storeWith({ n001: ['compute'], n002: ['compute'] });
    setDesired(data, { kind: 'group', name: 'compute' }, { version: 'U30 v2.54', ProcTurboMode: 'Disabled', SecureBoot: 'Enabled', PowerOnDelay: '30' });
    recordReportedBios(data, 'n001', { version: 'U30 v2.54', settings: { ProcTurboMode: 'Enabled', SecureBoot: 'Enabled', PowerOnDelay: '0' }, pending: { ProcTurboMode: 'Disabled', PowerOnDelay: '15' }, at: 10 });
    // A pending change on a key that holds its desired value would undo it at the next reset.
    recordReportedBios(data, 'n002', { version: 'U30 v2.54', settings: { ProcTurboMode: 'Disabled', SecureBoot: 'Enabled', PowerOnDelay: '30' }, pending: { SecureBoot: 'Disabled' }, at: 10 });
    const from = 'group compute';
    expect(biosDiff(data, ['n001', 'n002'])).toEqual([
      {
        node: 'n001',
        reportedAt: 10,
        drift: [
          { key: 'PowerOnDelay', desired: '30', actual: '0', pending: '15', from },
          { key: 'ProcTurboMode', desired: 'Disabled', actual: 'Enabled', pending: 'Disabled', from },
        ],
      },
      { node: 'n002', reportedAt: 10, drift: [{ key: 'SecureBoot', desired: 'Enabled', actual: 'Enabled', pending: 'Disabled', from }] },
    ]);
    // The agent's hello (version only) keeps what the BMC reported.
    recordReportedBios(data, 'n002', { version: 'U30 v2.54', at: 20 });
    expect(data.bios.reported.n002).toMatchObject({ settings: { SecureBoot: 'Enabled' }, pending: { SecureBoot: 'Disabled' } });
  });

  it('what the agent sees of the firmware is compared under os.*, apart from the BMC attributes, and keeps the BMC version', () => {
    const data = storeWith({ n001: ['compute'] });
    setDesired(data, { kind: 'group', name: 'compute' }, { 'os.bootMode': 'uefi', 'os.secureBoot': 'enabled', SecureBoot: 'Enabled' });
    recordReportedBios(data, 'n001', { version: 'U30 v2.54', settings: { SecureBoot: 'Enabled' }, at: 10 });
    recordReportedBios(data, 'n001', { os: firmwareSettings({ bootMode: 'uefi', secureBoot: 'disabled' }), at: 20 });
    expect(data.bios.reported.n001).toEqual({ version: 'U30 v2.54', settings: { SecureBoot: 'Enabled' }, pending: null, os: { 'os.bootMode': 'uefi', 'os.secureBoot': 'disabled' }, at: 20 });
    expect(biosDiff(data, ['n001'])[0]!.drift).toEqual([{ key: 'os.secureBoot', desired: 'enabled', actual: 'disabled', pending: null, from: 'group compute' }]);
    // Unknown Secure Boot state (UEFI, variable unreadable) is not reported at all.
    expect(firmwareSettings({ bootMode: 'uefi', secureBoot: null })).toEqual({ 'os.bootMode': 'uefi' });
  });

  it('attributes are compared as text; an attribute without a value is not reported', () => {
    expect(attributesAsSettings({ PowerOnDelay: 0, SriovEnable: false, AssetTag: '', Unset: null })).toEqual({ PowerOnDelay: '0', SriovEnable: 'false', AssetTag: '' });
  });

  describe('what to write to the BMC', () => {
    const want = (settings: Record<string, string>) => Object.fromEntries(Object.entries(settings).map(([k, value]) => [k, { value, from: 'group compute' }]));
    const attributes = { ProcTurboMode: 'Enabled', SecureBoot: 'Disabled', PowerOnDelay: 0, SriovEnable: true, AssetTag: '', SerialNumber: 'CZ1' };
    const rules = new Map<string, AttributeRule>([
      ['ProcTurboMode', { type: 'Enumeration', values: ['Enabled', 'Disabled'] }],
      ['SecureBoot', { type: 'Enumeration', values: ['Enabled', 'Disabled'] }],
      ['PowerOnDelay', { type: 'Integer', lowerBound: 0, upperBound: 120 }],
      ['SriovEnable', { type: 'Boolean' }],
      ['AssetTag', { type: 'String', maxLength: 8 }],
      ['SerialNumber', { type: 'String', readOnly: true }],
      ['NumaMode', { type: 'Enumeration', values: ['Flat', 'Clustered'] }],
    ]);

    it('writes what would differ after the reset, typed by the registry; never the version or an os.* key', () => {
      const plan = planBiosWrite(
        want({ version: '9.9', 'os.secureBoot': 'enabled', ProcTurboMode: 'Disabled', SecureBoot: 'Enabled', PowerOnDelay: '30', SriovEnable: 'false', AssetTag: 'r1u12', NumaMode: 'Flat' }),
        { attributes, pending: { SecureBoot: 'Enabled' } },
        rules,
      );
      // SecureBoot is already pending; NumaMode is in the registry but has no current value.
      expect(plan).toEqual({ write: { AssetTag: 'r1u12', NumaMode: 'Flat', PowerOnDelay: 30, ProcTurboMode: 'Disabled', SriovEnable: false }, problems: [] });
    });

    it('overwrites a pending value that is not the desired one, and writes nothing when all hold', () => {
      expect(planBiosWrite(want({ ProcTurboMode: 'Enabled' }), { attributes, pending: { ProcTurboMode: 'Disabled' } }, rules).write).toEqual({ ProcTurboMode: 'Enabled' });
      expect(planBiosWrite(want({ ProcTurboMode: 'Enabled', PowerOnDelay: '0', SriovEnable: 'true' }), { attributes, pending: {} }, rules)).toEqual({ write: {}, problems: [] });
    });

    it('names every value the registry refuses, and every key the BMC does not have', () => {
      const plan = planBiosWrite(
        want({ ProcTurboMode: 'Off', PowerOnDelay: '500', SriovEnable: 'yes', AssetTag: 'much-too-long', SerialNumber: 'X', SMT: 'on', AcPwrRcvry: 'x' }),
        { attributes, pending: {} },
        rules,
      );
      expect(plan.write).toEqual({});
      expect(plan.problems).toEqual([
        'AcPwrRcvry (from group compute): the BMC has no such BIOS attribute',
        'AssetTag (from group compute): "much-too-long" is longer than 8 characters',
        'PowerOnDelay (from group compute): 500 is above the upper bound 120',
        'ProcTurboMode (from group compute): "Off" is not one of Enabled, Disabled',
        'SerialNumber (from group compute): read-only on this BMC',
        'SMT (from group compute): the BMC has no such BIOS attribute',
        'SriovEnable (from group compute): "yes" is not true or false',
      ]);
    });

    it('without a registry, types each value as the actual one', () => {
      expect(planBiosWrite(want({ PowerOnDelay: '5', SriovEnable: 'false', ProcTurboMode: 'Whatever' }), { attributes, pending: {} }, null)).toEqual({
        write: { PowerOnDelay: 5, ProcTurboMode: 'Whatever', SriovEnable: false },
        problems: [],
      });
      expect(planBiosWrite(want({ PowerOnDelay: 'soon', NumaMode: 'Flat' }), { attributes, pending: {} }, null).problems).toEqual([
        'NumaMode (from group compute): the BMC has no such BIOS attribute',
        'PowerOnDelay (from group compute): "soon" is not an integer',
      ]);
    });
  });
});
