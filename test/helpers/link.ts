import net from 'node:net';

/**
 * A TCP link to a broker port that can be cut (a partition: open connections reset, new ones
 * refused) and healed on the same port, so the agents behind it reconnect by themselves.
 */
export async function partitionableLink(toPort: number, port: number): Promise<{ url: string; cut(): Promise<void>; heal(): Promise<void>; close(): Promise<void> }> {
  const pairs = new Set<net.Socket>();
  const server = net.createServer((a) => {
    const b = net.connect(toPort, '127.0.0.1');
    pairs.add(a).add(b);
    a.pipe(b).pipe(a);
    const end = () => {
      for (const s of [a, b]) (s.destroy(), pairs.delete(s));
    };
    for (const s of [a, b]) s.on('close', end).on('error', end);
  });
  const listen = () => new Promise<void>((r) => server.listen({ port, host: '127.0.0.1', backlog: 4096 }, r));
  const closeServer = () => new Promise<void>((r) => (server.listening ? server.close(() => r()) : r()));
  await listen();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    async cut() {
      const closed = closeServer();
      for (const s of pairs) s.resetAndDestroy();
      await closed;
    },
    heal: listen,
    async close() {
      const closed = closeServer();
      for (const s of pairs) s.destroy();
      await closed;
    },
  };
}
