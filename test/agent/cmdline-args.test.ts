import { describe, expect, it } from 'vitest';
import { parseAgentArgs } from '../../agent/args.js';
import { bootParams, parseBootif, parseCmdline } from '../../agent/cmdline.js';
import { parseControllerUrl, parseControllerUrls } from '../../agent/controller-url.js';

describe('kernel command line', () => {
  it('splits words, keeps bare flags, honours quotes and stops at --', () => {
    const params = parseCmdline('BOOT_IMAGE=/vmlinuz quiet ip=dhcp msg="two words" x=a=b -- init-arg=1\n');
    expect([...params]).toEqual([
      ['BOOT_IMAGE', '/vmlinuz'],
      ['quiet', ''],
      ['ip', 'dhcp'],
      ['msg', 'two words'],
      ['x', 'a=b'],
    ]);
  });

  it('finds the controller and the boot NIC', () => {
    expect(bootParams('console=ttyS0 BOOTIF=01-B0-7B-25-D1-3A-10 muster.controller=mqtt://10.0.2.2:1883')).toEqual({
      controller: 'mqtt://10.0.2.2:1883',
      token: null,
      bootMac: 'b0:7b:25:d1:3a:10',
    });
    expect(bootParams('quiet')).toEqual({ controller: null, token: null, bootMac: null });
    expect(bootParams('muster.token=mt1.abc').token).toBe('mt1.abc');
  });

  it('parses BOOTIF with or without the ARP type, and refuses garbage', () => {
    expect(parseBootif('01-aa-bb-cc-dd-ee-ff')).toBe('aa:bb:cc:dd:ee:ff');
    expect(parseBootif('aa:bb:cc:dd:ee:ff')).toBe('aa:bb:cc:dd:ee:ff');
    expect(parseBootif('01-aa-bb')).toBeNull();
    expect(parseBootif('zz-aa-bb-cc-dd-ee-ff')).toBeNull();
    expect(parseBootif(undefined)).toBeNull();
  });
});

describe('controller URL', () => {
  it('accepts mqtt:// with a default port', () => {
    expect(parseControllerUrl('mqtt://127.0.0.1')).toEqual({ host: '127.0.0.1', port: 1883, tls: false, display: 'mqtt://127.0.0.1:1883' });
    expect(parseControllerUrl('mqtts://ctl.example')).toEqual({ host: 'ctl.example', port: 8883, tls: true, display: 'mqtts://ctl.example:8883' });
    expect(parseControllerUrl('mqtt://[::1]:1884')).toEqual({ host: '::1', port: 1884, tls: false, display: 'mqtt://[::1]:1884' });
  });

  it('refuses other schemes and credentials, without echoing the secret', () => {
    expect(() => parseControllerUrl('http://h:1')).toThrow(/must use mqtt:\/\//);
    expect(() => parseControllerUrl('nonsense')).toThrow(/is not a URL/);
    try {
      parseControllerUrl('mqtt://admin:hunter2@h:1883');
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toMatch(/--token-file/);
      expect((err as Error).message).not.toContain('hunter2');
    }
  });
});

describe('controller URL list', () => {
  it('takes one URL or several separated by commas, in order', () => {
    expect(parseControllerUrls('mqtt://10.0.0.1').map((a) => a.display)).toEqual(['mqtt://10.0.0.1:1883']);
    expect(parseControllerUrls('mqtt://a:1883,mqtts://b').map((a) => a.display)).toEqual(['mqtt://a:1883', 'mqtts://b:8883']);
    expect(bootParams('muster.controller=mqtt://a:1883,mqtt://b:1883 quiet').controller).toBe('mqtt://a:1883,mqtt://b:1883');
  });

  it('refuses an empty entry, a broker named twice and a bad URL in the list', () => {
    expect(() => parseControllerUrls('mqtt://a,,mqtt://b')).toThrow('controller URL list "mqtt://a,,mqtt://b" has an empty entry');
    expect(() => parseControllerUrls('mqtt://a:1883,mqtt://a')).toThrow('controller URL list names mqtt://a:1883 twice');
    expect(() => parseControllerUrls('mqtt://a,http://b')).toThrow(/must use mqtt:\/\//);
  });
});

describe('agent arguments', () => {
  it('has defaults for the long-running agent', () => {
    expect(parseAgentArgs([])).toEqual({ command: 'run', controller: null, root: '/', phase: null, intervalMs: 5000, livenessMs: 5000, tokenFile: null, caFile: null, lldpWaitMs: null, lldpBackground: false });
  });

  it('reads options and the phase subcommand', () => {
    expect(parseAgentArgs(['--controller', 'mqtt://h:1', '--root', '/fx', '--phase', 'init', '--interval', '0.5'])).toMatchObject({ command: 'run', controller: 'mqtt://h:1', root: '/fx', phase: 'init', intervalMs: 500 });
    expect(parseAgentArgs(['phase', 'run', '--root', '/fx'])).toMatchObject({ command: 'phase', phase: 'run', root: '/fx' });
    expect(parseAgentArgs(['--id-only'])).toMatchObject({ command: 'id-only' });
    expect(parseAgentArgs(['pick-disk', 'size%3E=100G', '--root', '/fx'])).toMatchObject({ command: 'pick-disk', diskRule: 'size%3E=100G', root: '/fx' });
    expect(parseAgentArgs(['--lldp-wait', '20', '--lldp-background'])).toMatchObject({ lldpWaitMs: 20_000, lldpBackground: true });
    // Liveness apart from heartbeats: heartbeats every minute, a frozen agent noticed within ~5 s.
    expect(parseAgentArgs(['--interval', '60', '--liveness', '5'])).toMatchObject({ intervalMs: 60_000, livenessMs: 5000 });
    expect(parseAgentArgs(['--interval', '2'])).toMatchObject({ intervalMs: 2000, livenessMs: 2000 });
  });

  it.each([
    [['phase', 'off'], /unknown phase "off" \(expected build\|kernel\|init\|run\)/],
    [['phase'], /"phase" takes one phase/],
    [['pick-disk'], /"pick-disk" takes one rule/],
    [['--interval', '0'], /--interval "0" must be a number of seconds/],
    [['--interval', '5', '--liveness', '10'], /--liveness "10" must be a number of seconds between 0.1 and --interval \(5\)/],
    [['--liveness', 'soon'], /--liveness "soon" must be a number of seconds/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['start'], /unknown command "start"/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseAgentArgs(argv)).toThrow(message);
  });
});
