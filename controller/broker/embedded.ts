import { Aedes, type Client, type PublishPacket, type Subscription } from 'aedes';
import net from 'node:net';
import http from 'node:http';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Topics } from '../../shared/topics.js';
import type { Logger } from '../log.js';
import { publishRefusal, subscribeRefusal } from './acl.js';

export interface EmbeddedBrokerOptions {
  topics: Topics;
  log: Logger;
  host: string;
  mqttPort: number;
  /** 0 or undefined: no WebSocket listener. */
  wsPort?: number;
  /** Called for every refused publish or subscribe, with the reason. */
  onRefused?: (reason: string) => void;
}

export interface EmbeddedBroker {
  aedes: Aedes;
  mqttPort: number;
  wsPort: number | null;
  close(): Promise<void>;
}

/** aedes on TCP (and WebSocket), with muster's topic rules enforced in its hooks. */
export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { topics, log } = opts;
  const refuse = (reason: string) => {
    log.warn({ reason }, 'mqtt refused');
    opts.onRefused?.(reason);
  };
  const aedes = await Aedes.createBroker({
    // Agent ids are `uuid-` + 36 characters; MQTT 3.1.1 brokers accept longer ids than 23.
    maxClientsIdLength: 128,
    heartbeatInterval: 60_000,
    authorizePublish(client: Client | null, packet: PublishPacket, cb: (err?: Error | null) => void) {
      if (!client) return cb(null); // in-process publishes by the controller itself
      const reason = publishRefusal(topics, client.id, packet.topic, packet.payload.length);
      if (reason) {
        refuse(reason);
        // An authorisation error closes the offending connection (aedes behaviour): a client
        // that spoofs controller topics is not trusted with the rest of its session either.
        return cb(new Error(reason));
      }
      cb(null);
    },
    authorizeSubscribe(client: Client, sub: Subscription, cb: (err: Error | null, sub?: Subscription | null) => void) {
      const reason = subscribeRefusal(topics, client.id, sub.topic);
      if (reason) {
        refuse(reason);
        return cb(null, null); // SUBACK 128 for this filter, connection kept
      }
      cb(null, sub);
    },
  });
  aedes.on('clientError', (client, err) => log.debug({ client: client.id, err: err.message }, 'mqtt client error'));
  aedes.on('connectionError', (client, err) => log.debug({ client: client?.id, err: err.message }, 'mqtt connection error'));

  const tcp = net.createServer(aedes.handle);
  // A discovery storm of thousands of nodes overflows the default backlog of 511 (stack-notes).
  await listen(tcp, opts.host, opts.mqttPort);
  const mqttPort = (tcp.address() as net.AddressInfo).port;

  let wsServer: http.Server | null = null;
  let wss: WebSocketServer | null = null;
  if (opts.wsPort !== undefined && opts.wsPort >= 0 && opts.wsPort !== null) {
    wsServer = http.createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: connect with an MQTT client\n');
    });
    wss = new WebSocketServer({ server: wsServer });
    wss.on('connection', (ws, req) => aedes.handle(createWebSocketStream(ws), req));
    await listen(wsServer, opts.host, opts.wsPort);
  }
  const wsPort = wsServer ? (wsServer.address() as net.AddressInfo).port : null;
  log.info({ mqttPort, wsPort }, 'embedded broker listening');

  return {
    aedes,
    mqttPort,
    wsPort,
    async close() {
      for (const c of wss?.clients ?? []) c.terminate();
      // aedes.close() ends every client connection, so the servers can then close.
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await Promise.all([closeServer(tcp), wsServer ? closeServer(wsServer) : Promise.resolve()]);
    },
  };
}

function listen(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot listen on ${host}:${port}: ${err.message}`)));
    server.listen({ host, port, backlog: 4096 }, () => resolve());
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
