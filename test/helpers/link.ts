import net from 'node:net';

/**
 * A TCP link to a broker port that can be cut (a partition: open connections reset, new ones
 * refused) and healed on the same port, so the agents behind it reconnect by themselves.
 * `cut({ brokerSideOpen: true })` resets only the clients' side: the broker notices nothing and
 * sends their wills only when their keepalive runs out.
 */
export async function partitionableLink(
  toPort: number,
  port: number,
): Promise<{ url: string; cut(opts?: { brokerSideOpen?: boolean }): Promise<void>; heal(): Promise<void>; close(): Promise<void> }> {
  /** Each client's socket and the broker's socket it is piped to. */
  const pairs = new Map<net.Socket, net.Socket>();
  /** Broker sides left open by a cut: silent, until the broker drops them. */
  const leftOpen = new Set<net.Socket>();
  const server = net.createServer((a) => {
    const b = net.connect(toPort, '127.0.0.1');
    pairs.set(a, b);
    a.pipe(b).pipe(a);
    const end = () => {
      pairs.delete(a);
      a.destroy();
      if (!leftOpen.has(b)) b.destroy();
    };
    a.on('close', end).on('error', end);
    b.on('close', () => (leftOpen.delete(b), end())).on('error', end);
  });
  const listen = () => new Promise<void>((r) => server.listen({ port, host: '127.0.0.1', backlog: 4096 }, r));
  const closeServer = () => new Promise<void>((r) => (server.listening ? server.close(() => r()) : r()));
  await listen();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    async cut(opts = {}) {
      const closed = closeServer();
      for (const [a, b] of pairs) {
        if (opts.brokerSideOpen) {
          a.unpipe(b);
          b.unpipe(a);
          leftOpen.add(b);
        } else b.resetAndDestroy();
        a.resetAndDestroy();
      }
      await closed;
    },
    heal: listen,
    async close() {
      const closed = closeServer();
      for (const [a, b] of pairs) (a.destroy(), b.destroy());
      for (const b of leftOpen) b.destroy();
      await closed;
    },
  };
}
