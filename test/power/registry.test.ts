import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PowerTargetError, redactTarget, scrubSecrets } from '../../controller/power/driver.js';
import { POWER_SCHEMES, createPowerDriver } from '../../controller/power/registry.js';
import { POWER_KIND_CAPABILITIES } from './conformance.js';

const badTarget = (target: string, node = 'n012') => {
  try {
    createPowerDriver(target, node);
  } catch (err) {
    expect(err).toBeInstanceOf(PowerTargetError);
    return (err as Error).message;
  }
  throw new Error(`${target} was accepted`);
};

describe('redactTarget', () => {
  it('hides URL passwords and secret query values', () => {
    expect(redactTarget('ipmi://admin:s3cret@10.0.0.5:623')).toBe('ipmi://admin:***@10.0.0.5:623');
    expect(redactTarget('redfish://root:p%40ss@bmc/Systems/1?insecure=1&token=abc123')).toBe('redfish://root:***@bmc/Systems/1?insecure=1&token=***');
    expect(redactTarget('qemu:///run/vm/n1.sock')).toBe('qemu:///run/vm/n1.sock');
  });
  it('masks user:pass@ even in strings that are not URLs', () => {
    expect(redactTarget('ipmi://admin:s3cret@')).not.toContain('s3cret');
    expect(redactTarget('ipmi://admin:s3cret@ho st')).toBe('ipmi://admin:***@ho st');
  });
  it('scrubSecrets masks plain and URL-encoded forms', () => {
    expect(scrubSecrets('auth p@ss and p%40ss failed', ['p@ss'])).toBe('auth *** and *** failed');
  });
});

describe('createPowerDriver', () => {
  it('picks the driver by scheme and exposes a redacted target', () => {
    expect(POWER_SCHEMES).toEqual(['ipmi', 'redfish', 'qemu', 'command', 'fence', 'sim']);
    const d = createPowerDriver('ipmi://admin:topsecret@10.1.2.3:6230', 'n001');
    expect(d.kind).toBe('ipmi');
    expect(d.node).toBe('n001');
    expect(d.target).toBe('ipmi://admin:***@10.1.2.3:6230');
    expect(d.nativeCycle).toBe(false);
    expect(createPowerDriver('qemu:///tmp/x.sock', 'vm1').nativeCycle).toBe(true);
    expect(createPowerDriver('qemu:///tmp/x.sock?cycle=generic', 'vm1').nativeCycle).toBe(false);
    expect(createPowerDriver('ipmi://a:b@h?cycle=native', 'n1').nativeCycle).toBe(true);
    expect(createPowerDriver('redfish://h/Systems/1', 'n1', { credentials: { username: 'u', password: 'p' } }).kind).toBe('redfish');
  });

  it('names what is wrong in a bad target, without its secrets', () => {
    expect(badTarget('not a url')).toMatch(/^node n012: bad power target "not a url": not a URL \(expected one of ipmi:\/\//);
    expect(badTarget('ftp://x')).toContain('unknown power driver "ftp" (known: ipmi, redfish, qemu, command, fence, sim)');
    const noHost = badTarget('ipmi://admin:hunter22@');
    expect(noHost).not.toContain('hunter22');
    expect(noHost).toMatch(/missing host|not a URL/);
    expect(badTarget('ipmi://10.0.0.1')).toContain('missing user and password');
    expect(badTarget('ipmi://a:hunter22@h?cipher=x')).toBe('node n012: bad power target "ipmi://a:***@h?cipher=x": cipher= must be a cipher suite number, got "x"');
    expect(badTarget('ipmi://admin:secret@10.1.0.1?chiper=3')).toBe('node n012: bad power target "ipmi://admin:***@10.1.0.1?chiper=3": unknown option "chiper=" (ipmi accepts: cycle, cipher)');
    expect(badTarget('ipmi://a:b@h?cycle=soft')).toContain('cycle= must be native or generic, got "soft"');
    expect(badTarget('redfish://u:p@bmc/')).toContain('the path must name a System');
    expect(badTarget('redfish://u:p@bmc/Systems/1?insecure=maybe')).toContain('insecure= must be 1 or 0');
    expect(badTarget('qemu://host/x.sock')).toContain('three slashes');
    expect(badTarget('command:script.sh')).toContain('must be absolute');
    expect(badTarget('sim://?fail=explode')).toContain('fail= lists "explode"');
    expect(badTarget('command:/bin/true?cycle=native&x=1')).toContain('unknown option "x="');
    expect(badTarget('sim://', 'bad/name')).toContain('node name "bad/name" is invalid');
  });

  it('refuses non-positive timeouts', () => {
    expect(() => createPowerDriver('sim://', 'n1', { timeoutMs: 0 })).toThrow(/timeoutMs must be a positive number of ms, got 0/);
  });
});

describe('the driver list', () => {
  it('every registered kind runs the conformance suite and has a capability entry', () => {
    for (const scheme of POWER_SCHEMES) expect(existsSync(new URL(`./${scheme}.conformance.test.ts`, import.meta.url)), `test/power/${scheme}.conformance.test.ts`).toBe(true);
    expect(Object.keys(POWER_KIND_CAPABILITIES).sort()).toEqual([...POWER_SCHEMES].sort());
  });
});
