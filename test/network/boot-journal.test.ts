import { describe, expect, it } from 'vitest';
import { BootJournal } from '../../controller/network/boot-journal.js';
import type { BootStep } from '../../controller/network/dnsmasq-log.js';
import { httpBootStep } from '../../controller/network/http-steps.js';

const MAC = '52:54:00:00:00:07';
const step = (name: string, message: string): BootStep => ({ mac: MAC, ip: '10.99.0.17', step: name, message, details: {} });

describe('boot steps in the journal', () => {
  it('writes each step as a boot transition from the previous step', () => {
    const j = new BootJournal({ burst: 5, refillMs: 10_000 });
    expect(j.record('n007', step('dhcp-offer', 'DHCP offer 10.99.0.17'), 1000)).toEqual({ node: 'n007', axis: 'boot', from: null, to: 'dhcp-offer', cause: 'DHCP offer 10.99.0.17', at: 1000 });
    expect(j.record('n007', step('dhcp-ack', 'DHCP ack 10.99.0.17'), 1100)).toMatchObject({ from: 'dhcp-offer', to: 'dhcp-ack' });
  });

  it('holds a node in a boot loop to its budget, and says on the next line what it left out', () => {
    const j = new BootJournal({ burst: 3, refillMs: 10_000 });
    const written = Array.from({ length: 10 }, (_, i) => j.record('n007', step('tftp-sent', 'TFTP snponly.efi sent'), i));
    expect(written.filter(Boolean)).toHaveLength(3);
    // Another node has its own budget.
    expect(j.record('n008', step('dhcp-ack', 'DHCP ack 10.99.0.18'), 10)).not.toBeNull();
    // 10 s later one line is allowed again; it counts the 7 left out.
    expect(j.record('n007', step('dhcp-ack', 'DHCP ack 10.99.0.17'), 9_999)).toBeNull();
    expect(j.record('n007', step('dhcp-ack', 'DHCP ack 10.99.0.17'), 10_010)?.cause).toBe('DHCP ack 10.99.0.17 (8 boot steps before this one not journalled: booting too often)');
    expect(j.record('n007', step('dhcp-ack', 'DHCP ack 10.99.0.17'), 10_020)).toBeNull();
    // A quiet node gets its whole burst back, no more.
    const later = Array.from({ length: 5 }, (_, i) => j.record('n007', step('dhcp-ack', 'DHCP ack'), 1_000_000 + i));
    expect(later.filter(Boolean)).toHaveLength(3);
  });

  it('forgets nodes that are gone', () => {
    const j = new BootJournal({ burst: 1, refillMs: 10_000 });
    j.record('n007', step('dhcp-ack', 'DHCP ack'), 0);
    j.retain(() => false);
    expect(j.record('n007', step('dhcp-ack', 'DHCP ack'), 1)).toMatchObject({ from: null });
  });
});

describe('boot steps from the HTTP server', () => {
  const macOf = (ip: string) => (ip === '10.99.0.17' ? MAC : null);

  it('a boot script names its MAC in the URL, in either language and spelling', () => {
    expect(httpBootStep('GET', `/boot/${encodeURIComponent(MAC)}.ipxe`, '127.0.0.1', macOf)).toEqual({ mac: MAC, ip: '127.0.0.1', step: 'script', message: 'iPXE script requested', details: { url: `/boot/${MAC}.ipxe` } });
    expect(httpBootStep('GET', '/boot/52-54-00-00-00-07.grub', undefined, macOf)).toMatchObject({ mac: MAC, step: 'script', message: 'grub script requested' });
  });

  it('a kernel or initrd is the step of the machine dnsmasq gave the address to', () => {
    expect(httpBootStep('GET', '/images/lab/kernel', '::ffff:10.99.0.17', macOf)).toMatchObject({ mac: MAC, step: 'kernel', message: 'kernel of image lab requested' });
    expect(httpBootStep('GET', '/images/lab/initrd', '10.99.0.17', macOf)).toMatchObject({ step: 'initrd', message: 'initrd of image lab requested' });
    expect(httpBootStep('GET', '/images/lab/kernel', '10.99.0.99', macOf)).toBeNull();
  });

  it('ignores what is no boot step', () => {
    for (const [method, url] of [['HEAD', `/boot/${MAC}.ipxe`], ['GET', '/boot/not-a-mac.ipxe'], ['GET', '/metrics'], ['GET', '/boot/%zz.ipxe'], ['GET', `/boot/${MAC}.sh`]] as const) {
      expect(httpBootStep(method, url, '10.99.0.17', macOf), `${method} ${url}`).toBeNull();
    }
  });
});
