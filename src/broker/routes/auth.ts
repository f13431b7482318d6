// POST /api/auth/login
import type { FastifyInstance } from 'fastify';
import type { BrokerContext } from '../context.js';
import { Errors } from '../errors.js';
import { DUMMY_HASH, needsRehash, verifyPassword } from '../passwords.js';
import { loginReply, replies } from '../response-schemas.js';
import { loginBody } from '../schemas.js';
import { LOGIN_ACCOUNT_SCOPE } from '../throttle.js';

/** The per-account throttle's key: the email as typed, so unknown accounts are counted alike. */
const accountKey = (email: string): string => email.trim().toLowerCase().slice(0, 254);

export function authRoutes(app: FastifyInstance, ctx: BrokerContext): void {
  app.post<{ Body: { email: string; password: string } }>(
    '/auth/login',
    { schema: { tags: ['auth'], summary: 'log in: a token for the Bearer header', body: loginBody, response: replies(loginReply) } },
    async (request) => {
      const address = request.ip;
      const email = request.body.email.trim();
      // Counted as a failure before the hash; taken back below if the login succeeds.
      const attempt = await ctx.throttle.reserve([
        { scope: 'login', key: address },
        { scope: LOGIN_ACCOUNT_SCOPE, key: accountKey(email) },
      ]);
      const user = await ctx.users.byEmail(email);
      const matches = await verifyPassword(request.body.password, user?.password_hash ?? DUMMY_HASH);
      if (!user || !matches || !user.is_active) {
        attempt.keep();
        await ctx.audit.record(
          { id: user?.id ?? null, email: request.body.email.slice(0, 254), address },
          {
            action: 'auth.login_failed',
            target_type: 'user',
            target_id: user?.id ?? null,
            detail: { reason: !user ? 'unknown email' : !matches ? 'wrong password' : 'disabled' },
          },
        );
        throw Errors.invalidCredentials();
      }
      await attempt.refund();
      if (needsRehash(user.password_hash)) await ctx.users.upgradePasswordHash(user.id, user.password_hash, request.body.password);
      await ctx.audit.record(
        { id: user.id, email: user.email, address },
        { action: 'auth.login', target_type: 'user', target_id: user.id },
      );
      return {
        access_token: await ctx.tokens.sign({ userId: user.id, role: user.role, tokenVersion: user.token_version }),
        token_type: 'bearer',
        user: { id: user.id, email: user.email, full_name: user.full_name, role: user.role },
      };
    },
  );
}
