import { z } from 'zod';
import type { BuildService } from '../../provision/service.js';
import { verb } from '../verb.js';

export function buildVerbs(build: BuildService) {
  return [
    verb('images', 'images known to the build systems', z.object({}), async () => build.images()),
    verb(
      'image-add',
      'add an image (kernel, initrd, command line) to a build system catalog',
      z.object({ name: z.string().min(1).max(64), kernel: z.string().min(1).max(4096), initrd: z.string().min(1).max(4096), cmdline: z.string().max(2048).optional(), diskless: z.boolean().default(false), replace: z.boolean().default(false), system: z.string().default('netboot') }),
      async ({ name, kernel, initrd, cmdline, diskless, replace, system }) => build.addImage(name, { kernel, initrd, cmdline, diskless }, replace, system),
    ),
    verb('build', 'prepare nodes to build (configure + prepare in their build system)', z.object({ range: z.string().min(1) }), async ({ range }, ctx) => {
      const nodes = ctx.nodes.resolve(range);
      return { results: await build.build(nodes, 'admin') };
    }),
    verb('build-status', "nodes' build state in their build system", z.object({ range: z.string().min(1) }), async ({ range }, ctx) =>
      Promise.all(ctx.nodes.resolve(range).map(async (node) => ({ node, ...(await build.status(node).catch((err: Error) => ({ state: 'unknown', detail: err.message, system: null }))) }))),
    ),
  ];
}
