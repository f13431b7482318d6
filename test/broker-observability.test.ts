// Running the broker for real: a whole session at --log-level debug leaves no secret in the logs,
// whose JSON lines parse and carry request ids; GET /metrics parses as Prometheus text and its
// figures move while a session streams; the audit log is readable over GET /api/audit (admins
// only, filtered, paged) and with `rac admin audit`.
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import t from 'tap';
import { WebSocket } from 'ws';
import { createBrokerLogger } from '../src/broker/broker-log.js';
import type { AuditEntry, AuditPage, Session } from '../src/protocol/broker-api.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, RAC_BIN, call, login, startBrokerProcess } from './helpers/broker-process.js';
import { loggedInEnv, rac } from './helpers/cli.js';
import { parsePrometheusText, sampleValue } from './helpers/prometheus-text.js';
import { startSealedAgent } from './helpers/sealed-agent.js';
import { connectViewer } from './helpers/session-viewer.js';
import { makeSelfSignedCert, startTestSmtpServer } from './helpers/smtp-server.js';
import { SMTP_PASSWORD, SMTP_USER, configureSmtp, eventually } from './helpers/smtp-setup.js';
import { solidJpeg } from './helpers/test-picture.js';

const TECH_EMAIL = 'tech@example.test';
const TECH_PASSWORD = 'Tech-pa55word-never-logged';
const COOKIE_SECRET = 'session=cookie-value-never-logged';

const broker = await startBrokerProcess({ args: ['--log-level', 'debug', '--metrics', '--metrics-address', '127.0.0.1:0'] });
t.teardown(() => broker.stop());
const metricsUrl = await eventually(() => /metrics at (http:\/\/\S+\/metrics) \(no auth\)/.exec(broker.stderr())?.[1], 'the metrics URL');

const admin = await login(broker.api);
const tech = await createTech();
/** Every secret the session below uses; none may reach the broker's stderr. */
const secrets: Record<string, string> = { ADMIN_PASSWORD, TECH_PASSWORD, admin, tech, SMTP_PASSWORD, COOKIE_SECRET };

async function createTech(): Promise<string> {
  const res = await call(broker.api, 'POST', '/users', { token: admin, body: { email: TECH_EMAIL, password: TECH_PASSWORD } });
  if (res.status !== 200) throw new Error(`POST /users: ${res.status}`);
  return login(broker.api, TECH_EMAIL, TECH_PASSWORD);
}

async function scrape(): Promise<ReturnType<typeof parsePrometheusText>> {
  const response = await fetch(metricsUrl);
  if (response.status !== 200) throw new Error(`GET ${metricsUrl}: ${response.status}`);
  return parsePrometheusText(await response.text());
}

const logLines = (): Record<string, unknown>[] =>
  broker
    .stderr()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

t.test('a whole session: the metrics move, the logs tell it, and no secret is logged', async (t) => {
  const smtp = await startTestSmtpServer({ cert: makeSelfSignedCert(), tls: 'plain', auth: { user: SMTP_USER, pass: SMTP_PASSWORD } });
  t.teardown(() => smtp.close());
  await configureSmtp(broker.api, admin, {
    smtp_port: smtp.port,
    security_type: 'NONE',
    username: SMTP_USER,
    password: SMTP_PASSWORD,
    require_auth: true,
  });
  t.equal(
    (await call(broker.api, 'POST', '/smtp/test', { token: admin, body: { to: 'admin@example.test' } })).status,
    200,
    'test mail sent',
  );

  const before = await scrape();
  const session = (await call<Session>(broker.api, 'POST', '/sessions', { token: admin, body: { customer_name: 'Carl' } })).body;
  const agent = await startSealedAgent(broker.url, session, { width: 64, height: 64 });
  t.teardown(() => agent.close());
  const viewer = await connectViewer(broker.url, session.session_code, admin);
  t.teardown(() => viewer.close());
  await viewer.waitSealed();
  await viewer.waitControl('screen'); // the agent has the viewer's keys: frames go to it now
  const picture = solidJpeg([0, 128, 255]);
  const frame = viewer.nextFrame();
  await agent.sendFrame(picture);
  t.ok((await frame).jpeg.equals(picture), 'a frame went agent → viewer');

  const live = await scrape();
  t.equal(sampleValue(live, 'rac_sessions', { status: 'active' }), 1, 'one active session');
  t.equal(sampleValue(live, 'rac_connections', { party: 'viewer' }), 1, 'one viewer connected');
  t.equal(sampleValue(live, 'rac_connections', { party: 'agent' }), 1, 'one agent connected');
  for (const name of ['rac_relay_datagrams_total', 'rac_relay_bytes_total']) {
    for (const direction of ['in', 'out']) {
      t.ok(sampleValue(live, name, { direction }) > sampleValue(before, name, { direction }), `${name}{direction="${direction}"} grew`);
    }
  }
  t.ok(sampleValue(live, 'rac_relay_bytes_total', { direction: 'out' }) >= picture.length, 'the frame bytes went out');
  t.equal(sampleValue(live, 'rac_mails_total', { kind: 'test', outcome: 'sent' }), 1, 'the test mail is counted');
  t.ok(sampleValue(live, 'rac_http_requests_total', { method: 'POST', route: '/api/sessions', status: '200' }) >= 1);
  t.ok(sampleValue(live, 'rac_http_request_duration_seconds_count', { method: 'POST', route: '/api/sessions' }) >= 1);
  t.ok(live.has('nodejs_eventloop_lag_seconds'), 'event-loop lag is published');
  t.ok(live.has('process_resident_memory_bytes'), 'and the default process metrics');

  // Secrets in the places a careless request log would copy them from.
  const agentSecret = readAgentSecret(broker.dataDir, session.id);
  const ticket = viewer.signals.find((m) => m.type === 'udp_ticket');
  const ack = viewer.controls.find((m) => m.type === 'viewer_ack') as { cookie?: string } | undefined;
  Object.assign(secrets, { agentSecret, ticket: ticket?.type === 'udp_ticket' ? ticket.ticket : '', cookie: ack?.cookie ?? '' });
  const probe = await call(broker.api, 'GET', `/sessions?token=${tech}`, { token: admin, headers: { cookie: COOKIE_SECRET } });
  t.equal(probe.status, 200);
  t.equal(await refusedWithQueryToken(session.session_code), 403, "the tech's ?token= on the admin's session is refused");

  await call(broker.api, 'DELETE', `/sessions/${session.id}`, { token: admin });
  const after = await eventually(async () => {
    const scraped = await scrape();
    return sampleValue(scraped, 'rac_sessions', { status: 'closed' }) === 1 ? scraped : undefined;
  }, 'the session to count as closed');
  t.equal(sampleValue(after, 'rac_connections', { party: 'viewer' }), 0, 'nobody connected after the close');
  t.ok(
    sampleValue(after, 'rac_relay_bytes_total', { direction: 'out' }) >= sampleValue(live, 'rac_relay_bytes_total', { direction: 'out' }),
    'a closed relay keeps its bytes in the total',
  );

  const lines = logLines();
  const requestLine = lines.find((l) => l.req_id === probe.headers.get('x-request-id'));
  t.match(requestLine, { route: '/api/sessions', path: '/api/sessions', status: 200, address: '127.0.0.1' }, 'X-Request-Id finds its line');
  const events = lines.map((l) => l.msg);
  for (const event of [
    'session.agent_join',
    'session.viewer_join',
    'relay pinned the agent',
    'relay pinned a viewer',
    'signal from viewer',
    'mail sent',
  ]) {
    t.ok(events.includes(event), `logged: ${event}`);
  }
  await eventually(() => (logLines().some((l) => l.msg === 'session.viewer_leave') ? true : undefined), 'the viewer_leave line');
  const stderr = broker.stderr();
  for (const [name, value] of Object.entries(secrets)) {
    t.ok(value.length >= 8, `${name} is a real value`);
    t.notOk(stderr.includes(value), `${name} is not in the log`);
  }
});

function readAgentSecret(dataDir: string, sessionId: number): string {
  const db = new Database(join(dataDir, 'rac.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT agent_secret FROM sessions WHERE id = ?').get(sessionId) as { agent_secret: string }).agent_secret;
  } finally {
    db.close();
  }
}

/** A viewer WebSocket with the tech's token in the query string, refused (not its session): the status. */
function refusedWithQueryToken(code: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${broker.url.replace(/^http/, 'ws')}/ws/session/${code}?token=${tech}`);
    ws.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    ws.once('open', () => reject(new Error('the upgrade was accepted')));
    ws.once('error', () => undefined);
  });
}

t.test('GET /metrics on the main port needs an admin; the separate listener serves /metrics only', async (t) => {
  t.equal((await call(broker.url, 'GET', '/metrics')).status, 401, 'no token: 401');
  t.equal((await call(broker.url, 'GET', '/metrics', { token: tech })).status, 403, 'a tech: 403');
  const res = await fetch(`${broker.url}/metrics`, { headers: { authorization: `Bearer ${admin}` } });
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/plain/);
  t.ok(parsePrometheusText(await res.text()).has('rac_sessions'), 'an admin gets the metrics');
  t.equal((await fetch(metricsUrl.replace(/\/metrics$/, '/api/users'))).status, 404, 'nothing else on the metrics listener');
});

t.test('the audit log over HTTP: admins only, filtered, paged newest first', async (t) => {
  t.equal((await call(broker.api, 'GET', '/audit')).status, 401, 'unauthenticated: 401');
  t.equal((await call(broker.api, 'GET', '/audit', { token: tech })).status, 403, 'a tech: 403');
  await call(broker.api, 'POST', '/auth/login', { body: { email: TECH_EMAIL, password: 'wrong-password' } });

  const all = (await call<AuditPage>(broker.api, 'GET', '/audit?limit=1000', { token: admin })).body.entries;
  const ids = all.map((e) => e.id);
  t.same(
    ids,
    [...ids].sort((a, b) => b - a),
    'newest first',
  );
  const failed = all.find((e) => e.action === 'auth.login_failed');
  t.match(failed, { actor_email: TECH_EMAIL, address: '127.0.0.1', detail: { reason: 'wrong password' } }, 'failed login with its address');

  const sessionOnly = await audit('?action=session');
  const sessionActions = new Set(sessionOnly.map((e) => e.action));
  for (const action of ['session.create', 'session.agent_join', 'session.viewer_join', 'session.viewer_leave', 'session.close']) {
    t.ok(sessionActions.has(action), `action=session has ${action}`);
  }
  t.ok(
    sessionOnly.every((e) => e.action.startsWith('session.')),
    'and nothing else',
  );
  t.match(
    sessionOnly.find((e) => e.action === 'session.viewer_join'),
    { actor_email: ADMIN_EMAIL, address: '127.0.0.1' },
  );
  t.ok(
    (await audit(`?user=${encodeURIComponent(TECH_EMAIL.toUpperCase())}`)).every((e) => e.actor_email === TECH_EMAIL),
    'user= filters',
  );
  t.same(await audit('?action=auth.login_failed&until=2000-01-01T00:00:00Z'), [], 'until= filters');
  t.same(await audit('?since=2999-01-01T00:00:00Z'), [], 'since= filters');
  t.same(
    (await audit(`?after=${ids[2]}`)).map((e) => e.id),
    ids.slice(0, 2),
    'after= returns only newer events',
  );
  t.equal((await call(broker.api, 'GET', '/audit?since=yesterday', { token: admin })).status, 400, 'a bad time is a 400');
  t.equal((await call(broker.api, 'GET', '/audit?limit=0', { token: admin })).status, 400, 'limit 0 is a 400');

  const paged: number[] = [];
  for (let before: number | null | undefined; before !== null;) {
    const page = (await call<AuditPage>(broker.api, 'GET', `/audit?limit=3${before ? `&before=${before}` : ''}`, { token: admin })).body;
    t.ok(page.entries.length <= 3);
    paged.push(...page.entries.map((e) => e.id));
    before = page.next_before;
  }
  t.same(paged, ids, 'pages of 3 with the cursor give every event once, in order');
});

async function audit(query: string): Promise<AuditEntry[]> {
  const res = await call<AuditPage>(broker.api, 'GET', `/audit${query}`, { token: admin });
  if (res.status !== 200) throw new Error(`GET /audit${query}: ${res.status}`);
  return res.body.entries;
}

t.test('rac admin audit: a table, JSON lines, and --follow', async (t) => {
  const env = await loggedInEnv(broker.url);
  const json = await rac(['admin', 'audit', '--json', '--action', 'session', '--limit', '1000'], { env });
  t.equal(json.code, 0, json.stderr);
  const entries = json.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as AuditEntry);
  t.ok(entries.length >= 5 && entries.every((e) => e.action.startsWith('session.')), 'one session.* event per line');

  const table = await rac(['admin', 'audit', '--limit', '2'], { env });
  t.equal(table.code, 0);
  t.match(table.stdout, /^ID\s+AT\s+ACTION\s+ACTOR\s+ADDRESS\s+TARGET\s+DETAIL\n/, 'a header');
  t.equal(table.stdout.trim().split('\n').length, 3, 'and two rows');
  t.match(table.stderr, /More events: add --before \d+/, 'the next page is named on stderr');

  const techEnv = await loggedInEnv(broker.url, TECH_EMAIL, TECH_PASSWORD);
  const refused = await rac(['admin', 'audit'], { env: techEnv });
  t.equal(refused.code, 3, 'a tech is refused');
  t.match(refused.stderr, /admin/);

  const follower = spawn(process.execPath, [RAC_BIN, 'admin', 'audit', '--follow', '--json', '--action', 'auth.login_failed'], { env });
  t.teardown(() => follower.kill());
  let out = '';
  follower.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const already = await eventually(() => (out.includes('\n') ? out.split('\n').length - 1 : undefined), 'the first events');
  await call(broker.api, 'POST', '/auth/login', { body: { email: 'follow-me@example.test', password: 'wrong-password' } });
  const line = await eventually(
    () => out.split('\n').find((l) => l.includes('follow-me@example.test')),
    'the new failed login to be followed',
  );
  t.match(JSON.parse(line), { action: 'auth.login_failed', actor_email: 'follow-me@example.test' });
  t.equal(out.split('\n').length - 1, already + 1, 'only the new event was added');
});

t.test("the logger's second line of defence: secret fields are redacted, on a terminal too", async (t) => {
  const written = (pretty: boolean) => {
    let out = '';
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const log = createBrokerLogger({ level: 'debug', destination, pretty });
    log.info(
      {
        password: 'p4ssword-field',
        headers: { authorization: 'Bearer header-token', cookie: 'cookie-field' },
        detail: { ticket: 'ticket-field', agent_secret: 'agent-secret-field', smtp_password: 'smtp-field' },
        session_id: 7,
      },
      'an event carrying secrets',
    );
    log.debug('a debug line');
    return out;
  };
  const json = written(false);
  const lines = json
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.match(lines[0], { msg: 'an event carrying secrets', session_id: 7, password: '[redacted]', headers: { authorization: '[redacted]' } });
  t.equal(lines[1]?.msg, 'a debug line', '--log-level debug writes debug lines');
  const human = written(true);
  t.match(human, /an event carrying secrets/);
  t.throws(() => JSON.parse(human.split('\n')[0]!), 'a terminal gets human lines, not JSON');
  for (const secret of ['p4ssword-field', 'header-token', 'cookie-field', 'ticket-field', 'agent-secret-field', 'smtp-field']) {
    t.notOk(json.includes(secret) || human.includes(secret), `${secret} is redacted`);
  }
});

t.test('at info, a read that succeeded is quiet; changes, refusals and failures each get a line', async (t) => {
  const quiet = await startBrokerProcess();
  t.teardown(() => quiet.stop());
  const token = await login(quiet.api);
  const idOf = (response: { headers: Headers }) => response.headers.get('x-request-id');
  const read = await call(quiet.api, 'GET', '/users', { token });
  const refused = await call(quiet.api, 'GET', '/sessions/000000000/info');
  const change = await call(quiet.api, 'POST', '/sessions', { token, body: {} });
  t.same([read.status, refused.status, change.status], [200, 404, 200]);
  const lines = () =>
    quiet
      .stderr()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  // Lines leave in order: once the last request's line is there, the earlier ones would be too.
  await eventually(() => (lines().some((l) => l.req_id === idOf(change)) ? true : undefined), "the POST's line");
  const ids = lines().map((l) => l.req_id);
  t.ok(ids.includes(idOf(refused)), 'the 404 lookup has its line');
  t.notOk(ids.includes(idOf(read)), 'the GET that succeeded has none');
});
