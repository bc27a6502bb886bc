import { Aedes, type AuthenticateError, type Client, type PublishPacket, type Subscription } from 'aedes';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { WebSocketServer } from 'ws';
import { WebSocketByteStream } from './ws-stream.js';
import type { Topics } from '../../shared/topics.js';
import type { AuthOutcome } from '../auth/authenticator.js';
import type { Principal } from '../auth/principal.js';
import type { Logger } from '../log.js';
import { forwardAllowed, publishRefusal, requestRefusal, sessionRefusal, subscribeRefusal } from './acl.js';
import { ConnectionCounter, limitPacketSizes, MAX_PACKET_BYTES, sourceAddress, type ConnectionLimits } from './limits.js';
import { deferKeepaliveClose, guardAgainstStalls } from './stall-guard.js';

/** PEM certificate chain and key for `mqtts://`, `wss://` (and HTTPS, elsewhere). */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

export interface EmbeddedBrokerOptions {
  topics: Topics;
  log: Logger;
  host: string;
  mqttPort: number;
  /** Where the WebSocket listener listens (the dashboard's admin address). */
  wsHost: string;
  /** undefined: no WebSocket listener. */
  wsPort?: number;
  /**
   * Decides who may connect (controller/auth/authenticator.ts). `source`: the peer's IP address;
   * `sessionLive`: another connection holds this client id now (it would be taken over).
   */
  authenticate(clientId: string, username: string | undefined, password: Buffer | undefined, source: string, sessionLive: boolean): Promise<AuthOutcome>;
  /** With TLS material the MQTT port speaks `mqtts://` and the WebSocket port `wss://`. */
  tls?: TlsMaterial | null;
  /** Called for every refused connect, publish or subscribe, with the reason. */
  /** A refused connection (`connect`), publish or subscribe (`acl`), or packet over the size limit (`size`). */
  onRefused?: (reason: string, what: 'connect' | 'acl' | 'size') => void;
  /** Open connections, in total and per source address (TCP and WebSocket together). */
  limits: ConnectionLimits;
  /** Whether a WebSocket upgrade with this Origin header (undefined: none) may proceed (origins.ts). */
  originAllowed(origin: string | undefined): boolean;
}

export interface EmbeddedBroker {
  aedes: Aedes;
  mqttPort: number;
  wsPort: number | null;
  /** `mqtt` or `mqtts`; `ws` or `wss`. */
  mqttScheme: string;
  wsScheme: string;
  /** The authenticated principal of a connected client, by client id. */
  principalOf(clientId: string): Principal | null;
  close(): Promise<void>;
}

const AUTH_CODES = { unavailable: 3, 'bad-credentials': 4, 'not-authorized': 5 } as const;

/** aedes on TCP or TLS (and WebSocket), with authentication and muster's topic rules in its hooks. */
const PUBLISH_REFUSALS = /not allowed in PUBLISH|topic has too many levels|Invalid protocol/;

export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { topics, log } = opts;
  const requestTopicPrefix = `${topics.prefix}/request/`;
  const refuse = (reason: string, what: 'connect' | 'acl' | 'size' = 'acl') => {
    log.warn({ reason }, what === 'connect' ? 'mqtt connect refused' : 'mqtt refused');
    opts.onRefused?.(reason, what);
  };
  // Set on CONNECT, read by the hooks and the API server; gone with the client object.
  const principals = new WeakMap<Client, Principal>();
  const stallGuard = guardAgainstStalls(log, (clientId) => connectedClient(aedes, clientId) !== undefined);
  const aedes = await Aedes.createBroker({
    // Agent ids are `uuid-` + 36 characters; MQTT 3.1.1 brokers accept longer ids than 23.
    maxClientsIdLength: 128,
    heartbeatInterval: 60_000,
    authenticate(client, username, password, done) {
      const live = connectedClient(aedes, client.id);
      opts.authenticate(client.id, username ?? undefined, password ?? undefined, sourceOf(client), live !== undefined && live !== client).then(
        (outcome) => {
          // A client id already connected as someone else would be taken over (MQTT semantics):
          // only the same principal may replace a session.
          const holder = outcome.ok ? connectedClient(aedes, client.id) : undefined;
          const held = holder && holder !== client ? principals.get(holder) : undefined;
          if (outcome.ok && held && !samePrincipal(held, outcome.principal)) {
            outcome = { ok: false, code: 'not-authorized', reason: `client ${client.id}: id in use by another principal` };
          }
          const persistent = outcome.ok ? sessionRefusal(outcome.principal, client.id, client.clean) : null;
          if (persistent) outcome = { ok: false, code: 'not-authorized', reason: persistent };
          if (!outcome.ok) {
            refuse(outcome.reason, 'connect');
            const err = new Error(outcome.reason) as AuthenticateError;
            err.returnCode = AUTH_CODES[outcome.code];
            return done(err, false);
          }
          principals.set(client, outcome.principal);
          done(null, true);
        },
        (err: Error) => {
          refuse(`client ${client.id}: authentication failed: ${err.message}`, 'connect');
          const e = new Error('server unavailable') as AuthenticateError;
          e.returnCode = 3;
          done(e, false);
        },
      );
    },
    authorizePublish(client: Client | null, packet: PublishPacket, cb: (err?: Error | null) => void) {
      if (!client) return cb(null); // in-process publishes by the controller itself
      const principal = principals.get(client);
      const reason = !principal
        ? `client ${client.id}: not authenticated`
        : (publishRefusal(topics, principal, client.id, packet.topic, packet.payload.length) ??
          // Allowed, so a muster topic: a prefix test says whether it is a request (no second parse per heartbeat).
          (packet.topic.startsWith(requestTopicPrefix) ? requestRefusal(client.id, toBuffer(packet.payload)) : null));
      if (reason) {
        refuse(reason);
        // An authorisation error closes the offending connection (aedes behaviour): a client
        // that spoofs controller topics is not trusted with the rest of its session either.
        return cb(new Error(reason));
      }
      // Only the controller retains (node states): the broker keeps a retained message for good,
      // so a client's would let it park data on any topic it may publish (wills included).
      packet.retain = false;
      if (stallGuard.holdWill(client, packet, cb)) return;
      cb(null);
    },
    authorizeForward: (client, packet) => (forwardAllowed(topics, client.id, packet.topic) ? packet : null),
    authorizeSubscribe(client: Client, sub: Subscription, cb: (err: Error | null, sub?: Subscription | null) => void) {
      const principal = principals.get(client);
      const reason = principal ? subscribeRefusal(topics, principal, client.id, sub.topic) : `client ${client.id}: not authenticated`;
      if (reason) {
        refuse(reason);
        return cb(null, null); // SUBACK 128 for this filter, connection kept
      }
      cb(null, sub);
    },
  });
  aedes.on('client', (client) => deferKeepaliveClose(aedes, client));
  aedes.on('clientError', (client, err) => {
    // aedes refuses malformed publishes (wildcards, empty topic, 100+ levels) before our hooks see
    // them: count those like our own refusals. Anything else is a dropped connection.
    if (PUBLISH_REFUSALS.test(err.message)) return refuse(`client ${client.id}: ${err.message}`);
    log.debug({ client: client.id, err: err.message }, 'mqtt client error');
  });
  aedes.on('connectionError', (client, err) => log.debug({ client: client?.id, err: err.message }, 'mqtt connection error'));

  const connections = new ConnectionCounter(opts.limits);
  /** Counts a new socket, or destroys it (over a limit) and says so. */
  const admitted = (socket: net.Socket): boolean => {
    const source = sourceAddress(socket.remoteAddress);
    const refusal = connections.admit(source);
    if (refusal) {
      refuse(refusal, 'connect');
      socket.destroy();
      return false;
    }
    socket.once('close', () => connections.release(source));
    return true;
  };
  const handle = (stream: Duplex, req?: http.IncomingMessage) => {
    const client = aedes.handle(stream, req);
    limitPacketSizes(client, (what) => refuse(`${describeSource(stream, req)}: ${what}`, 'size'));
  };

  const secure = opts.tls ?? null;
  // Counted on the raw TCP connection, before a TLS handshake or WebSocket upgrade costs anything.
  const mqttServer = secure ? tls.createServer(secure, handle) : net.createServer();
  mqttServer.on('connection', (socket: net.Socket) => {
    if (admitted(socket) && !secure) handle(socket);
  });
  // A discovery storm of thousands of nodes overflows the default backlog of 511 (stack-notes).
  await listen(mqttServer, opts.host, opts.mqttPort);
  const mqttPort = (mqttServer.address() as net.AddressInfo).port;

  let wsServer: http.Server | null = null;
  let wss: WebSocketServer | null = null;
  if (opts.wsPort !== undefined && opts.wsPort >= 0 && opts.wsPort !== null) {
    const upgradeOnly: http.RequestListener = (_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: connect with an MQTT client\n');
    };
    wsServer = secure ? https.createServer(secure, upgradeOnly) : http.createServer(upgradeOnly);
    wsServer.on('connection', admitted);
    // A frame may hold at most one largest MQTT packet; ws refuses bigger ones from their header.
    wss = new WebSocketServer({
      server: wsServer,
      maxPayload: MAX_PACKET_BYTES,
      verifyClient: ({ origin, req }, done) => {
        const from = origin === undefined ? undefined : String(origin);
        if (opts.originAllowed(from)) return done(true);
        refuse(`WebSocket from ${sourceAddress(req.socket.remoteAddress)}: origin ${from!.slice(0, 200)} is not the controller's (dashboard.origins)`, 'connect');
        done(false, 403, 'origin not allowed');
      },
    });
    wss.on('connection', (ws, req) => handle(new WebSocketByteStream(ws), req));
    await listen(wsServer, opts.wsHost, opts.wsPort);
  }
  const wsPort = wsServer ? (wsServer.address() as net.AddressInfo).port : null;
  const [mqttScheme, wsScheme] = secure ? ['mqtts', 'wss'] : ['mqtt', 'ws'];
  log.info({ mqttPort, wsPort, tls: !!secure }, 'embedded broker listening');

  return {
    aedes,
    mqttPort,
    wsPort,
    mqttScheme,
    wsScheme,
    principalOf(clientId) {
      const client = connectedClient(aedes, clientId);
      return client ? (principals.get(client) ?? null) : null;
    },
    async close() {
      stallGuard.close();
      for (const c of wss?.clients ?? []) c.terminate();
      // aedes.close() ends every client connection, so the servers can then close.
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await Promise.all([closeServer(mqttServer), wsServer ? closeServer(wsServer) : Promise.resolve()]);
    },
  };
}

/** aedes keeps its connected clients by id (`clients`, not in its type declarations). */
function connectedClient(aedes: Aedes, clientId: string): Client | undefined {
  return (aedes as unknown as { clients: Record<string, Client | undefined> }).clients[clientId];
}

function samePrincipal(a: Principal, b: Principal): boolean {
  return a.kind === 'agent' ? b.kind === 'agent' && a.agentId === b.agentId : b.kind === 'user' && a.name === b.name && a.anonymousConnection === b.anonymousConnection;
}

/** The peer's address: a WebSocket client's from its upgrade request, a TCP client's from its socket. */
function peerAddress(stream: Duplex, req: http.IncomingMessage | undefined | null): string {
  return sourceAddress((req?.socket ?? (stream as net.Socket)).remoteAddress);
}

const sourceOf = (client: Client) => peerAddress(client.conn as Duplex, client.req as http.IncomingMessage | undefined);

function describeSource(stream: Duplex, req: http.IncomingMessage | undefined): string {
  return `connection from ${peerAddress(stream, req)}`;
}

const toBuffer = (payload: string | Buffer) => (typeof payload === 'string' ? Buffer.from(payload) : payload);

function listen(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot listen on ${host}:${port}: ${err.message}`)));
    server.listen({ host, port, backlog: 4096 }, () => resolve());
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
