import type { z } from 'zod';
import type { Role } from '../auth/roles.js';
import type { Context } from '../context.js';

/** An error meant for the person at the CLI: its message is shown as it is. */
export class ApiError extends Error {}

/** Who is asking: the client id replies go to (the console writer's identity, for one) and the authenticated user. */
export interface RequestMeta {
  replyTo: string;
  /** The user the broker authenticated (`anonymous` where anonymous access is on); the API server always sets it. */
  user?: string;
  role?: Role;
}

/** One request verb: a schema for its arguments and a handler (zigbee2mqtt bridge requests). */
export interface Verb<A = unknown> {
  name: string;
  /** What the verb is for, listed when an unknown verb is asked for. */
  summary: string;
  args: z.ZodType<A>;
  handle(args: A, ctx: Context, meta: RequestMeta): Promise<unknown>;
}

export function verb<S extends z.ZodType>(name: string, summary: string, args: S, handle: (args: z.infer<S>, ctx: Context, meta: RequestMeta) => Promise<unknown>): Verb {
  return { name, summary, args, handle: handle as Verb['handle'] };
}
