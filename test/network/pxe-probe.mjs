// Plays a PXE ROM's DHCP steps on a network namespace's interface and prints every reply heard in
// 2.5 s as one JSON line. Without BOOT_SERVER: broadcasts a DHCPDISCOVER with the given MAC, vendor
// class (60), client architecture (93) and user class (77): the replies are what a ROM chooses
// from (the site's address offer, a proxy's PXE offer with its boot menu). With BOOT_SERVER,
// CLIENT_IP and ITEM (a menu item's type): the DHCPREQUEST a ROM then sends to the boot server's
// port 4011, whose reply names the boot file. Run inside the namespace:
// ip netns exec NS node pxe-probe.mjs ...; the discover needs a broadcast route on the interface
// (ip route add 255.255.255.255 dev IF).
import dgram from 'node:dgram';

const [mac, vendorClass, arch, userClass, bootServer, clientIp, item] = process.argv.slice(2);
if (!mac || !vendorClass || !arch) {
  console.error('usage: pxe-probe.mjs MAC VENDOR_CLASS ARCH [USER_CLASS|-] [BOOT_SERVER CLIENT_IP ITEM]');
  process.exit(2);
}
const xid = Math.floor(Math.random() * 0xffffffff);
const opt = (code, data) => Buffer.concat([Buffer.from([code, data.length]), data]);
const options = [
  opt(53, Buffer.from([bootServer ? 3 : 1])),
  opt(60, Buffer.from(vendorClass)),
  opt(93, Buffer.from([Number(arch) >> 8, Number(arch) & 0xff])),
  opt(97, Buffer.concat([Buffer.from([0]), Buffer.alloc(16, 0x11)])),
  ...(userClass && userClass !== '-' ? [opt(77, Buffer.from(userClass))] : []),
  opt(55, Buffer.from([1, 3, 43, 60, 66, 67])),
  // The boot server step asks for a boot item of the proxy's menu (sub-option 71: type, layer 0).
  ...(bootServer ? [opt(43, Buffer.concat([opt(71, Buffer.from([Number(item) >> 8, Number(item) & 0xff, 0, 0])), Buffer.from([255])]))] : []),
  Buffer.from([255]),
];
const head = Buffer.alloc(240);
head[0] = 1; head[1] = 1; head[2] = 6;
head.writeUInt32BE(xid, 4);
if (bootServer) Buffer.from(clientIp.split('.').map(Number)).copy(head, 12);
else head.writeUInt16BE(0x8000, 10); // broadcast replies: the interface has no address yet
Buffer.from(mac.split(':').map((h) => parseInt(h, 16))).copy(head, 28);
head.writeUInt32BE(0x63825363, 236);
const packet = Buffer.concat([head, ...options]);

const ip = (b, at) => [...b.subarray(at, at + 4)].join('.');
const cstr = (b) => b.toString('latin1').replace(/\0.*$/s, '');
function parse(b) {
  const opts = {};
  for (let i = 240; i < b.length && b[i] !== 255; ) {
    if (b[i] === 0) { i++; continue; }
    opts[b[i]] = b.subarray(i + 2, i + 2 + b[i + 1]);
    i += 2 + b[i + 1];
  }
  return {
    type: opts[53]?.[0] ?? null,
    yiaddr: ip(b, 16),
    siaddr: ip(b, 20),
    serverId: opts[54] ? ip(opts[54], 0) : null,
    file: cstr(b.subarray(108, 236)),
    vendorClass: opts[60]?.toString('latin1') ?? null,
    menuItem: opts[43] ? firstMenuItem(opts[43]) : null,
  };
}

/** The type of the first entry of a PXE boot menu (option 43, sub-option 9), or null. */
function firstMenuItem(pxe) {
  for (let i = 0; i < pxe.length && pxe[i] !== 255; i += 2 + pxe[i + 1]) if (pxe[i] === 9 && pxe[i + 1] >= 2) return pxe.readUInt16BE(i + 2);
  return null;
}

const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
sock.on('message', (b) => {
  if (b.length >= 240 && b[0] === 2 && b.readUInt32BE(4) === xid) console.log(JSON.stringify(parse(b)));
});
sock.bind(68, () => {
  sock.setBroadcast(true);
  sock.send(packet, bootServer ? 4011 : 67, bootServer ?? '255.255.255.255');
  setTimeout(() => sock.close(), 2500);
});
