// The peer: the bare embedded broker muster uses (aedes, same listen backlog) with an in-process
// subscriber that only parses JSON. Counts the heartbeats it parsed; echoes probe messages (agent `state`)
// on bench/echo so the orchestrator can time the path like it times muster's transition events.
// Forked: prints `bare aedes ready: mqtt=URL`, answers `stats` over IPC.
import { Aedes } from 'aedes';
import net from 'node:net';

const broker = await Aedes.createBroker({ maxClientsIdLength: 128, heartbeatInterval: 60_000 });
let parsed = 0;
broker.subscribe('muster/agents/+/+', (packet, cb) => {
  const msg = JSON.parse(packet.payload.toString('utf8'));
  if (packet.topic.endsWith('/heartbeat')) parsed++;
  if (packet.topic.endsWith('/state')) broker.publish({ cmd: 'publish', topic: 'bench/echo', payload: Buffer.from(JSON.stringify({ topic: packet.topic, phase: msg.phase })), qos: 0, retain: false, dup: false }, () => {});
  cb();
}, () => {});
const server = net.createServer(broker.handle);
server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  process.stdout.write(`bare aedes ready: mqtt=mqtt://127.0.0.1:${server.address().port}\n`);
});
process.on('message', (m) => {
  if (m.cmd === 'stats') process.send({ id: m.id, ok: true, value: { parsed } });
});
