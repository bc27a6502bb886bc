import { describe, expect, it } from 'vitest';
import { SettingError, parseSettings } from '../../controller/nodes/settings.js';

describe('node settings (key=value)', () => {
  it('parses identifiers, normalising MACs and GUIDs', () => {
    const p = parseSettings(['mac=AA-BB-CC-DD-EE-01,aabb.ccdd.ee02', 'ib=0x0002c90300012345', 'serial=7XK2QH3', 'uuid=4C4C4544-0031-3210-8052-B4C04F4E4B31', 'switch=sw1:Ethernet1/12']);
    expect(p.ids).toEqual({
      macs: ['aa:bb:cc:dd:ee:01', 'aa:bb:cc:dd:ee:02'],
      ibGuids: ['0002:c903:0001:2345'],
      serial: '7XK2QH3',
      uuid: '4c4c4544-0031-3210-8052-b4c04f4e4b31',
      switchPort: { switch: 'sw1', port: 'Ethernet1/12' },
    });
  });

  it('parses groups, power, console, image, tags, attributes; empty clears', () => {
    const p = parseSettings(['groups=rack1,compute', 'power=ipmi://admin:pw@10.0.0.1', 'console=serial:/dev/ttyS0@115200', 'image=rocky9', 'tags=gpu,ib', 'attr.rack=r1', 'attr.unit=']);
    expect(p).toMatchObject({ groups: ['rack1', 'compute'], power: 'ipmi://admin:pw@10.0.0.1', console: 'serial:/dev/ttyS0@115200', image: 'rocky9', tags: ['gpu', 'ib'], attrs: { rack: 'r1', unit: null } });
    expect(parseSettings(['power=']).power).toBeNull();
  });

  it('names the key and the problem for bad input', () => {
    const bad: Array<[string, RegExp]> = [
      ['mac=zz:zz', /mac: "zz:zz" is not a MAC/],
      ['uuid=nope', /uuid: "nope" is not a UUID/],
      ['switch=sw1', /switch: "sw1" is not SWITCH:PORT/],
      ['power=http://x', /power: .* must start with one of/],
      ['groups=1rack', /groups: "1rack" is not a group name/],
      ['colour=blue', /unknown setting "colour"/],
      ['novalue', /"novalue" is not key=value/],
      ['tags=a b', /tags: "a b": tag must start with a letter/],
      ['if.eth0=10.1.0.11/16,mtu=90000', /if.eth0: mtu "90000" must be 68-65535/],
    ];
    for (const [arg, re] of bad) expect(() => parseSettings([arg]), arg).toThrow(re);
    expect(() => parseSettings(['mac=zz'])).toThrow(SettingError);
  });

  it('never echoes a password from a bad power URL', () => {
    expect(() => parseSettings(['power=http://admin:secret@bmc'])).toThrow(/^(?!.*secret)/);
  });
});
