import { NodeDefinition, emptyStore, type StoreData } from '../../controller/store/schema.js';

/** Plain StoreData with the named nodes (in the given groups). */
export function storeWith(nodes: Record<string, string[]> = {}): StoreData {
  const data = emptyStore();
  for (const [name, groups] of Object.entries(nodes)) data.nodes[name] = NodeDefinition.parse({ name, groups, ids: {}, createdAt: 1, updatedAt: 1 });
  return data;
}

/** The rack of docs/records.md, as YAML. */
export const RACK_YAML = `# rack 1 of the lab cluster
version: 1
nodes:
  - name: n001
    groups: [rack1, compute]
    macs: [52:54:00:00:01:01, 52-54-00-00-01-02]
    serial: "0012345"
    uuid: 4C4C4544-0031-3210-8052-B4C04F4E4B31
    ib: [0x0002c90300012345]
    switch: leaf1:Ethernet1/1
    power: ipmi://admin:s3cret@10.0.0.101:623
    console: "sol:"
    image: rocky9
    tags: [gpu, ib]
    attrs: {rack: r1, unit: 12}
  - name: n002
    groups: [rack1, compute]
    macs: [52:54:00:00:02:01]
    power: ipmi://admin:s3cret@10.0.0.102:623
    console: tcp://10.0.0.250:7002
switches:
  - name: leaf1
    mgmt: 10.0.0.250
    kind: arista-7050
    ports:
      - {port: Ethernet1/1, node: n001, nic: eth0}
      - {port: Ethernet1/2, node: n002, nic: "52:54:00:00:02:01"}
bios:
  groups:
    compute: {version: "2.1.3", SMT: disabled}
  nodes:
    n002: {SMT: enabled}
`;

/** The same rack's node table, as a site keeps it in a spreadsheet. */
export const RACK_CSV = `name,groups,macs,serial,power,console,attr.rack,attr.unit
# comment rows start with #
n001,"rack1,compute","52:54:00:00:01:01,52:54:00:00:01:02",0012345,ipmi://admin:s3cret@10.0.0.101:623,sol:,r1,12
n002,"rack1,compute",52:54:00:00:02:01,,ipmi://admin:s3cret@10.0.0.102:623,tcp://10.0.0.250:7002,r1,14
`;
