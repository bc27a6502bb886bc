/** The controller config's `federation:` section: what it takes and the errors for what it does not. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../controller/config.js';
import { PARTITION_COUNT } from '../../controller/federation/partitions.js';

const store = 'postgres://muster:secret@127.0.0.1:5432/muster';

describe('config federation', () => {
  it('is off by default; with a database it takes an id and a partition count (256 unless given)', async () => {
    expect((await loadConfig(null, {})).federation).toBeNull();
    expect((await loadConfig(null, { store, federation: { id: 'ctl-a.1' } })).federation).toEqual({ id: 'ctl-a.1', partitions: PARTITION_COUNT });
    expect((await loadConfig(null, { store, federation: { id: 'c2', partitions: 64 } })).federation).toEqual({ id: 'c2', partitions: 64 });
  });

  it('refuses it without a database, and bad ids, counts and keys, naming the field', async () => {
    await expect(loadConfig(null, { federation: { id: 'c1' } })).rejects.toThrow('config: federation: needs `store: postgres://…`: the leases and the partition owners are kept in the database');
    await expect(loadConfig(null, { store, federation: { id: '' } })).rejects.toThrow('config: federation.id: must be 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit');
    await expect(loadConfig(null, { store, federation: { id: 'c 1' } })).rejects.toThrow('federation.id: must be 1 to 63 letters');
    await expect(loadConfig(null, { store, federation: { id: 'c1', partitions: 0 } })).rejects.toThrow(/config: federation\.partitions: .*>=1/);
    await expect(loadConfig(null, { store, federation: { id: 'c1', partitions: 2.5 } })).rejects.toThrow("config: federation.partitions: Invalid input: expected int, received number");
    await expect(loadConfig(null, { store, federation: { id: 'c1', brokers: [] } })).rejects.toThrow(/config: federation: Unrecognized key: "brokers"/);
    await expect(loadConfig(null, { store, federation: {} })).rejects.toThrow(/config: federation\.id: /);
  });

  it("takes the dashboard's broker WebSocket for external brokers, refusing what is not ws:// or wss://", async () => {
    expect((await loadConfig(null, {})).dashboard.brokerWs).toBeNull();
    expect((await loadConfig(null, { dashboard: { brokerWs: 'wss://mq1.example:9001' } })).dashboard.brokerWs).toBe('wss://mq1.example:9001');
    await expect(loadConfig(null, { dashboard: { brokerWs: 'mqtt://mq1.example:1883' } })).rejects.toThrow('config: dashboard.brokerWs: must be a ws://HOST:PORT or wss://HOST:PORT URL');
  });
});
