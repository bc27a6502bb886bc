import { describe, expect, it } from 'vitest';
import { BootStepReader, parseDnsmasqLine } from '../../controller/network/dnsmasq-log.js';

/** A machine's boot as dnsmasq 2.90 logged it here (log-dhcp, log-facility=-), option dumps trimmed. */
const BOOT = `dnsmasq[20807]: started, version 2.90 DNS disabled
dnsmasq-dhcp[20807]: DHCP, IP range 10.99.0.100 -- 10.99.0.199, lease time 1h
dnsmasq[20807]: cannot read /tmp/dx/d/hosts: Permission denied
dnsmasq-dhcp[20807]: 865453619 available DHCP range: 10.99.0.100 -- 10.99.0.199
dnsmasq-dhcp[20807]: 865453619 vendor class: PXEClient:Arch:00007:UNDI:003016
dnsmasq-dhcp[20807]: 865453619 DHCPDISCOVER(br0) 52:54:00:00:00:02 
dnsmasq-dhcp[20807]: 865453619 tags: known, efi64, br0
dnsmasq-dhcp[20807]: 865453619 DHCPOFFER(br0) 10.99.0.12 52:54:00:00:00:02 
dnsmasq-dhcp[20807]: 865453619 bootfile name: snponly.efi
dnsmasq-dhcp[20807]: 865453619 sent size:  4 option: 54 server-identifier  10.99.0.1
dnsmasq-dhcp[20807]: 865453619 DHCPREQUEST(br0) 10.99.0.12 52:54:00:00:00:02 
dnsmasq-dhcp[20807]: 865453619 DHCPACK(br0) 10.99.0.12 52:54:00:00:00:02 n002
dnsmasq-dhcp[20807]: 865453619 bootfile name: snponly.efi
dnsmasq-dhcp[20807]: 865453619 next server: 10.99.0.1
dnsmasq-tftp[20807]: sent /usr/lib/ipxe/snponly.efi to 10.99.0.12
dnsmasq-tftp[20807]: error 0 TFTP Aborted received from 10.99.0.12
dnsmasq-tftp[20807]: file /usr/lib/ipxe/nothere.efi not found for 10.99.0.12
dnsmasq-tftp[20807]: file /var/lib/muster/network/tftp/revocations_sbat.efi not found for 10.99.0.12
dnsmasq-tftp[20807]: file /var/lib/muster/network/tftp/shim_certificate_0.efi not found for 10.99.0.12
dnsmasq-tftp[20807]: file /var/lib/muster/network/tftp/grub/x86_64-efi/fs.lst not found for 10.99.0.12
dnsmasq-tftp[20807]: sent /usr/lib/ipxe/undionly.kpxe to 10.99.0.77
dnsmasq-dhcp[21385]: 1164757565 PXE(br0) 52:54:00:00:00:09 proxy
dnsmasq-dhcp[22257]: 2867507320 PXE(br0) 10.99.0.56 52:54:00:00:00:09 undionly.kpxe
dnsmasq-tftp[22257]: sent /usr/lib/ipxe/undionly.kpxe to 10.99.0.56
dnsmasq-dhcp[4295]: 3575353926 DHCPACK(br0) 10.99.0.141 52:54:00:00:00:07 
dnsmasq-dhcp[4295]: 3575353926 requested options: 66:tftp-server, 67:bootfile-name, 119:domain-search, 
dnsmasq-dhcp[4295]: 3575353926 sent size: 44 option: 67 bootfile-name  http://10.99.0.1:8080/boot/\${netX/mac}.ipxe
dnsmasq-dhcp[4295]: 3575353926 bootfile name: http://10.99.0.1:8080/boot/\${netX/mac}.ipxe
dnsmasq-dhcp[21911]: 3674137024 PXE(br0) 52:54:00:00:00:08 proxy
dnsmasq-dhcp[21911]: 3674137024 bootfile name: snponly.efi
dnsmasq-dhcp[21911]: 3674137024 server name: 10.99.0.1
dnsmasq-tftp[21911]: sent /usr/lib/ipxe/snponly.efi to 10.99.0.51`;

describe('dnsmasq log', () => {
  it('keeps the boot steps and problems, drops option dumps and tags', () => {
    const parsed = BOOT.split('\n').map(parseDnsmasqLine);
    expect(parsed.filter((p) => p?.kind === 'notice' && p.problem).map((p) => p?.kind === 'notice' && p.text)).toEqual(['cannot read /tmp/dx/d/hosts: Permission denied']);
    expect(parsed[5]).toEqual({ kind: 'dhcp', xid: '865453619', message: 'DHCPDISCOVER', ip: null, mac: '52:54:00:00:00:02', rest: '' });
    expect(parsed[11]).toEqual({ kind: 'dhcp', xid: '865453619', message: 'DHCPACK', ip: '10.99.0.12', mac: '52:54:00:00:00:02', rest: 'n002' });
    expect(parsed[6]).toBeNull();
    expect(parsed[9]).toBeNull();
  });

  it('joins boot file and TFTP lines to the MAC of the transaction and address before them', () => {
    const reader = new BootStepReader();
    const steps = BOOT.split('\n').flatMap((l) => {
      const p = parseDnsmasqLine(l);
      const s = p && reader.read(p);
      return s ? [`${s.mac} ${s.step}: ${s.message}`] : [];
    });
    expect(steps).toEqual([
      '52:54:00:00:00:02 dhcp-discover: DHCP discover',
      '52:54:00:00:00:02 dhcp-offer: DHCP offer 10.99.0.12',
      // The offer's boot file line is not a step: the ack's is the one the machine goes on with.
      '52:54:00:00:00:02 dhcp-request: DHCP request 10.99.0.12',
      '52:54:00:00:00:02 dhcp-ack: DHCP ack 10.99.0.12',
      '52:54:00:00:00:02 boot-file: boot file snponly.efi',
      '52:54:00:00:00:02 tftp-sent: TFTP snponly.efi sent',
      // The client's own abort is no failure; a missing file is.
      '52:54:00:00:00:02 tftp-failed: TFTP failed: file /usr/lib/ipxe/nothere.efi not found for 10.99.0.12',
      // 10.99.0.77 got no address from this dnsmasq: no MAC to name, no step.
      '52:54:00:00:00:09 pxe-proxy: PXE proxy offer',
      '52:54:00:00:00:09 boot-file: PXE boot server: boot file undionly.kpxe',
      '52:54:00:00:00:09 tftp-sent: TFTP undionly.kpxe sent',
      // iPXE asks for option 67: the file is logged as an option sent; one step however it is logged.
      '52:54:00:00:00:07 dhcp-ack: DHCP ack 10.99.0.141',
      '52:54:00:00:00:07 boot-file: boot file http://10.99.0.1:8080/boot/${netX/mac}.ipxe',
      // UEFI firmware in proxy mode: the proxy reply names the file; its address came from the site
      // server and no line here names it, so its TFTP transfer has no MAC.
      '52:54:00:00:00:08 pxe-proxy: PXE proxy offer',
      '52:54:00:00:00:08 boot-file: PXE proxy: boot file snponly.efi',
    ]);
  });
});
