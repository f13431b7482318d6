// rac session create|list|close|info against a real broker: tables, --json, and exit codes.
import t from 'tap';
import { call, login, startBrokerProcess } from './helpers/broker-process.js';
import { isolatedEnv, loggedInEnv, rac } from './helpers/cli.js';

const broker = await startBrokerProcess();
t.teardown(() => broker.stop());
const admin = await loggedInEnv(broker.url);

t.test('create --json prints exactly the created session; list --json finds it', async (t) => {
  const created = await rac(['session', 'create', '--customer-name', 'Jane Customer', '--json'], { env: admin });
  t.equal(created.code, 0, created.stderr);
  t.equal(created.stderr, '');
  const session = JSON.parse(created.stdout);
  t.match(session, { session_code: /^\d{9}$/, customer_name: 'Jane Customer', customer_email: null, status: 'pending', tech_user_id: 1 });
  t.ok(session.udp_port >= broker.udpPorts.first && session.udp_port <= broker.udpPorts.last, 'a port of the broker range');

  const list = await rac(['session', 'list', '--json'], { env: admin });
  t.equal(list.code, 0);
  const sessions = JSON.parse(list.stdout);
  t.ok(Array.isArray(sessions));
  t.same(
    sessions.find((s: { id: number }) => s.id === session.id),
    session,
  );
});

t.test('create and list for people: fields and an aligned table on stdout, hints on stderr', async (t) => {
  const created = await rac(['session', 'create', '--customer-name', 'Bob'], { env: admin });
  t.equal(created.code, 0, created.stderr);
  const code = /^code:\s+(\d{9})$/m.exec(created.stdout)?.[1];
  t.ok(code, 'the code is on stdout');
  t.match(created.stdout, /^customer:\s+Bob$/m);
  t.match(created.stdout, /^customer email:\s+-$/m, 'an empty field shows as -');
  t.match(created.stderr, `rac agent --code ${code} --server ${broker.url}`);

  const list = await rac(['session', 'list'], { env: admin });
  t.equal(list.code, 0);
  const lines = list.stdout.trimEnd().split('\n');
  t.match(lines[0], /^ID\s+CODE\s+STATUS\s+CUSTOMER\s+CUSTOMER EMAIL\s+MAIL\s+UDP\s+OWNER\s+CREATED$/);
  const row = lines.find((line) => line.includes(code!))!;
  t.ok(row, 'the new session is listed');
  // Aligned: every row has its CODE column where the header has it.
  const column = lines[0]!.indexOf('CODE');
  for (const line of lines.slice(1)) t.match(line.slice(column, column + 9), /^\d{9}$/);
});

t.test('info by code needs no login; close by id; a closed session is not found (exit 4)', async (t) => {
  const session = JSON.parse((await rac(['session', 'create', '--json'], { env: admin })).stdout);
  const anonymous = isolatedEnv();
  const info = await rac(['session', 'info', session.session_code, '--server', broker.url, '--json'], { env: anonymous });
  t.equal(info.code, 0, info.stderr);
  t.same(JSON.parse(info.stdout), {
    session_code: session.session_code,
    udp_port: session.udp_port,
    status: 'pending',
    allow_unencrypted_agent: false,
  });
  const viaEnv = await rac(['session', 'info', session.session_code], { env: { ...anonymous, RAC_SERVER: broker.url } });
  t.equal(viaEnv.code, 0);
  t.match(
    viaEnv.stdout,
    new RegExp(
      `^code:\\s+${session.session_code}\\nstatus:\\s+pending\\nUDP port:\\s+${session.udp_port}\\nunencrypted agent:\\s+refused\\n$`,
    ),
  );

  const closed = await rac(['session', 'close', String(session.id), '--json'], { env: admin });
  t.equal(closed.code, 0, closed.stderr);
  t.same(JSON.parse(closed.stdout), { message: 'Session closed successfully' });
  const afterwards = await rac(['session', 'info', session.session_code], { env: admin });
  t.equal(afterwards.code, 4);
  t.equal(afterwards.stderr, 'rac: Session has been closed\n');
  const listed = JSON.parse((await rac(['session', 'list', '--json'], { env: admin })).stdout);
  t.equal(listed.find((s: { id: number }) => s.id === session.id).status, 'closed');
});

t.test('unknown sessions are exit 4; malformed ids and codes are exit 2', async (t) => {
  const close = await rac(['session', 'close', '999999'], { env: admin });
  t.equal(close.code, 4);
  t.equal(close.stderr, 'rac: Session not found\n');
  const info = await rac(['session', 'info', '000000001'], { env: admin });
  t.equal(info.code, 4);
  t.equal(info.stderr, 'rac: Session not found\n');
  const badId = await rac(['session', 'close', '123456789x'], { env: admin });
  t.equal(badId.code, 2);
  t.match(badId.stderr, /session id: expected a number/);
  const badCode = await rac(['session', 'info', '12345'], { env: admin });
  t.equal(badCode.code, 2);
  t.match(badCode.stderr, /session code: expected 9 digits/);
  const missing = await rac(['session', 'close'], { env: admin });
  t.equal(missing.code, 2);
  t.match(missing.stderr, /missing required argument 'id'/);
  const unknown = await rac(['session', 'open'], { env: admin });
  t.equal(unknown.code, 2);
});

t.test("a tech sees only their sessions and cannot close another's (exit 3)", async (t) => {
  const token = await login(broker.api);
  const tech = await call(broker.api, 'POST', '/users', { token, body: { email: 'tech@example.com', password: 'tech-password' } });
  t.equal(tech.status, 200);
  const techEnv = await loggedInEnv(broker.url, 'tech@example.com', 'tech-password');
  const mine = JSON.parse((await rac(['session', 'create', '--json'], { env: techEnv })).stdout);
  const adminSession = JSON.parse((await rac(['session', 'create', '--json'], { env: admin })).stdout);

  const list = JSON.parse((await rac(['session', 'list', '--json'], { env: techEnv })).stdout);
  t.same(
    list.map((s: { id: number }) => s.id),
    [mine.id],
  );
  const adminList = JSON.parse((await rac(['session', 'list', '--json'], { env: admin })).stdout);
  t.ok(
    adminList.some((s: { id: number }) => s.id === mine.id),
    'an admin sees every session',
  );

  const denied = await rac(['session', 'close', String(adminSession.id)], { env: techEnv });
  t.equal(denied.code, 3);
  t.match(denied.stderr, /^rac: Access denied: you can only manage your own sessions \(logged in as tech@example\.com\)/);
});

t.test('the session limit is exit 1 with the server detail', async (t) => {
  const token = await login(broker.api);
  const user = await call(broker.api, 'POST', '/users', {
    token,
    body: { email: 'limited@example.com', password: 'limited-password', max_sessions: 1 },
  });
  t.equal(user.status, 200);
  const env = await loggedInEnv(broker.url, 'limited@example.com', 'limited-password');
  t.equal((await rac(['session', 'create'], { env })).code, 0);
  const second = await rac(['session', 'create'], { env });
  t.equal(second.code, 1);
  t.equal(second.stderr, 'rac: Maximum concurrent sessions reached (1): close a session first\n');
});
