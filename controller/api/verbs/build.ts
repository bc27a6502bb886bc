import type { BuildService } from '../../provision/service.js';
import { verb } from '../verb.js';

export function buildVerbs(build: BuildService) {
  return [
    verb('images', async () => build.images()),
    // A long request (minutes the first time); progress goes out as `build` events.
    verb('image-build', async ({ name, ...inputs }, _ctx, { user }) => build.buildImage(name, inputs, `admin ${user}`)),
    verb('image-add', async ({ name, kernel, initrd, disk, cmdline, diskless, replace, system }) => build.addImage(name, { kernel, initrd, cmdline, diskless, ...(disk && { disk }) }, replace, system)),
    verb('build', async ({ range }, ctx, { user }) => {
      const nodes = ctx.nodes.resolve(range);
      return { results: await build.build(nodes, user) };
    }),
    verb('build-status', async ({ range }, ctx) =>
      Promise.all(ctx.nodes.resolve(range).map(async (node) => ({ node, ...(await build.status(node).catch((err: Error) => ({ state: 'unknown', detail: err.message, system: null }))) }))),
    ),
  ];
}
