import { z } from 'zod';
import { OsImageInputs } from '../../provision/os-image.js';
import type { BuildService } from '../../provision/service.js';
import { verb } from '../verb.js';

/** `muster image build`: a long request (minutes the first time); progress goes out as `build` events. */
export function imageBuildVerbs(build: BuildService) {
  return [
    verb('image-build', 'build a Debian image for RAM boot with mmdebstrap (cached by its inputs) into the netboot catalog', OsImageInputs.extend({ name: z.string().min(1).max(64), by: z.string().max(128).optional() }), async ({ name, by, ...inputs }) =>
      build.buildImage(name, inputs, `admin ${by ?? 'cli'}`),
    ),
  ];
}
