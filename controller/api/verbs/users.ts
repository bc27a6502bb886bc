import { z } from 'zod';
import { UserName } from '../../auth/records.js';
import { parsePasswordHash } from '../../auth/passwords.js';
import { Role } from '../../auth/roles.js';
import { newAgentToken, tokenHash, tokenId } from '../../auth/tokens.js';
import type { Context } from '../../context.js';
import { ApiError, verb } from '../verb.js';

/** The CLI sends a scrypt hash, never the password: check its form before it is stored. */
const PasswordHash = z.string().max(512).superRefine((h, c) => {
  try {
    parsePasswordHash(h);
  } catch (err) {
    c.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

function mustUser(ctx: Context, name: string) {
  if (!Object.hasOwn(ctx.store.data.users, name)) throw new ApiError(`user ${name} does not exist`);
  return ctx.store.data.users[name]!;
}

/** Users and agent tokens (all admin-only: controller/auth/roles.ts). Hashes never leave the controller. */
export const userVerbs = [
  verb('whoami', 'the user and role this connection has', z.object({}), async (_a, _ctx, { user, role }) => ({ user, role })),

  verb('user-add', 'add a user with a role', z.object({ name: UserName, role: Role, passwordHash: PasswordHash }), async ({ name, role, passwordHash }, ctx, { user }) => {
    if (Object.hasOwn(ctx.store.data.users, name)) throw new ApiError(`user ${name} exists already (change it with user-password or remove it first)`);
    const at = ctx.now();
    ctx.store.change((d) => void (d.users[name] = { name, role, passwordHash, createdAt: at, updatedAt: at, createdBy: user ?? 'admin' }));
    await ctx.store.flush();
    ctx.log.info({ user: name, role, by: user }, 'user added');
    return { name, role };
  }),

  verb('user-list', 'users and their roles', z.object({}), async (_a, ctx) =>
    Object.values(ctx.store.data.users)
      .map(({ name, role, createdAt, createdBy }) => ({ name, role, createdAt, createdBy }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  ),

  verb('user-password', "set a user's password (and optionally role)", z.object({ name: UserName, passwordHash: PasswordHash, role: Role.optional() }), async ({ name, passwordHash, role }, ctx, { user }) => {
    mustUser(ctx, name);
    ctx.store.change((d) => {
      const u = d.users[name]!;
      d.users[name] = { ...u, passwordHash, role: role ?? u.role, updatedAt: ctx.now() };
    });
    await ctx.store.flush();
    ctx.log.info({ user: name, by: user }, 'user password changed');
    return { name, role: ctx.store.data.users[name]!.role };
  }),

  verb('user-remove', 'remove a user', z.object({ name: UserName }), async ({ name }, ctx, { user }) => {
    const u = mustUser(ctx, name);
    const admins = Object.values(ctx.store.data.users).filter((x) => x.role === 'admin');
    if (u.role === 'admin' && admins.length === 1) throw new ApiError(`user ${name} is the last admin: add another admin first`);
    ctx.store.change((d) => void delete d.users[name]);
    await ctx.store.flush();
    ctx.log.info({ user: name, by: user }, 'user removed');
    return { removed: name };
  }),

  verb('token-create', 'mint an agent bootstrap token (shown once; only its hash is kept)', z.object({ note: z.string().max(256).optional() }), async ({ note }, ctx, { user }) => {
    const token = newAgentToken();
    const hash = tokenHash(token);
    ctx.store.change((d) => void d.agentTokens.push({ hash, note: note ?? null, createdAt: ctx.now(), createdBy: user ?? 'admin' }));
    await ctx.store.flush();
    ctx.log.info({ token: tokenId(hash), by: user }, 'agent token created');
    return { id: tokenId(hash), token };
  }),

  verb('token-list', 'agent tokens (ids, notes; config-file ones included)', z.object({}), async (_a, ctx) => [
    ...ctx.store.data.agentTokens.map((t) => ({ id: tokenId(t.hash), source: 'store', note: t.note, createdAt: t.createdAt, createdBy: t.createdBy })),
    ...ctx.config.auth.agentTokens.map((h) => ({ id: tokenId(h), source: 'config', note: null, createdAt: null, createdBy: null })),
  ]),

  verb('token-revoke', 'revoke an agent token by id (new connections with it are refused)', z.object({ id: z.string().regex(/^[0-9a-f]{12}$/, 'a token id is 12 hex digits (muster token list)') }), async ({ id }, ctx, { user }) => {
    if (ctx.config.auth.agentTokens.some((h) => tokenId(h) === id)) throw new ApiError(`token ${id} is in the config file: remove it from auth.agentTokens and restart`);
    const before = ctx.store.data.agentTokens.length;
    ctx.store.change((d) => void (d.agentTokens = d.agentTokens.filter((t) => tokenId(t.hash) !== id)));
    if (ctx.store.data.agentTokens.length === before) throw new ApiError(`no agent token ${id} (muster token list)`);
    await ctx.store.flush();
    ctx.log.info({ token: id, by: user }, 'agent token revoked');
    return { revoked: id };
  }),
];
