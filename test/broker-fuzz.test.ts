// Property-based abuse of every endpoint: malformed JSON, wrong types, odd headers and oversized
// bodies. The broker must answer every one with a 4xx or 2xx and a JSON detail, and stay up.
import fc from 'fast-check';
import t from 'tap';
import { call, login, startBrokerProcess } from './helpers/broker-process.js';

const broker = await startBrokerProcess();
t.teardown(() => broker.stop());
const admin = await login(broker.api);
const session = (await call(broker.api, 'POST', '/sessions', { token: admin, body: {} })).body;

const FIELDS = [
  'email',
  'password',
  'full_name',
  'role',
  'max_sessions',
  'is_active',
  'smtp_host',
  'smtp_port',
  'security_type',
  'username',
  'from_email',
  'require_auth',
  'customer_name',
  'customer_email',
  '__proto__',
  'constructor',
];

const value = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('admin', 'tech', 'TLS', 'SSL', 'NONE', 'a@b.c', '', '0', '-1', '1e400', 'null'),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

const jsonBody = fc.oneof(
  fc.dictionary(fc.constantFrom(...FIELDS), value).map((o) => JSON.stringify(o)),
  fc.json({ maxDepth: 4 }),
  fc.string({ maxLength: 200 }), // mostly not JSON
  fc.constantFrom('{', '{"email":', '[]', 'null', '""', '{"__proto__":{"x":1}}', '{"a":1}{"b":2}', '\u0000', '{"email":"\ud800"}'),
  fc.nat({ max: 200_000 }).map((n) => JSON.stringify({ email: 'x'.repeat(n) })),
);

const id = fc.oneof(
  fc.constant(String(session.id)),
  fc.constant(String(session.session_code)),
  fc.string({ maxLength: 30 }),
  fc.nat().map(String),
  fc.constant('-1'),
  fc.constant('1e3'),
  fc.constant('%00'),
  fc.constant('9'.repeat(40)),
);

const endpoint = fc.oneof(
  fc.constant(['POST', '/api/auth/login']),
  fc.constant(['POST', '/api/users']),
  fc.constant(['GET', '/api/users']),
  id.map((i) => ['PATCH', `/api/users/${encodeURIComponent(i)}`]),
  fc.constant(['POST', '/api/smtp/config']),
  fc.constant(['GET', '/api/smtp/config']),
  fc.constant(['POST', '/api/sessions']),
  fc.constant(['GET', '/api/sessions']),
  id.map((i) => ['DELETE', `/api/sessions/${encodeURIComponent(i)}`]),
  id.map((i) => ['GET', `/api/sessions/${encodeURIComponent(i)}/info`]),
  fc.constant(['GET', '/health']),
  fc
    .tuple(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'), fc.string({ maxLength: 40 }))
    .map(([m, p]) => [m, `/api/${encodeURIComponent(p)}`]),
);

const auth = fc.constantFrom<string | undefined>(
  undefined,
  `Bearer ${admin}`,
  'Bearer x.y.z',
  'Basic YWRtaW46YWRtaW4=',
  `Bearer ${admin}x`,
  'Bearer',
  '',
);
const contentType = fc.constantFrom<string | undefined>(
  undefined,
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/json; charset=latin1',
  'multipart/form-data',
);

t.test('no request gets a 5xx, every error has a detail', async (t) => {
  const failures: string[] = [];
  await fc.assert(
    fc.asyncProperty(
      endpoint,
      auth,
      contentType,
      fc.option(jsonBody, { nil: undefined }),
      async ([method, path], authorization, type, body) => {
        const headers: Record<string, string> = {};
        if (authorization !== undefined) headers.authorization = authorization;
        if (type !== undefined && body !== undefined) headers['content-type'] = type;
        const hasBody = body !== undefined && method !== 'GET';
        const response = await fetch(broker.url + path, { method, headers, body: hasBody ? body : undefined });
        const text = await response.text();
        if (response.status >= 500) failures.push(`${method} ${path} → ${response.status} ${text}`);
        if (response.status >= 400) {
          const parsed = JSON.parse(text) as { detail?: unknown };
          if (typeof parsed.detail !== 'string') failures.push(`${method} ${path} → ${response.status} without detail: ${text}`);
        }
        return response.status < 500;
      },
    ),
    { numRuns: 1500 },
  );
  t.same(failures, [], 'no 5xx and no error without a detail');
  t.same((await call(broker.url, 'GET', '/health')).body, { status: 'healthy' }, 'the broker is still up');
  t.equal(broker.process.exitCode, null, 'and did not exit');
  const info = await call(broker.api, 'GET', `/sessions/${session.session_code}/info`);
  t.ok([200, 410, 429].includes(info.status), `the session is still known (${info.status}): open, or closed by a fuzzed DELETE`);
});
