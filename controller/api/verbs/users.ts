import { newAgentToken, tokenHash, tokenId } from '../../auth/tokens.js';
import type { Context } from '../../context.js';
import { ApiError, verb } from '../verb.js';

function mustUser(ctx: Context, name: string) {
  if (!Object.hasOwn(ctx.store.data.users, name)) throw new ApiError(`user ${name} does not exist`);
  return ctx.store.data.users[name]!;
}

/** Users and agent tokens (admin-only but whoami: shared/verbs/catalog.ts). Hashes never leave the controller. */
export const userVerbs = [
  verb('whoami', async (_a, _ctx, { user, role }) => ({ user, role })),

  verb('user-add', async ({ name, role, passwordHash }, ctx, { user }) => {
    if (Object.hasOwn(ctx.store.data.users, name)) throw new ApiError(`user ${name} exists already (change it with user-password or remove it first)`);
    const at = ctx.now();
    ctx.store.change((d) => void (d.users[name] = { name, role, passwordHash, createdAt: at, updatedAt: at, createdBy: user }));
    await ctx.store.flush();
    ctx.log.info({ user: name, role, by: user }, 'user added');
    return { name, role };
  }),

  verb('user-list', async (_a, ctx) =>
    Object.values(ctx.store.data.users)
      .map(({ name, role, createdAt, createdBy }) => ({ name, role, createdAt, createdBy }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  ),

  verb('user-password', async ({ name, passwordHash, role }, ctx, { user }) => {
    mustUser(ctx, name);
    ctx.store.change((d) => {
      const u = d.users[name]!;
      d.users[name] = { ...u, passwordHash, role: role ?? u.role, updatedAt: ctx.now() };
    });
    await ctx.store.flush();
    ctx.log.info({ user: name, by: user }, 'user password changed');
    return { name, role: ctx.store.data.users[name]!.role };
  }),

  verb('user-remove', async ({ name }, ctx, { user }) => {
    const u = mustUser(ctx, name);
    const admins = Object.values(ctx.store.data.users).filter((x) => x.role === 'admin');
    if (u.role === 'admin' && admins.length === 1) throw new ApiError(`user ${name} is the last admin: add another admin first`);
    ctx.store.change((d) => void delete d.users[name]);
    await ctx.store.flush();
    ctx.log.info({ user: name, by: user }, 'user removed');
    return { removed: name };
  }),

  verb('token-create', async ({ note }, ctx, { user }) => {
    const token = newAgentToken();
    const hash = tokenHash(token);
    ctx.store.change((d) => void d.agentTokens.push({ hash, note: note ?? null, createdAt: ctx.now(), createdBy: user }));
    await ctx.store.flush();
    ctx.log.info({ token: tokenId(hash), by: user }, 'agent token created');
    return { id: tokenId(hash), token };
  }),

  verb('token-list', async (_a, ctx) => [
    ...ctx.store.data.agentTokens.map((t) => ({ id: tokenId(t.hash), source: 'store' as const, note: t.note, createdAt: t.createdAt, createdBy: t.createdBy })),
    ...ctx.config.auth.agentTokens.map((h) => ({ id: tokenId(h), source: 'config' as const, note: null, createdAt: null, createdBy: null })),
  ]),

  verb('token-revoke', async ({ id }, ctx, { user }) => {
    if (ctx.config.auth.agentTokens.some((h) => tokenId(h) === id)) throw new ApiError(`token ${id} is in the config file: remove it from auth.agentTokens and restart`);
    const before = ctx.store.data.agentTokens.length;
    ctx.store.change((d) => void (d.agentTokens = d.agentTokens.filter((t) => tokenId(t.hash) !== id)));
    if (ctx.store.data.agentTokens.length === before) throw new ApiError(`no agent token ${id} (muster token list)`);
    await ctx.store.flush();
    ctx.log.info({ token: id, by: user }, 'agent token revoked');
    return { revoked: id };
  }),
];
