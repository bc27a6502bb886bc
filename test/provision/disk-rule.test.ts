/** The `disk=` rule (shared/disk-rule.ts): parsed, refused with a reason, matched against the agent's disk fingerprint. */
import { describe, expect, it } from 'vitest';
import { diskRuleFromCmdline, diskRuleToCmdline, parseDiskRule, pickDisk, type DiskInfo } from '../../shared/disk-rule.js';
import { parseNodeSetting } from '../../shared/node-network.js';

/** Disks as agent/fingerprint/disks.ts reports them, in /sys/block order. */
const DISKS: DiskInfo[] = [
  { name: 'sr0', model: 'QEMU DVD-ROM', serial: null, sizeBytes: 0 },
  { name: 'vdb', model: null, serial: 'data-2', sizeBytes: 500e9 },
  { name: 'sda', model: 'SAMSUNG MZ7LH480', serial: 'S3Z1NB0K123', sizeBytes: 480e9 },
  { name: 'nvme0n1', model: 'INTEL SSDPE2KX010T8', serial: 'PHLJ9123', sizeBytes: 1e12 },
  { name: 'vda', model: null, serial: null, sizeBytes: 64 * 2 ** 30 },
];
const pick = (rule: string) => {
  const r = pickDisk(rule, DISKS);
  return r.ok ? r.value.name : r.error;
};

describe('disk rule', () => {
  it.each([
    ['/dev/vdb', 'vdb'],
    ['size>=100G', 'nvme0n1'],
    ['size<100G', 'vda'],
    ['size<=64Gi', 'vda'],
    ['size>480G', 'nvme0n1'],
    ['size>=480G,size<=480G', 'sda'],
    ['model:SAMSUNG*', 'sda'],
    ['model:samsung?mz7lh*', 'sda'],
    ['serial:S3Z1*', 'sda'],
    ['serial:data-2', 'vdb'],
    ['size>=400G,model:INTEL*', 'nvme0n1'],
  ])('%s picks %s (the first match by name)', (rule, disk) => {
    expect(pick(rule)).toBe(disk);
  });

  it('no match names the rule and the disks it could be written against; an empty drive never matches', () => {
    expect(pick('size>=2T')).toBe(
      'no disk matches the rule size>=2T (disks: nvme0n1 1000.0 GB, model INTEL SSDPE2KX010T8, serial PHLJ9123; sda 480.0 GB, model SAMSUNG MZ7LH480, serial S3Z1NB0K123; vda 68.7 GB; vdb 500.0 GB, serial data-2)',
    );
    expect(pick('/dev/sr0')).toMatch(/^no disk matches the rule \/dev\/sr0/);
    expect(pickDisk('model:X', [])).toEqual({ ok: false, error: 'no disk matches the rule model:X (disks: none)' });
  });

  it.each([
    ['', 'must be 1-256 characters'],
    ['model:a b', 'must be 1-256 characters'],
    ['size>=10X', '"size>=10X" is not a size bound like size>=100G'],
    ['size=10G', '"size=10G" is not a size bound'],
    ['label:root', '"label:root" is not a rule'],
    ['/dev/', '"/dev/" is not a rule'],
    ['model:', '"model:" is not a rule'],
  ])('refuses %j: %s', (rule, problem) => {
    const r = parseDiskRule(rule);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toContain(problem);
  });

  it('is a node setting: disk=RULE is checked when set, disk= clears it', () => {
    expect(parseNodeSetting('disk', 'size>=100G,model:SAMSUNG*')).toEqual({ ok: true, value: { kind: 'disk', disk: 'size>=100G,model:SAMSUNG*' } });
    expect(parseNodeSetting('disk', '')).toEqual({ ok: true, value: { kind: 'disk', disk: null } });
    expect(parseNodeSetting('disk', 'biggest')).toEqual({ ok: false, error: expect.stringMatching(/^disk: "biggest" is not a rule \(size>=100G, model:SAMSUNG\*/) });
  });

  it('travels on a kernel command line without boot script syntax and comes back whole', () => {
    const rule = 'size>=100G,model:SAMSUNG?MZ*,/dev/sdb';
    const onLine = diskRuleToCmdline(rule);
    expect(onLine).toBe('size%3E=100G,model:SAMSUNG%3FMZ%2A,/dev/sdb');
    expect(onLine).not.toMatch(/[<>*?]/);
    expect(diskRuleFromCmdline(onLine)).toBe(rule);
  });
});
