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
  const { customer_command, join_url, ...session } = JSON.parse(created.stdout);
  t.match(session, { session_code: /^\d{9}$/, customer_name: 'Jane Customer', customer_email: null, status: 'pending', tech_user_id: 1 });
  t.match(customer_command, `npx --yes ${broker.url}/download/rac-`, 'what the customer runs: the broker’s own package');
  t.match(customer_command, ` agent --code ${session.session_code} --server ${broker.url}`);
  t.equal(join_url, `${broker.url}/join/${session.session_code}`);
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
  t.match(
    created.stdout,
    new RegExp(`^customer runs:\\s+npx --yes ${broker.url}/download/rac-[^ ]+\\.tgz agent --code ${code} --server ${broker.url}$`, 'm'),
  );
  t.match(created.stdout, new RegExp(`^help page:\\s+${broker.url}/join/${code}$`, 'm'));
  t.match(created.stderr, `Give the customer the code ${code} and the command above, or send them to the help page.`);
  t.notMatch(created.stderr, /[Mm]ail/, 'no word about a mail nobody asked for');

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
  t.same(JSON.parse(closed.stdout), { message: 'Session closed successfully', already_closed: false });
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
  t.equal(
    denied.stderr,
    'rac: Access denied: you can only manage your own sessions (logged in as tech@example.com): the session belongs to another user; ask its owner or an admin\n',
  );
  t.notMatch(denied.stderr, /rac login/, 'logging in again as the same user would not help: not suggested');
  const techList = await rac(['session', 'list'], { env: techEnv });
  t.match(techList.stdout, new RegExp(`^${mine.id}\\s.*\\stech@example\\.com\\s`, 'm'), "a tech's OWNER column is their email");
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

t.test('without SMTP, create says the code was not mailed, and list says why', async (t) => {
  const created = await rac(['session', 'create', '--customer-email', 'cust@example.test'], { env: admin });
  t.equal(created.code, 0, created.stderr);
  t.notMatch(created.stderr, /Mailing|also sent/, 'no claim that a mail goes out');
  t.match(created.stderr, 'Not mailed: SMTP is not configured — give the customer the code yourself.');
  t.match(created.stdout, /^mail:\s+failed: SMTP is not configured$/m);
  const code = /^code:\s+(\d{9})$/m.exec(created.stdout)![1]!;
  const list = await rac(['session', 'list'], { env: admin });
  const row = list.stdout.split('\n').find((line) => line.includes(code))!;
  t.match(row, /failed: SMTP is not configured/, 'the MAIL column has the reason');
  t.match(row, /\sadmin@localhost\s/, 'the OWNER column has the email, not a number');
});

t.test('closing a closed session says so (exit 0), and does not claim it closed it', async (t) => {
  const session = JSON.parse((await rac(['session', 'create', '--json'], { env: admin })).stdout);
  t.equal((await rac(['session', 'close', String(session.id)], { env: admin })).code, 0);
  const again = await rac(['session', 'close', String(session.id)], { env: admin });
  t.equal(again.code, 0, 'like `gh pr close` on a closed pull request');
  t.equal(again.stderr, `Session ${session.id} was already closed; nothing to do.\n`);
  t.notMatch(again.stderr, /successfully/);
  const json = await rac(['session', 'close', String(session.id), '--json'], { env: admin });
  t.same(JSON.parse(json.stdout), { message: 'Session was already closed', already_closed: true });
});

t.test('a session code given to close as an id gets a hint (still exit 4)', async (t) => {
  const session = JSON.parse((await rac(['session', 'create', '--json'], { env: admin })).stdout);
  const byCode = await rac(['session', 'close', session.session_code], { env: admin });
  t.equal(byCode.code, 4);
  t.equal(byCode.stderr, `rac: Session not found: that is the code of session ${session.id}: run \`rac session close ${session.id}\`\n`);
  const otherCode = await rac(['session', 'close', '987654321'], { env: admin });
  t.equal(otherCode.code, 4);
  t.equal(otherCode.stderr, 'rac: Session not found: a 9-digit code is not an id: see the ID column of `rac session list`\n');
});
