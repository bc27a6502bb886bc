import { expect, it } from 'vitest';
import type { Event } from '../../shared/protocol.js';
import { bootTimeline, timelineSummary } from './timeline.js';

const T0 = 1_000_000;
const step = (s: number, step: string, message: string, file?: string): Event =>
  ({ v: 1, kind: 'boot', at: T0 + s * 1000, node: null, agentId: null, message, details: { mac: '52:54:00:6c:61:02', step, ...(file ? { file } : {}) } }) as Event;

it('splits a boot into DHCP, TFTP and loader, kernel and initrd, init; each message once, without its subject', () => {
  const steps = [
    step(-5, 'dhcp-ack', 'lab3: DHCP ack 10.99.0.9'), // an earlier boot
    step(20, 'dhcp-discover', 'unknown machine 52:54:00:6c:61:02: DHCP discover'),
    step(21, 'dhcp-discover', 'unknown machine 52:54:00:6c:61:02: DHCP discover'),
    step(23, 'dhcp-ack', 'unknown machine 52:54:00:6c:61:02: DHCP ack 10.99.0.101'),
    step(24, 'tftp-sent', 'unknown machine 52:54:00:6c:61:02: TFTP shimx64.efi sent', 'shimx64.efi'),
    step(40, 'tftp-sent', 'unknown machine 52:54:00:6c:61:02: TFTP 52:54:00:6c:61:02.grub sent', '52:54:00:6c:61:02.grub'),
  ];
  const serial = [
    { at: T0 - 2000, text: '[    0.000000] Linux version 6.1 (an earlier boot)' },
    { at: T0 + 90_000, text: '[    0.000000] Linux version 6.1' },
  ];
  const t = bootTimeline(T0, T0 + 120_000, steps, serial);
  expect(t).toMatchObject({ total: 120, dhcp: 23, tftp: 17, kernelInitrd: 50, init: 30 });
  expect(t.marks).toEqual([
    'DHCP discover +20 s',
    'DHCP ack 10.99.0.101 +23 s',
    'TFTP shimx64.efi sent +24 s',
    'TFTP 52:54:00:6c:61:02.grub sent +40 s',
    'kernel banner on the serial port +90 s',
    'run +120 s',
  ]);
  expect(timelineSummary(t)).toBe('120.0 s: DHCP 23.0, TFTP+loader 17.0, kernel+initrd 50.0, init 30.0');
});

it('an iPXE boot in proxy mode: the proxy offer is its DHCP answer, the script request over HTTP ends the loader; a stretch not seen is unknown', () => {
  const steps = [step(10, 'pxe-proxy', 'lab3: PXE proxy offer'), step(30, 'script', 'lab3: iPXE script requested')];
  const t = bootTimeline(T0, T0 + 60_000, steps, []);
  expect(t).toMatchObject({ dhcp: 10, tftp: 20, kernelInitrd: null, init: null });
  expect(timelineSummary(t)).toBe('60.0 s: DHCP 10.0, TFTP+loader 20.0, kernel+initrd ?, init ?');
});
