// POST /api/admin/backup (admin only): the data dir's database and keys as a tar archive, taken
// while the broker runs (backup.ts). The archive holds every secret of the broker: only admins get it.
import type { FastifyInstance } from 'fastify';
import { actorOf, authHooks } from '../auth.js';
import { backupDataDir } from '../backup.js';
import type { BrokerContext } from '../context.js';
import { BEARER_AUTH } from '../openapi.js';
import { errorReply } from '../response-schemas.js';

const SCHEMA = {
  tags: ['backup'],
  summary: 'an online backup: the database (a consistent snapshot) and the key files, as a tar archive',
  security: BEARER_AUTH,
  body: { type: 'object', additionalProperties: false, properties: {} },
  response: {
    200: {
      description: 'tar archive: rac.db, jwt-secret.key, smtp-secret.key',
      content: { 'application/x-tar': { schema: { type: 'string' } } },
    },
    '4xx': errorReply,
    '5xx': errorReply,
  },
};

export function backupRoutes(app: FastifyInstance, ctx: BrokerContext): void {
  const { requireAdmin } = authHooks(ctx);
  app.post('/admin/backup', { preHandler: requireAdmin, schema: SCHEMA }, async (request, reply) => {
    const backup = await backupDataDir(ctx.db, ctx.dataDir);
    await ctx.audit.record(actorOf(request), { action: 'broker.backup', detail: { files: backup.files } });
    return reply
      .type('application/x-tar')
      .header('cache-control', 'no-store')
      .header('content-disposition', 'attachment; filename="rac-backup.tar"')
      .send(backup.archive);
  });
}
