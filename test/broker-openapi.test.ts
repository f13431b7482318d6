// GET /api/openapi.json of a real `rac serve`: a valid OpenAPI 3.1 document that describes every
// route the broker's fastify registers, each with its reply schemas, and marks exactly the routes
// that refuse a request without a token as needing the Bearer JWT.
import { Validator } from '@seriousme/openapi-schema-validator';
import t from 'tap';
import { silentLogger } from '../src/broker/broker-log.js';
import type { BrokerContext } from '../src/broker/context.js';
import { buildHttpServer } from '../src/broker/http-server.js';
import { routesOf } from '../src/http-kit/route-list.js';
import { call, startBrokerProcess } from './helpers/broker-process.js';

interface Operation {
  tags?: string[];
  security?: Record<string, string[]>[];
  requestBody?: { content: Record<string, { schema: object }> };
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, object> };
}

// --metrics: GET /metrics on the main port is one of the routes, described like the others.
const broker = await startBrokerProcess({ args: ['--metrics'] });
t.teardown(() => broker.stop());
const served = await call<OpenApiDocument>(broker.api, 'GET', '/openapi.json');
const doc = served.body;
const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, path, method, operation })),
);

t.test('the document is valid OpenAPI 3.1', async (t) => {
  t.equal(served.status, 200);
  t.match(served.headers.get('content-type'), /^application\/json/);
  t.equal(doc.openapi, '3.1.0');
  const result = await new Validator().validate(doc as unknown as Parameters<Validator['validate']>[0]);
  t.same(result.errors ?? [], [], 'no validation errors');
  t.equal(result.valid, true);
  t.same(doc.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
});

t.test('every route fastify registered is described, and nothing else', async (t) => {
  // The same routes the broker process registered: built in-process from the same code.
  const app = buildHttpServer({ log: silentLogger() } as BrokerContext, undefined, true);
  await app.ready();
  const registered = routesOf(app).map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`);
  await app.close();
  t.ok(registered.includes('POST /api/sessions'), 'the route list is read');
  t.same([...new Set(registered)].sort(), operations.map((o) => o.key).sort());
});

t.test('every operation has a tag, its reply schemas and, when it takes one, its body schema', async (t) => {
  for (const { key, method, operation } of operations) {
    t.ok(operation.tags?.length, `${key}: tagged`);
    // The customer's download and page are not JSON: their 200 names its media type instead.
    const mediaTypes = Object.keys(operation.responses['200']?.content ?? {});
    t.ok(mediaTypes.length === 1 && operation.responses['200']!.content![mediaTypes[0]!]!.schema, `${key}: 200 reply schema`);
    if (key !== 'GET /api/openapi.json') {
      t.ok(operation.responses['4XX']?.content?.['application/json']?.schema, `${key}: error reply schema`);
    }
    if (method === 'post' || method === 'patch') {
      t.ok(operation.requestBody?.content['application/json']?.schema, `${key}: request body schema`);
    }
  }
});

t.test('the Bearer security is declared exactly where a request without a token is refused', async (t) => {
  // Body validation runs before authentication, so only body-less operations are played here;
  // the others are checked against the one public operation that takes a body.
  const example = (path: string) => path.replace('{id}', '1').replace('{code}', '123456789');
  for (const { key, path, method, operation } of operations) {
    const declared = (operation.security ?? []).some((s) => 'bearer' in s);
    if (operation.requestBody) {
      t.equal(declared, key !== 'POST /api/auth/login', `${key}: ${declared ? 'needs' : 'does not need'} a token`);
      continue;
    }
    const answer = await call(broker.url, method.toUpperCase(), example(path));
    const refused = answer.status === 401 && answer.headers.get('x-rac-error') === 'RAC_NOT_AUTHENTICATED';
    t.equal(declared, refused, `${key}: security ${declared ? 'declared' : 'absent'}, answered ${answer.status} without a token`);
  }
});
