// GET /api/audit (admin only): the audit log, newest first, filtered, paged with a cursor.
import type { FastifyInstance } from 'fastify';
import type { AuditFilter } from '../audit-log.js';
import { authHooks } from '../auth.js';
import type { BrokerContext } from '../context.js';
import { isoNow } from '../database.js';
import { Errors } from '../errors.js';
import { BEARER_AUTH } from '../openapi.js';
import { auditPageReply, replies } from '../response-schemas.js';

export const DEFAULT_AUDIT_LIMIT = 100;
export const MAX_AUDIT_LIMIT = 1000;

interface AuditQuery {
  since?: string;
  until?: string;
  user?: string;
  action?: string;
  limit?: string;
  before?: string;
  after?: string;
}

const text = (description: string) => ({ type: 'string', maxLength: 254, description });

const auditQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    since: text('only events at or after this time (ISO 8601, e.g. 2026-01-31T10:30:00Z)'),
    until: text('only events before this time (ISO 8601)'),
    user: text('only events whose actor has this email (case-insensitive)'),
    action: text('only this action ("auth.login"), or a whole area ("session" matches every session.*)'),
    limit: text(`at most this many events (1-${MAX_AUDIT_LIMIT}, default ${DEFAULT_AUDIT_LIMIT})`),
    before: text("the previous page's next_before: events older than that one"),
    after: text('only events newer than this id (for following the log)'),
  },
} as const;

function timestamp(value: string | undefined, field: string): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw Errors.validation(`${field}: not an ISO 8601 time, e.g. 2026-01-31T10:30:00Z`);
  return isoNow(ms);
}

function count(value: string | undefined, field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d{1,15}$/.test(value) || n < min || n > max) throw Errors.validation(`${field}: must be an integer ${min}-${max}`);
  return n;
}

export function parseAuditQuery(query: AuditQuery): AuditFilter {
  const limit = count(query.limit, 'limit', 1, MAX_AUDIT_LIMIT) ?? DEFAULT_AUDIT_LIMIT;
  return {
    since: timestamp(query.since, 'since'),
    until: timestamp(query.until, 'until'),
    user: query.user?.trim() || undefined,
    action: query.action?.trim() || undefined,
    before: count(query.before, 'before'),
    after: count(query.after, 'after'),
    limit,
  };
}

export function auditRoutes(app: FastifyInstance, ctx: BrokerContext): void {
  const { requireAdmin } = authHooks(ctx);
  app.get<{ Querystring: AuditQuery }>(
    '/audit',
    {
      preHandler: requireAdmin,
      schema: {
        tags: ['audit'],
        summary: 'the audit log, newest first (admin only)',
        security: BEARER_AUTH,
        querystring: auditQuery,
        response: replies(auditPageReply),
      },
    },
    async (request) => {
      const filter = parseAuditQuery(request.query);
      const entries = await ctx.audit.query(filter);
      const full = entries.length === filter.limit;
      return { entries, next_before: full ? entries.at(-1)!.id : null };
    },
  );
}
