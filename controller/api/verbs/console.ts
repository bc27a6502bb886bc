import { z } from 'zod';
import { NodeName } from '../../../shared/protocol.js';
import type { ConsoleService } from '../../console/service.js';
import { ApiError, verb } from '../verb.js';

const MAX_INPUT = 4096;

/** ConMan-style consoles: many readers (the live topic), one writer at a time. */
export function consoleVerbs(consoles: ConsoleService) {
  const need = (node: string) => {
    if (!consoles.consoles.nodes().includes(node)) throw new ApiError(`node ${node} has no console (muster set ${node} console=TARGET)`);
  };
  return [
    verb('console-tail', 'the last lines of a node console log', z.object({ node: NodeName, lines: z.number().int().min(1).max(100_000).default(50) }), async ({ node, lines }) => {
      need(node);
      return { node, lines: await consoles.consoles.tail(node, lines) };
    }),
    verb('console-attach', 'become the one writer of a node console', z.object({ node: NodeName, force: z.boolean().default(false) }), async ({ node, force }, _ctx, { replyTo }) => {
      need(node);
      const { displaced } = consoles.consoles.claimWriter(node, replyTo, { force });
      return { node, displaced, status: consoles.consoles.status(node) };
    }),
    verb('console-write', 'send keystrokes (base64) from the attached writer', z.object({ node: NodeName, data: z.string().max(MAX_INPUT * 2) }), async ({ node, data }, _ctx, { replyTo }) => {
      need(node);
      await consoles.consoles.write(node, replyTo, Buffer.from(data, 'base64'));
      return { node };
    }),
    verb('console-detach', 'stop being the writer of a node console', z.object({ node: NodeName }), async ({ node }, _ctx, { replyTo }) => {
      need(node);
      return { node, released: consoles.consoles.releaseWriter(node, replyTo) };
    }),
    verb('consoles', 'console status of every node that has one', z.object({}), async () => consoles.consoles.nodes().map((n) => consoles.consoles.status(n))),
  ];
}
