import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../controller/records/csv.js';
import { exportSite } from '../../controller/records/site-export.js';
import { applyImport, planImportText } from '../../controller/records/site-import.js';
import type { StoreData } from '../../controller/store/schema.js';
import type { SiteFormat } from '../../shared/verbs/args.js';
import { RACK_CSV, RACK_YAML, storeWith } from './fixtures.js';

/** Import into `data` as the verb does: everything checked first, applied only without problems. */
function importText(data: StoreData, text: string, format: SiteFormat = 'yaml') {
  const { plan, problems } = planImportText(data, text, format);
  return problems.length ? { problems } : { summary: applyImport(data, plan, 5000) };
}

describe('site file import', () => {
  it('imports the YAML rack: nodes, identifiers, switches with their port map, BIOS settings', () => {
    const data = storeWith();
    const r = importText(data, RACK_YAML);
    expect(r.problems).toBeUndefined();
    expect(r.summary).toEqual({ nodes: { created: ['n001', 'n002'], updated: [] }, switches: { created: ['leaf1'], updated: [] }, ports: 2, bios: 2, hwlogIgnored: 0 });
    const n001 = data.nodes.n001!;
    expect(n001.groups).toEqual(['rack1', 'compute']);
    expect(n001.ids).toEqual({
      macs: ['52:54:00:00:01:01', '52:54:00:00:01:02'],
      serial: '0012345',
      uuid: '4c4c4544-0031-3210-8052-b4c04f4e4b31',
      ibGuids: ['0002:c903:0001:2345'],
      switchPort: { switch: 'leaf1', port: 'Ethernet1/1' },
    });
    expect(n001).toMatchObject({ power: 'ipmi://admin:s3cret@10.0.0.101:623', console: 'sol:', image: 'rocky9', tags: ['gpu', 'ib'], attrs: { rack: 'r1', unit: '12' }, createdAt: 5000 });
    expect(data.switches.leaf1).toMatchObject({ mgmt: '10.0.0.250', kind: 'arista-7050' });
    expect(data.switchPorts).toEqual([
      { switch: 'leaf1', port: 'Ethernet1/1', node: 'n001', nic: 'eth0' },
      { switch: 'leaf1', port: 'Ethernet1/2', node: 'n002', nic: '52:54:00:00:02:01' },
    ]);
    expect(data.bios.desired).toEqual({ groups: { compute: { version: '2.1.3', SMT: 'disabled' } }, nodes: { n002: { SMT: 'enabled' } } });
  });

  it('imports the CSV node table; a node that exists is updated, fields not in the file stay', () => {
    const data = storeWith({ n002: ['old'] });
    data.nodes.n002!.image = 'centos7';
    data.nodes.n002!.ids.serial = 'OLD-SERIAL';
    const r = importText(data, RACK_CSV, 'csv');
    expect(r.problems).toBeUndefined();
    expect(r.summary!.nodes).toEqual({ created: ['n001'], updated: ['n002'] });
    expect(data.nodes.n001).toMatchObject({ groups: ['rack1', 'compute'], ids: { macs: ['52:54:00:00:01:01', '52:54:00:00:01:02'], serial: '0012345' }, attrs: { rack: 'r1', unit: '12' } });
    // An empty cell clears its field; a column the file does not have leaves the field alone.
    expect(data.nodes.n002).toMatchObject({ groups: ['rack1', 'compute'], image: 'centos7', ids: { serial: null }, console: 'tcp://10.0.0.250:7002', attrs: { unit: '14' } });
  });

  it('lists every problem of a YAML file with its line and changes nothing', () => {
    const data = storeWith({ n009: [] });
    data.nodes.n009!.ids.macs = ['52:54:00:00:09:01'];
    const before = structuredClone(data);
    const bad = [
      'version: 1', //                                   1
      'nodes:', //                                       2
      '  - name: n001', //                               3
      '    macs: [52:54:00:00:01:zz]', //                4
      '    power: telnet://10.0.0.1', //                 5
      '    colour: blue', //                             6
      '  - name: 9bad', //                               7
      '  - name: n002', //                               8
      '    macs: [52:54:00:00:09:01]', //                9   (n009 has it)
      '  - name: n001', //                               10  (twice)
      '  - groups: [x]', //                              11  (no name)
      'switches:', //                                    12
      '  - name: leaf1', //                              13
      '    mgmt: "not a host"', //                       14
      '    ports:', //                                   15
      '      - {port: "1", node: n404}', //              16
      '      - {port: "2"}', //                          17
      'bios:', //                                        18
      '  nodes:', //                                     19
      '    n500: {SMT: off}', //                         20
      '  groups:', //                                    21
      '    compute: {"1bad": x}', //                     22
      'extra: 1', //                                     23
    ].join('\n');
    const r = importText(data, bad);
    expect(r.summary).toBeUndefined();
    expect(r.problems!.map((p) => `${p.line}: ${p.message}`)).toEqual([
      '4: node n001: macs: "52:54:00:00:01:zz" is not a MAC address like aa:bb:cc:dd:ee:ff',
      '5: node n001: power: "telnet://10.0.0.1" must start with one of ipmi: redfish: qemu: command: fence: sim:',
      '6: node n001: unknown field "colour" (known: name, groups, macs, serial, uuid, ib, switch, power, console, image, tags, mac, attrs)',
      '7: node "9bad": node name must start with a letter and hold only letters, digits, "_", "." and "-" (max 63)',
      '8: node n002: MAC 52:54:00:00:09:01 is also given to defined node n009',
      '10: node n001 is already on line 3',
      '11: a node needs a name',
      '13: switch leaf1: mgmt "not a host" is not a host name or IP address',
      '16: switch leaf1 port 1: node n404 is neither defined nor in this file',
      '17: a port needs port: and node:',
      '20: bios: node n500 is neither defined nor in this file',
      '22: bios group compute: key "1bad" must be letters, digits, "_.-" starting with a letter',
      '23: unknown section "extra" (known: version, nodes, switches, bios, hwlog)',
    ]);
    expect(data).toEqual(before);
  });

  it('reports YAML syntax errors and CSV errors with their lines', () => {
    const yaml = importText(storeWith(), 'nodes:\n  - name: n001\n    name: n002\n  - name: n003\n    power: ipmi://a: b\n');
    expect(yaml.problems).toEqual([
      { line: 3, message: 'not valid YAML: Map keys must be unique' },
      { line: 5, message: 'not valid YAML: Nested mappings are not allowed in compact mappings' },
    ]);

    const csv = [
      'name,macs,power,colour', //                          1
    ].join('\n');
    expect(importText(storeWith(), csv, 'csv').problems).toEqual([{ line: 1, message: 'unknown column "colour" (known: name, groups, macs, serial, uuid, ib, switch, power, console, image, tags, attr.NAME)' }]);

    const rows = [
      'name,macs,power,attr.rack', //                       1
      'n001,52:54:00:00:01:01,ipmi://a:b@h,r1', //           2
      'n002,"52:54:00:00:01:01",,r1', //                     3  same MAC as n001
      ',,,', //                                              4  no name
      'n003,1,2,3,4', //                                     5  too many cells
      'n004,,"ipmi://a:b@h', //                              6  quote never closed…
      'n005,,,', //                                          7  …so this is inside it
    ].join('\n');
    expect(importText(storeWith(), rows, 'csv').problems!.map((p) => `${p.line}: ${p.message}`)).toEqual([
      '3: node n002: MAC 52:54:00:00:01:01 is also given to node n001 on line 2',
      '4: the name cell is empty',
      '5: 5 cells, but the header has 4 columns (quote cells that hold ",")',
      '6: CSV: a quoted cell is never closed (missing ")',
    ]);
  });

  it('parses quoted CSV cells with commas, quotes and line breaks, keeping each row\'s first line', () => {
    expect(parseCsv('a,b\r\n"x,1","say ""hi"""\n"multi\nline",z\n\nlast,row').rows).toEqual([
      { line: 1, cells: ['a', 'b'] },
      { line: 2, cells: ['x,1', 'say "hi"'] },
      { line: 3, cells: ['multi\nline', 'z'] },
      { line: 6, cells: ['last', 'row'] },
    ]);
  });
});

describe('site file export', () => {
  const imported = () => {
    const data = storeWith();
    importText(data, RACK_YAML);
    return data;
  };

  it('round trip: export → import into an empty store → export gives the same file and the same data', () => {
    const a = imported();
    for (const format of ['yaml', 'csv'] as const) {
      const first = exportSite(a, { format, showSecrets: true, now: 1 });
      const b = storeWith();
      expect(importText(b, first, format).problems).toBeUndefined();
      expect(exportSite(b, { format, showSecrets: true, now: 1 })).toBe(first);
      const strip = (d: StoreData) => Object.fromEntries(Object.entries(d.nodes).map(([k, n]) => [k, { ...n, createdAt: 0, updatedAt: 0 }]));
      expect(strip(b)).toEqual(strip(a));
      if (format === 'yaml') {
        expect(b.switchPorts).toEqual(a.switchPorts);
        expect(b.bios.desired).toEqual(a.bios.desired);
        expect(b.switches.leaf1).toMatchObject({ mgmt: '10.0.0.250', kind: 'arista-7050' });
      }
    }
  });

  it('hides passwords as *** unless asked, and a re-import of *** keeps the stored password', () => {
    const data = imported();
    const yaml = exportSite(data, { format: 'yaml', now: 1 });
    const csv = exportSite(data, { format: 'csv', now: 1 });
    for (const text of [yaml, csv]) {
      expect(text).not.toContain('s3cret');
      expect(text).toContain('ipmi://admin:***@10.0.0.101:623');
    }
    expect(exportSite(data, { format: 'yaml', showSecrets: true, now: 1 })).toContain('ipmi://admin:s3cret@10.0.0.101:623');

    const r = importText(data, yaml.replace('image: rocky9', 'image: rocky10'));
    expect(r.problems).toBeUndefined();
    expect(r.summary!.nodes.updated).toEqual(['n001', 'n002']);
    expect(data.nodes.n001).toMatchObject({ power: 'ipmi://admin:s3cret@10.0.0.101:623', image: 'rocky10' });

    // A hidden password cannot travel to another BMC or to a node that has none.
    const moved = importText(data, 'nodes:\n  - name: n001\n    power: ipmi://admin:***@10.9.9.9\n  - name: n003\n    power: ipmi://admin:***@10.0.0.103\n');
    expect(moved.problems!.map((p) => p.line)).toEqual([3, 5]);
    expect(moved.problems![0]!.message).toContain('hidden password (***) that matches no stored power URL');
    expect(data.nodes.n001!.power).toBe('ipmi://admin:s3cret@10.0.0.101:623');
  });

  it('exports the hardware log on request; import skips it and says so', () => {
    const data = imported();
    data.hwlog.issues.push({ id: 1, node: 'n001', text: 'DIMM B2', source: 'admin', evidence: {}, openedAt: 0, openedBy: 'alice', closedAt: null, closedBy: null, note: null });
    const text = exportSite(data, { format: 'yaml', hwlog: true, showSecrets: true, now: 1 });
    expect(text).toContain('hwlog:');
    expect(text).toContain('text: DIMM B2');
    const r = importText(storeWith(), text);
    expect(r.problems).toBeUndefined();
    expect(r.summary!.hwlogIgnored).toBe(1);
  });
});
