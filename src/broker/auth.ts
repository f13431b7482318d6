// Bearer-token authentication for routes: resolves the token to a live, active user on every
// request, so a disabled or deleted user's token stops working at once.
import type { FastifyRequest } from 'fastify';
import { bearerToken } from '../http-kit/bearer.js';
import type { Actor } from './audit-log.js';
import type { BrokerContext } from './context.js';
import { Errors } from './errors.js';
import type { UserWithSecrets } from './users.js';

declare module 'fastify' {
  interface FastifyRequest {
    user: UserWithSecrets | null;
  }
}

/** The active user a token belongs to, or null. */
export async function userForToken(ctx: BrokerContext, token: string): Promise<UserWithSecrets | null> {
  const claims = await ctx.tokens.verify(token);
  if (!claims) return null;
  const user = await ctx.users.byId(claims.userId);
  if (!user || !user.is_active || user.token_version !== claims.tokenVersion) return null;
  return user;
}

export function authHooks(ctx: BrokerContext) {
  const requireUser = async (request: FastifyRequest): Promise<void> => {
    const token = bearerToken(request.headers.authorization);
    if (!token) throw Errors.notAuthenticated();
    const user = await userForToken(ctx, token);
    if (!user) throw Errors.invalidToken();
    request.user = user;
  };
  const requireAdmin = async (request: FastifyRequest): Promise<void> => {
    await requireUser(request);
    if (request.user?.role !== 'admin') throw Errors.adminRequired();
  };
  return { requireUser, requireAdmin };
}

export const actorOf = (request: FastifyRequest): Actor => ({
  id: request.user?.id ?? null,
  email: request.user?.email ?? null,
  address: request.ip,
});
