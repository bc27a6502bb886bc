import type { Doctor } from '../../doctor/service.js';
import { musterVersion } from '../../paths.js';
import { verb } from '../verb.js';

export function doctorVerbs(doctor: Doctor) {
  return [
    verb('doctor', async ({ checks, concurrency, requestId }, _ctx, { user }) => ({
      version: musterVersion(),
      checks: await doctor.run(checks, { by: user, concurrency, requestId }),
    })),
  ];
}
