// POST /api/auth/login
import type { FastifyInstance } from 'fastify';
import type { BrokerContext } from '../context.js';
import { Errors } from '../errors.js';
import { verifyPassword } from '../passwords.js';
import { loginReply, replies } from '../response-schemas.js';
import { loginBody } from '../schemas.js';

// Verified against when the email is unknown, so a miss costs the same time as a wrong password.
const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

export function authRoutes(app: FastifyInstance, ctx: BrokerContext): void {
  app.post<{ Body: { email: string; password: string } }>(
    '/auth/login',
    { schema: { tags: ['auth'], summary: 'log in: a token for the Bearer header', body: loginBody, response: replies(loginReply) } },
    async (request) => {
      ctx.throttle.check('login', request.ip);
      const user = ctx.users.byEmail(request.body.email.trim());
      const matches = await verifyPassword(request.body.password, user?.password_hash ?? DUMMY_HASH);
      const address = request.ip;
      if (!user || !matches || !user.is_active) {
        ctx.throttle.recordMiss('login', address);
        ctx.audit.record(
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
      ctx.audit.record({ id: user.id, email: user.email, address }, { action: 'auth.login', target_type: 'user', target_id: user.id });
      return {
        access_token: await ctx.tokens.sign({ userId: user.id, role: user.role, tokenVersion: user.token_version }),
        token_type: 'bearer',
        user: { id: user.id, email: user.email, full_name: user.full_name, role: user.role },
      };
    },
  );
}
