// What the customer's side needs before it has anything else: the agent package at
// /download/rac-VERSION.tgz and the page at /join/CODE. No login, no lookup.
import { createReadStream, statSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { BrokerContext } from '../context.js';
import { Errors } from '../errors.js';
import { errorReply } from '../response-schemas.js';
import { joinPage } from '../join-page.js';
import { isSessionCode } from '../../protocol/session-code.js';

const codeParams = {
  type: 'object',
  required: ['code'],
  properties: { code: { type: 'string', description: 'the 9-digit session code' } },
};
const fileParams = { type: 'object', required: ['file'], properties: { file: { type: 'string', description: 'rac-VERSION.tgz' } } };
/** Not JSON: the 200 is described by its media type; errors are the usual JSON. */
const binaryReply = (mediaType: string, description: string) => ({
  200: { description, content: { [mediaType]: { schema: { type: 'string' } } } },
  '4xx': errorReply,
  '5xx': errorReply,
});

const SCHEMAS = {
  download: {
    tags: ['customer'],
    summary: "this broker's own package, for the customer's npx command (no login)",
    params: fileParams,
    response: binaryReply('application/gzip', 'the npm package (npm pack) of the running rac'),
  },
  join: {
    tags: ['customer'],
    summary: "the customer's page: the command to run on Windows, macOS and Linux (no login, the same for any code)",
    params: codeParams,
    response: binaryReply('text/html', 'a plain HTML page without scripts'),
  },
};

export function customerRoutes(app: FastifyInstance, ctx: BrokerContext): void {
  app.get<{ Params: { file: string } }>('/download/:file', { schema: SCHEMAS.download }, async (request, reply) => {
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

  app.get<{ Params: { code: string } }>('/join/:code', { schema: SCHEMAS.join }, async (request, reply) => {
    const code = request.params.code;
    if (!isSessionCode(code)) throw Errors.routeNotFound('GET', `/join/${code}`);
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
      .send(joinPage({ code, brokerUrl: ctx.publicUrl, version: ctx.agentPackage.version }));
  });
}
