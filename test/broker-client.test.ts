// The broker client on its own: URL normalisation, typed errors carrying status, detail and code,
// and timeouts against servers that accept but never answer.
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, type Socket, createServer } from 'node:net';
import t from 'tap';
import { BrokerApiError, BrokerClient, BrokerUnreachableError, normalizeServerUrl } from '../src/client/broker-client.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startBrokerProcess } from './helpers/broker-process.js';

t.test('normalizeServerUrl', async (t) => {
  t.equal(normalizeServerUrl('http://127.0.0.1:8080'), 'http://127.0.0.1:8080');
  t.equal(normalizeServerUrl('https://rac.example.com/'), 'https://rac.example.com');
  t.equal(normalizeServerUrl('https://rac.example.com/api/'), 'https://rac.example.com');
  t.equal(normalizeServerUrl('https://example.com/rac/api'), 'https://example.com/rac', 'a path prefix (reverse proxy) is kept');
  t.equal(normalizeServerUrl('localhost:8080'), 'http://localhost:8080', 'no scheme means http');
  t.throws(() => normalizeServerUrl('ftp://example.com'), /not an http\(s\) URL/);
  t.throws(() => normalizeServerUrl('http://'), /not a URL/);
  t.throws(() => normalizeServerUrl('http://example.com/?x=1'), /no query/);
  const client = new BrokerClient({ server: 'https://rac.example.com/' });
  t.equal(client.sessionWebSocketUrl('123456789'), 'wss://rac.example.com/ws/session/123456789');
  await client.close();
});

t.test('API errors carry status, detail, method, URL and the X-Rac-Error code', async (t) => {
  const broker = await startBrokerProcess();
  t.teardown(() => broker.stop());
  const anonymous = new BrokerClient({ server: broker.url });
  t.teardown(() => anonymous.close());
  const denied = await anonymous.listSessions().catch((err: unknown) => err);
  t.ok(denied instanceof BrokerApiError);
  t.match(denied, { status: 401, code: 'RAC_NOT_AUTHENTICATED', method: 'GET', url: `${broker.url}/api/sessions` });
  t.match((denied as Error).message, /^Not authenticated/);

  const { access_token } = await anonymous.login(ADMIN_EMAIL, ADMIN_PASSWORD);
  const admin = new BrokerClient({ server: broker.url, token: access_token });
  t.teardown(() => admin.close());
  t.same(await admin.health(), { status: 'healthy' });
  const missing = await admin.closeSession(424242).catch((err: unknown) => err);
  t.match(missing, { status: 404, detail: 'Session not found', code: 'RAC_SESSION_NOT_FOUND' });
  const invalid = await admin.createUser({ email: 'not-an-email', password: 'long-enough' }).catch((err: unknown) => err);
  t.match(invalid, { status: 400, detail: 'email: must be a valid email address' });
  const user = await admin.findUser(ADMIN_EMAIL.toUpperCase());
  t.equal(user.id, 1, 'found by email, case-insensitively');
  t.equal((await admin.findUser('1')).email, ADMIN_EMAIL, 'found by id');
  t.match(await admin.findUser('nobody@example.com').catch((err: unknown) => err), { status: 404 });
});

t.test('a server that answers HTML instead of JSON: the error says what came back', async (t) => {
  const server = createHttpServer((_req, res) => {
    res.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad Gateway</html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const client = new BrokerClient({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  t.teardown(() => client.close());
  const err = await client.health().catch((e: unknown) => e);
  t.ok(err instanceof BrokerApiError);
  t.match(err, { status: 502, message: /^HTTP 502 from GET http:\/\/127\.0\.0\.1:\d+\/health: <html>Bad Gateway<\/html>$/ });
});

t.test('a server that accepts but never answers times out with a clear message', async (t) => {
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    silent.close();
  });
  const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  const client = new BrokerClient({ server: url, timeoutMs: 300 });
  t.teardown(() => client.close());
  const err = await client.sessionInfo('123456789').catch((e: unknown) => e);
  t.ok(err instanceof BrokerUnreachableError);
  t.equal((err as Error).message, `cannot reach the broker at ${url}: no answer within 0.3 s`);
});

t.test('a refused connection names the URL', async (t) => {
  const client = new BrokerClient({ server: 'http://127.0.0.1:1' });
  t.teardown(() => client.close());
  const err = await client.health().catch((e: unknown) => e);
  t.ok(err instanceof BrokerUnreachableError);
  t.match(err, {
    url: 'http://127.0.0.1:1',
    message: 'cannot reach the broker at http://127.0.0.1:1: connection refused (is `rac serve` running there?)',
  });
});
