import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Logger } from '../log.js';

/** Returns true when it answered the request; false passes it to the next handler. */
export type HttpHandler = (req: http.IncomingMessage, res: http.ServerResponse) => boolean | Promise<boolean>;

/** One of the controller's HTTP listeners (provisioning or admin, see Context). Handlers are mounted by extensions. */
export class HttpServer {
  private readonly handlers: HttpHandler[] = [];
  private server: http.Server | null = null;
  url: string | null = null;

  constructor(private readonly log: Logger) {}

  mount(handler: HttpHandler): void {
    this.handlers.push(handler);
  }

  /** With TLS material (PEM cert and key) the port speaks HTTPS. */
  async listen(host: string, port: number, tls: { cert: Buffer; key: Buffer; ca?: Buffer } | null = null): Promise<string> {
    const handler: http.RequestListener = (req, res) => void this.dispatch(req, res);
    this.server = tls ? https.createServer(tls, handler) : http.createServer(handler);
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', (err) => reject(new Error(`cannot listen for HTTP on ${host}:${port}: ${err.message}`)));
      this.server!.listen({ host, port, backlog: 4096 }, () => resolve());
    });
    const addr = this.server.address() as net.AddressInfo;
    this.url = `${tls ? 'https' : 'http'}://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${addr.port}`;
    return this.url;
  }

  private async dispatch(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      for (const h of this.handlers) if (await h(req, res)) return;
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${req.url}\n`);
    } catch (err) {
      this.log.error({ url: req.url, err: (err as Error).message }, 'http handler failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    }
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
