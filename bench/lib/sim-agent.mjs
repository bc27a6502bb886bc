// One simulated agent: a real MQTT 3.1.1 client (mqtt-packet over a TCP socket) speaking the
// agent protocol with the agent's own message builders. Leaner than mqtt.js so that one
// generator process holds thousands of them and still outpaces the broker under test.
import net from 'node:net';
import mqttPacket from 'mqtt-packet';

const PINGREQ = mqttPacket.generate({ cmd: 'pingreq' });

export class SimAgent {
  /** @param {{ host: string, port: number, localAddress?: string, agentId: string, token?: string | null, messages: any, topics: any, keepaliveS: number, phase?: string }} o */
  constructor(o) {
    this.o = o;
    this.phase = o.phase ?? 'run';
    this.socket = null;
    this.connected = false;
    this.nextMessageId = 1;
    this.connectMs = null;
    this.helloAt = null;
    this.lastSent = 0;
    this.topicHeartbeat = o.topics.agent(o.agentId, 'heartbeat');
    this.topicState = o.topics.agent(o.agentId, 'state');
  }

  /** Resolves once the CONNACK came and the hello was written; rejects on a refused or failed connection. */
  connect() {
    const { host, port, localAddress, agentId, token, messages, topics, keepaliveS } = this.o;
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      const socket = net.createConnection({ host, port, localAddress, noDelay: true });
      this.socket = socket;
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      let settled = false;
      const fail = (err) => {
        if (settled) return;
        settled = true;
        socket.destroy();
        reject(err);
      };
      socket.once('connect', () => {
        this.connectMs = performance.now() - t0;
        const will = { topic: topics.agent(agentId, 'status'), payload: Buffer.from(JSON.stringify(messages.status(false))), qos: 1, retain: false };
        socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: agentId, keepalive: keepaliveS, will, ...(token ? { username: agentId, password: Buffer.from(token) } : {}) }));
      });
      socket.on('data', (d) => parser.parse(d));
      socket.on('error', (err) => fail(new Error(`agent ${agentId}: ${err.message}`)));
      socket.on('close', () => {
        this.connected = false;
        fail(new Error(`agent ${agentId}: connection closed before CONNACK`));
      });
      parser.on('packet', (p) => {
        if (p.cmd !== 'connack') return;
        if (p.returnCode !== 0) return fail(new Error(`agent ${agentId}: CONNACK ${p.returnCode}`));
        this.connected = true;
        this.lastSent = Date.now();
        this.publish(topics.agent(agentId, 'hello'), messages.hello(this.phase), 1);
        this.helloAt = Date.now();
        settled = true;
        resolve();
      });
    });
  }

  heartbeat() {
    this.publish(this.topicHeartbeat, this.o.messages.heartbeat(this.phase), 0);
  }

  setPhase(phase) {
    this.phase = phase;
    this.publish(this.topicState, this.o.messages.state(phase), 1);
  }

  /** Keeps an idle session open (the broker drops a client silent for 1.5 × keepalive). */
  ping() {
    if (!this.connected) return;
    this.socket.write(PINGREQ);
    this.lastSent = Date.now();
  }

  publish(topic, payload, qos) {
    if (!this.connected) return false;
    const packet = { cmd: 'publish', topic, payload: JSON.stringify(payload), qos, retain: false, dup: false };
    if (qos > 0) {
      packet.messageId = this.nextMessageId;
      this.nextMessageId = (this.nextMessageId % 65535) + 1;
    }
    this.socket.write(mqttPacket.generate(packet));
    this.lastSent = Date.now();
    return true;
  }

  /** A clean DISCONNECT: the broker sends no will. */
  end() {
    if (!this.socket) return;
    if (this.connected) this.socket.end(mqttPacket.generate({ cmd: 'disconnect' }));
    else this.socket.destroy();
    this.connected = false;
  }
}
