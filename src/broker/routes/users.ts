// POST/GET /api/users, PATCH /api/users/{id} (admin only)
import type { FastifyInstance } from 'fastify';
import { actorOf, authHooks } from '../auth.js';
import type { BrokerContext } from '../context.js';
import { Errors } from '../errors.js';
import { BEARER_AUTH } from '../openapi.js';
import { replies, userReply } from '../response-schemas.js';
import { createUserBody, updateUserBody } from '../schemas.js';
import { type NewUser, type UserChanges, publicUser } from '../users.js';

export function parseId(text: string, field: string): number {
  if (!/^\d{1,15}$/.test(text)) throw Errors.validation(`${field}: must be a positive integer`);
  return Number(text);
}

/** `{id}` in a path: checked by parseId, so that the error names the field. */
export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', description: 'a positive integer' } },
} as const;

const docs = (summary: string) => ({ tags: ['users'], summary, security: BEARER_AUTH });

export function userRoutes(app: FastifyInstance, ctx: BrokerContext): void {
  const { requireAdmin } = authHooks(ctx);

  app.post<{ Body: NewUser & { send_welcome?: boolean } }>(
    '/users',
    { preHandler: requireAdmin, schema: { ...docs('create a user'), body: createUserBody, response: replies(userReply) } },
    async (request) => {
      const { send_welcome: sendWelcome = false, ...fields } = request.body;
      const user = await ctx.users.create({ ...fields, email: fields.email.trim() });
      await ctx.audit.record(actorOf(request), {
        action: 'user.create',
        target_type: 'user',
        target_id: user.id,
        detail: { email: user.email, role: user.role, max_sessions: user.max_sessions, send_welcome: sendWelcome },
      });
      // After the response, and only the address and how to log in: the password is never mailed.
      if (sendWelcome) ctx.mail.queueWelcome(user, request.user!, actorOf(request));
      return publicUser(user);
    },
  );

  app.get(
    '/users',
    { preHandler: requireAdmin, schema: { ...docs('list users'), response: replies({ type: 'array', items: userReply }) } },
    async () => ctx.users.list(),
  );

  app.patch<{ Params: { id: string }; Body: UserChanges }>(
    '/users/:id',
    {
      preHandler: requireAdmin,
      schema: { ...docs('change a user'), params: idParams, body: updateUserBody, response: replies(userReply) },
    },
    async (request) => {
      const id = parseId(request.params.id, 'user_id');
      const changes = request.body ?? {};
      const fields = (['is_active', 'max_sessions', 'full_name', 'role', 'password'] as const).filter((f) => changes[f] !== undefined);
      if (fields.length === 0) throw Errors.validation('body: give at least one of is_active, max_sessions, full_name, role, password');
      const user = await ctx.users.update(id, changes);
      await ctx.audit.record(actorOf(request), {
        // Disabling and enabling are named, so that `rac admin audit --action user.disable` finds them.
        action: changes.is_active === false ? 'user.disable' : changes.is_active === true ? 'user.enable' : 'user.update',
        target_type: 'user',
        target_id: id,
        // Which fields changed, and the new values of those that are not secret.
        detail: Object.fromEntries(fields.map((f) => [f, f === 'password' ? '(changed)' : changes[f]])),
      });
      return publicUser(user);
    },
  );
}
