// allow_unencrypted_agent (the API and `rac session create --allow-unencrypted`), and text from
// another party (names, customers, a broker's detail) reaching the terminal without control
// characters, against a real `rac serve` (and, for the detail, a broker that lies).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { call, login, startBrokerProcess } from './helpers/broker-process.js';
import { isolatedEnv, loggedInEnv, rac } from './helpers/cli.js';

const broker = await startBrokerProcess();
t.teardown(() => broker.stop());
const token = await login(broker.api);
const admin = await loggedInEnv(broker.url);

const HOSTILE = '\x1b[2K\r…view only';
const ESCAPED = '\\x1b[2K\\x0d…view only';

t.test('POST /api/sessions: allow_unencrypted_agent is a boolean, false unless asked for', async (t) => {
  const create = (body: unknown) => call(broker.api, 'POST', '/sessions', { token, body });
  const allowed = await create({ allow_unencrypted_agent: true });
  t.equal(allowed.status, 200);
  t.equal(allowed.body.allow_unencrypted_agent, true);
  t.equal((await create({ allow_unencrypted_agent: false })).body.allow_unencrypted_agent, false);
  const plain = await create({});
  t.equal(plain.body.allow_unencrypted_agent, false, 'default');
  for (const value of ['yes', 1, null]) {
    const bad = await create({ allow_unencrypted_agent: value });
    t.equal(bad.status, 400, `400 for ${JSON.stringify(value)}`);
    t.equal(bad.body.detail, 'allow_unencrypted_agent: must be boolean');
  }

  const list = (await call<{ id: number; allow_unencrypted_agent: boolean }[]>(broker.api, 'GET', '/sessions', { token })).body;
  t.equal(list.find((s) => s.id === allowed.body.id)?.allow_unencrypted_agent, true, 'GET /sessions returns it');
  t.equal(list.find((s) => s.id === plain.body.id)?.allow_unencrypted_agent, false);
  const info = await call(broker.api, 'GET', `/sessions/${allowed.body.session_code}/info`);
  t.equal(info.body.allow_unencrypted_agent, true, 'so does the info by code');
});

t.test('rac session create --allow-unencrypted, shown by create, info and list --json', async (t) => {
  const help = await rac(['session', 'create', '--help'], { env: admin });
  const helpText = help.stdout.replace(/\s+/g, ' ');
  t.match(helpText, '--allow-unencrypted for the reference Windows client only: let it join, its stream is then NOT encrypted');

  const json = await rac(['session', 'create', '--allow-unencrypted', '--json'], { env: admin });
  t.equal(json.code, 0, json.stderr);
  const created = JSON.parse(json.stdout);
  t.equal(created.allow_unencrypted_agent, true);

  const human = await rac(['session', 'create', '--allow-unencrypted'], { env: admin });
  t.match(human.stdout, /^unencrypted agent:\s+allowed \(reference Windows client; the stream is NOT encrypted\)$/m);
  const plain = await rac(['session', 'create'], { env: admin });
  t.match(plain.stdout, /^unencrypted agent:\s+refused$/m);

  const info = await rac(['session', 'info', created.session_code, '--server', broker.url], { env: admin });
  t.match(info.stdout, /^unencrypted agent:\s+allowed/m);
  const list = JSON.parse((await rac(['session', 'list', '--json'], { env: admin })).stdout) as {
    id: number;
    allow_unencrypted_agent: boolean;
  }[];
  t.equal(list.find((s) => s.id === created.id)?.allow_unencrypted_agent, true);

  const completion = await rac(['completion', 'bash'], { env: admin });
  t.match(completion.stdout, /rac\/session\/create\) words="[^"]*--allow-unencrypted/, 'bash completes the flag');
});

t.test('names, emails and customers with control characters are printed escaped', async (t) => {
  const user = await call(broker.api, 'POST', '/users', {
    token,
    body: { email: 'mallory@example.com', password: 'mallory-password', full_name: HOSTILE },
  });
  t.equal(user.status, 200);
  const users = await rac(['admin', 'users', 'list'], { env: admin });
  t.notMatch(users.stdout, /[\x1b\r]/, 'rac admin users list: no ESC, no CR');
  t.ok(users.stdout.includes(ESCAPED), 'the name is shown escaped');

  const mallory = await loggedInEnv(broker.url, 'mallory@example.com', 'mallory-password');
  const created = await rac(['session', 'create', '--customer-name', HOSTILE], { env: mallory });
  t.equal(created.code, 0, created.stderr);
  t.notMatch(created.stdout + created.stderr, /[\x1b\r]/, 'rac session create: none either');
  const list = await rac(['session', 'list'], { env: admin });
  t.notMatch(list.stdout, /[\x1b\r]/, 'rac session list: none either');
  t.ok(list.stdout.includes(ESCAPED), 'the customer is shown escaped');
});

t.test("a broker's detail with control characters is printed escaped", async (t) => {
  // A broker that answers every request with a 404 whose detail tries to rewrite the terminal.
  const liar = createServer((_request, response) => {
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ detail: `Session not found${HOSTILE}` }));
  });
  await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
  t.teardown(() => liar.close());
  const server = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
  const info = await rac(['session', 'info', '123456789', '--server', server], { env: admin });
  t.equal(info.code, 4);
  t.equal(info.stderr, `rac: Session not found${ESCAPED}\n`);
});

t.test('--allow-unencrypted against a broker that ignores it says so instead of pretending', async (t) => {
  // An older broker: no allow_unencrypted_agent in its answer.
  const older = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ id: 41, session_code: '123456789', tech_user_id: 1, customer_name: null, customer_email: null }));
  });
  await new Promise<void>((resolve) => older.listen(0, '127.0.0.1', resolve));
  t.teardown(() => older.close());
  const server = `http://127.0.0.1:${(older.address() as AddressInfo).port}`;
  const env = isolatedEnv({ RAC_SERVER: server, RAC_TOKEN: 'token-for-an-older-broker' });
  const created = await rac(['session', 'create', '--allow-unencrypted', '--json'], { env });
  t.equal(created.code, 1);
  t.equal(created.stdout, '', 'no session printed as if it had worked');
  t.match(created.stderr, /ignored --allow-unencrypted .*session 41 was created without it; close it with `rac session close 41`/);
});
