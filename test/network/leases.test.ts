import { describe, expect, it } from 'vitest';
import { parseLeases } from '../../controller/network/leases.js';

describe('dnsmasq lease file', () => {
  it('reads IPv4 leases with their node, infinite ones without an expiry, and skips IPv6 entries', () => {
    const text = [
      '1764633600 52:54:00:00:00:02 10.99.0.12 n002 01:52:54:00:00:00:02',
      '0 52:54:00:00:00:01 10.99.0.135 * *',
      'duid 00:01:00:01:2c:5e:7a:10:52:54:00:00:00:01',
      '1764633600 1234567 fd00::12 n002 00:01:00:01:2c:5e',
      '',
    ].join('\n');
    expect(parseLeases(text, (mac) => (mac === '52:54:00:00:00:02' ? 'n002' : null))).toEqual([
      { mac: '52:54:00:00:00:02', ip: '10.99.0.12', hostname: 'n002', expiresAt: 1764633600_000, node: 'n002' },
      { mac: '52:54:00:00:00:01', ip: '10.99.0.135', hostname: null, expiresAt: null, node: null },
    ]);
  });
});
