import type { ConsoleService } from '../../console/service.js';
import { ApiError, verb } from '../verb.js';

/** ConMan-style consoles: many readers (the live topic), one writer at a time. */
export function consoleVerbs(consoles: ConsoleService) {
  const need = (node: string) => {
    if (!consoles.consoles.nodes().includes(node)) throw new ApiError(`node ${node} has no console (muster set ${node} console=TARGET)`);
  };
  return [
    verb('console-tail', async ({ node, lines }) => {
      need(node);
      return { node, lines: await consoles.consoles.tail(node, lines) };
    }),
    verb('console-attach', async ({ node, force, host }, _ctx, { replyTo, user }) => {
      need(node);
      const { displaced } = consoles.attach(node, replyTo, `${user}@${host ?? 'unknown-host'}`, force);
      return { node, displaced, status: consoles.consoles.status(node) };
    }),
    verb('console-write', async ({ node, data }, _ctx, { replyTo }) => {
      need(node);
      await consoles.consoles.write(node, replyTo, Buffer.from(data, 'base64'));
      return { node };
    }),
    verb('console-detach', async ({ node }, _ctx, { replyTo }) => {
      need(node);
      return { node, released: consoles.consoles.releaseWriter(node, replyTo) };
    }),
    verb('consoles', async () => consoles.consoles.nodes().map((n) => consoles.consoles.status(n))),
  ];
}
