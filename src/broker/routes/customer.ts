// What the customer's side needs before it has anything else: the agent package at
// /download/rac-VERSION.tgz and the page at /join/CODE. No login, no lookup.
import { createReadStream, statSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { BrokerContext } from '../context.js';
import { Errors } from '../errors.js';
import { joinPage } from '../join-page.js';
import { SESSION_CODE } from './sessions.js';

export function customerRoutes(app: FastifyInstance, ctx: BrokerContext): void {
  app.get<{ Params: { file: string } }>('/download/:file', async (request, reply) => {
    if (request.params.file !== ctx.agentPackage.fileName) throw Errors.agentPackageNotFound(ctx.agentPackage.fileName);
    let file: string;
    try {
      file = await ctx.agentPackage.get();
    } catch {
      throw Errors.agentPackageUnavailable();
    }
    return reply
      .type('application/gzip')
      .header('content-length', statSync(file).size)
      .header('content-disposition', `attachment; filename="${ctx.agentPackage.fileName}"`)
      .send(createReadStream(file));
  });

  app.get<{ Params: { code: string } }>('/join/:code', async (request, reply) => {
    const code = request.params.code;
    if (!SESSION_CODE.test(code)) throw Errors.routeNotFound('GET', `/join/${code}`);
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
      .send(joinPage({ code, brokerUrl: ctx.publicUrl, version: ctx.agentPackage.version }));
  });
}
