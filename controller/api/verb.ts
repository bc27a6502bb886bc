import type { z } from 'zod';
import type { Role } from '../../shared/auth.js';
import { MusterError } from '../../shared/errors.js';
import { VERBS, type VerbName, type VerbParsedArgs, type VerbResult } from '../../shared/verbs/catalog.js';
import type { Context } from '../context.js';

/** A request the controller refuses: its message is shown to the caller as it is. */
export class ApiError extends MusterError {
  override readonly name: string = 'ApiError';
  constructor(message: string, code = 'refused') {
    super(message, code);
  }
}

/** Who is asking: the client id replies go to (the console writer's identity, for one) and the authenticated user. */
export interface RequestMeta {
  replyTo: string;
  /** The user the broker authenticated (`anonymous` where anonymous access is on): the journal's "who". */
  user: string;
  role: Role;
}

/** A catalog verb bound to its handler (zigbee2mqtt bridge requests). */
export interface Verb {
  name: VerbName;
  args: z.ZodType;
  handle(args: unknown, ctx: Context, meta: RequestMeta): Promise<unknown>;
}

/** Bind a handler to the catalog entry `name`: its arguments and result are the catalog's. */
export function verb<V extends VerbName>(name: V, handle: (args: VerbParsedArgs<V>, ctx: Context, meta: RequestMeta) => Promise<VerbResult<V>>): Verb {
  return { name, args: VERBS[name].args, handle: handle as Verb['handle'] };
}
