// `rac agent` as a command: usage errors, --code failing before anything is served, HTTPS/WSS with --tls-cert, and
// honest 503s on a machine with no display and no sound server.
import { execFile } from 'node:child_process';
import { PassThrough, Readable } from 'node:stream';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
// undici's own fetch: Node's global one is typed against its bundled undici-types, whose Dispatcher is not this Agent.
import { Agent, fetch as undiciFetch } from 'undici';
import WebSocket from 'ws';
import { run } from '../src/cli.js';
import { call } from './helpers/broker-process.js';
import { startAgentProcess, TEST_API_KEY } from './helpers/agent-process.js';

const execFileAsync = promisify(execFile);

/** The rac program in-process: every case here fails before anything is served. */
async function rac(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  const stderr = new PassThrough();
  const stdout = new PassThrough();
  let err = '';
  let out = '';
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  const code = await run(['node', 'rac', ...args], { stdout, stderr, stdin: Readable.from([]), env: { ...process.env } });
  return { code, stderr: err, stdout: out };
}

t.test('usage errors, and --code failing before any API is served', async (t) => {
  const config = mkdtempSync(join(tmpdir(), 'rac-agent-cli-'));
  const cases: [string[], number, RegExp][] = [
    [
      ['agent', '--code', '123456', '--server', 'http://127.0.0.1:1', '--yes'],
      2,
      /--code: expected the 9-digit session code, got "123456"/,
    ],
    [['agent', '--code', '123456789', '--server', 'http://127.0.0.1:1', '--yes'], 1, /cannot reach the broker at http:\/\/127\.0\.0\.1:1/],
    [['agent', '--no-openctrol'], 2, /nothing to do/],
    [['agent', '--tls-cert', '/nonexistent.pem'], 2, /--tls-cert and --tls-key go together/],
    [['agent', '--wol-mac', '01:02:03'], 2, /--wol-mac: not a MAC address/],
    [['agent', '--wol-broadcast', 'everyone'], 2, /--wol-broadcast: not an IPv4/],
    [['agent', '--openctrol-port', '70000'], 2, /--openctrol-port: expected a port number/],
    [['agent', '--fps', '0'], 2, /--fps: expected a whole number 1-60/],
    [['agent', '--quality', '101'], 2, /--quality/],
    [['agent', '--api-key', 'a', '--api-key-file', '/etc/hostname'], 2, /not both/],
  ];
  for (const [args, code, message] of cases) {
    // Every case fails before listening, so the default port is never bound.
    const res = await rac([...args, '--config-dir', config]);
    t.equal(res.code, code, args.join(' '));
    t.match(res.stderr, message);
    t.notMatch(res.stderr, /listening/, 'nothing was served');
  }
  const help = (await rac(['agent', '--help'])).stdout;
  for (const option of [
    '--openctrol-port',
    '--openctrol-host',
    '--api-key-file',
    '--tls-cert',
    '--wol-mac',
    '--wol-broadcast',
    '--power-dry-run',
    '--no-openctrol',
    '--fps',
    '--quality',
  ]) {
    t.match(help, option);
  }
});

t.test('no display, no sound server: 503 where the spec says, health says degraded', async (t) => {
  const env: NodeJS.ProcessEnv = { DISPLAY: '', PULSE_SERVER: 'unix:/nonexistent/pulse/native' };
  const agent = await startAgentProcess({ env });
  t.teardown(() => agent.stop());
  const headers = { 'x-openctrol-key': TEST_API_KEY };
  t.match(agent.stderr(), /remote desktop: unavailable \(no X display/);
  const health = await call(agent.url, 'GET', '/api/v1/health');
  t.match(health.body.remote_desktop, { is_running: false, last_frame_at: null, desktop_state: 'unknown', degraded: true });
  for (const [method, path, body] of [
    ['GET', '/api/v1/rd/monitors'],
    ['POST', '/api/v1/rd/monitor', { monitor_id: 'DISPLAY1' }],
    ['POST', '/api/v1/sessions/desktop', {}],
  ] as const) {
    const res = await call(agent.url, method, path, { headers, body });
    t.same([res.status, res.body.error], [503, 'remote_desktop_unavailable'], `${method} ${path}`);
  }
  for (const [method, path, body] of [
    ['GET', '/api/v1/audio/status'],
    ['POST', '/api/v1/audio/master', { volume: 10 }],
    ['POST', '/api/v1/audio/default', { device_id: 'speakers' }],
  ] as const) {
    const res = await call(agent.url, method, path, { headers, body });
    t.same([res.status, res.body.error], [503, 'audio_unavailable'], `${method} ${path}`);
  }
  const ws = await new Promise<number>((resolve) => {
    const socket = new WebSocket(`ws://127.0.0.1:${agent.port}/api/v1/rd/session?api_key=${TEST_API_KEY}`);
    socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    socket.on('open', () => resolve(101));
  });
  t.equal(ws, 503, 'the input WebSocket answers 503 without a display');
  t.equal(agent.process.exitCode, null, 'still running');
});

t.test('a display that does not answer: 503, health says no_display', async (t) => {
  const agent = await startAgentProcess({ env: { DISPLAY: ':999', PULSE_SERVER: 'unix:/nonexistent/pulse/native' } });
  t.teardown(() => agent.stop());
  const headers = { 'x-openctrol-key': TEST_API_KEY };
  const health = await call(agent.url, 'GET', '/api/v1/health');
  t.match(health.body.remote_desktop, { is_running: false, state: 'no_display', desktop_state: 'unknown', degraded: true });
  const monitors = await call(agent.url, 'GET', '/api/v1/rd/monitors', { headers });
  t.same([monitors.status, monitors.body.error], [503, 'remote_desktop_unavailable']);
  t.match(monitors.body.details, /cannot reach X display :999/);
  const session = await call(agent.url, 'POST', '/api/v1/sessions/desktop', { headers, body: {} });
  t.same([session.status, session.body.error], [503, 'remote_desktop_unavailable'], 'no session for a dead display');
  t.equal((await call(agent.url, 'GET', '/api/v1/health')).body.active_sessions, 0);
  t.equal(agent.process.exitCode, null, 'still running');
  t.equal(await agent.stop(), 0, 'SIGTERM: exit 0');
  t.match(agent.stderr(), /rac agent: SIGTERM, shutting down/);
});

t.test('--api-key-file: the key from a file, never stored', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rac-agent-keyfile-'));
  const file = join(dir, 'key');
  writeFileSync(file, 'key-from-a-file-0123456789abcdef\n', { mode: 0o600 });
  const agent = await startAgentProcess({ key: null, env: { DISPLAY: '' }, args: ['--api-key-file', file] });
  t.teardown(() => agent.stop());
  t.match(agent.stderr(), `API key: from ${file}`);
  const sessions = (key: string) => call(agent.url, 'POST', '/api/v1/sessions/desktop/x/end', { headers: { 'x-openctrol-key': key } });
  t.equal((await sessions('key-from-a-file-0123456789abcdef')).status, 404, 'the file’s key (trimmed) is accepted');
  t.equal((await sessions('key-from-a-file')).status, 401, 'a prefix of it is not');
  t.equal(JSON.parse(readFileSync(join(agent.configDir, 'agent.json'), 'utf8')).api_key, undefined, 'not copied into agent.json');
  const missing = await rac(['agent', '--api-key-file', join(dir, 'nope'), '--config-dir', dir]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /config: .*ENOENT/);
});

t.test('--tls-cert/--tls-key: HTTPS and WSS', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rac-agent-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  await execFileAsync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    '/CN=127.0.0.1',
  ]);
  const agent = await startAgentProcess({ env: { DISPLAY: '' }, args: ['--tls-cert', cert, '--tls-key', key] });
  t.teardown(() => agent.stop());
  t.match(agent.stderr(), /listening on https:\/\//);
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
  t.teardown(() => dispatcher.close());
  const url = `https://127.0.0.1:${agent.port}`;
  const health = await undiciFetch(`${url}/api/v1/health`, { dispatcher });
  t.equal(health.status, 200);
  const denied = await undiciFetch(`${url}/api/v1/audio/status`, { dispatcher });
  t.equal(denied.status, 401);
  const session = await undiciFetch(`${url}/api/v1/sessions/desktop`, {
    dispatcher,
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
    body: '{}',
  });
  t.equal(session.status, 503, 'no display here, but the request went through TLS and auth');
  const ws = await new Promise<number>((resolve) => {
    const socket = new WebSocket(`wss://127.0.0.1:${agent.port}/api/v1/rd/session`, {
      headers: { 'x-openctrol-key': 'wrong' },
      rejectUnauthorized: false,
    });
    socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    socket.on('open', () => resolve(101));
    socket.on('error', () => resolve(-1));
  });
  t.equal(ws, 401, 'WSS upgrade is authenticated');
  const plain = await fetch(`http://127.0.0.1:${agent.port}/api/v1/health`).then(
    (r) => r.status,
    () => 'refused',
  );
  t.not(plain, 200, 'plain HTTP is not served on the TLS port');
});
