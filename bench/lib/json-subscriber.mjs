// The peer's subscriber beside Mosquitto: an mqtt.js client that only parses JSON, counts heartbeats, and
// echoes probe messages (agent `state`) on bench/echo. Forked with the broker URL as argument.
import mqtt from 'mqtt';

const client = await mqtt.connectAsync(process.argv[2], { clientId: `bench-json-sub-${process.pid}`, protocolVersion: 4 });
let parsed = 0;
client.on('message', (topic, payload) => {
  const msg = JSON.parse(payload.toString('utf8'));
  if (topic.endsWith('/heartbeat')) parsed++;
  if (topic.endsWith('/state')) client.publish('bench/echo', JSON.stringify({ topic, phase: msg.phase }));
});
await client.subscribeAsync('muster/agents/+/+', { qos: 1 });
process.stdout.write('json subscriber ready\n');
process.on('message', (m) => {
  if (m.cmd === 'stats') process.send({ id: m.id, ok: true, value: { parsed } });
});
