// `rac agent` as a real process serving the Openctrol REST API over real HTTP, against a real Xvfb
// (two RandR monitors) and a real PulseAudio daemon (two null sinks).
import { createSocket } from 'node:dgram';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import WebSocket from 'ws';
import { call, type JsonObject } from './helpers/broker-process.js';
import { type AudioStatusBody, type DesktopSessionCreated, startAgentProcess, TEST_API_KEY } from './helpers/agent-process.js';
import { startPulseAudio } from './helpers/pulseaudio.js';
import { startXvfb, waitFor } from './helpers/xvfb.js';

const xvfb = await startXvfb();
t.teardown(() => xvfb.stop());
const pulse = await startPulseAudio();
t.teardown(() => pulse.stop());
const wolSocket = createSocket('udp4');
t.teardown(() => wolSocket.close());
await new Promise<void>((r) => wolSocket.bind(0, '127.0.0.1', () => r()));
const WOL_MAC = '02:42:ac:11:00:02';

const agent = await startAgentProcess({
  env: { ...xvfb.env, PULSE_SERVER: pulse.env.PULSE_SERVER },
  args: ['--auth-fail-limit', '100000', '--wol-mac', WOL_MAC, '--wol-broadcast', `127.0.0.1:${wolSocket.address().port}`],
});
t.teardown(() => agent.stop());
const auth = { 'x-openctrol-key': TEST_API_KEY };
const get = <T = JsonObject>(path: string) => call<T>(agent.url, 'GET', path, { headers: auth });
const post = <T = JsonObject>(path: string, body?: unknown) => call<T>(agent.url, 'POST', path, { headers: auth, body });

t.test('health: public, and reports what is real', async (t) => {
  const res = await call(agent.url, 'GET', '/api/v1/health');
  t.equal(res.status, 200);
  t.match(res.body, {
    agent_id: /^[0-9a-f-]{36}$/,
    version: /^\d+\.\d+\.\d+/,
    uptime_seconds: Number,
    remote_desktop: { is_running: false, last_frame_at: null, state: 'desktop', desktop_state: 'desktop', degraded: false },
    active_sessions: 0,
  });
  const stored = JSON.parse(readFileSync(join(agent.configDir, 'agent.json'), 'utf8'));
  t.equal(res.body.agent_id, stored.agent_id, 'the agent id is the stored one');
  t.equal(stored.api_key, undefined, 'a key given with --api-key is not written to disk');
});

t.test('audio: status, master, device and default really change PulseAudio', async (t) => {
  let res = await get('/api/v1/audio/status');
  t.equal(res.status, 200);
  t.same(res.body, {
    master: { volume: 100, muted: false },
    devices: [
      { id: 'speakers', name: 'Speakers', is_default: true, volume: 100, muted: false },
      { id: 'headset', name: 'Headset', is_default: false, volume: 100, muted: false },
    ],
  });

  res = await post('/api/v1/audio/master', { volume: 35, muted: true });
  t.same([res.status, res.body], [200, { status: 'ok' }]);
  t.same(
    (await pulse.sinks()).find((s) => s.name === 'speakers'),
    { name: 'speakers', description: 'Speakers', mute: true, volumePercent: 35 },
  );
  res = await post('/api/v1/audio/master', { muted: false });
  t.equal(res.status, 200);
  t.match(
    (await pulse.sinks()).find((s) => s.name === 'speakers'),
    { mute: false, volumePercent: 35 },
    'volume unchanged when omitted',
  );

  // camelCase, PascalCase and a float
  t.equal((await post('/api/v1/audio/device', { deviceId: 'headset', volume: 42.6 })).status, 200);
  t.match(
    (await pulse.sinks()).find((s) => s.name === 'headset'),
    { volumePercent: 43, mute: false },
  );
  t.equal((await post('/api/v1/audio/device', { DeviceId: 'headset', Muted: true })).status, 200);
  t.match(
    (await pulse.sinks()).find((s) => s.name === 'headset'),
    { volumePercent: 43, mute: true },
  );

  res = await post('/api/v1/audio/default', { device_id: 'headset' });
  t.same([res.status, res.body], [200, { status: 'ok' }]);
  t.equal(await pulse.defaultSink(), 'headset');
  const status = await get<AudioStatusBody>('/api/v1/audio/status');
  t.same(status.body.master, { volume: 43, muted: true }, 'master follows the default device');
  t.same(
    status.body.devices.map((d) => [d.id, d.is_default]),
    [
      ['speakers', false],
      ['headset', true],
    ],
  );

  t.same((await post('/api/v1/audio/device', { device_id: 'nope', volume: 5 })).status, 404);
  const missing = await post('/api/v1/audio/default', { device_id: 'nope' });
  t.same([missing.status, missing.body.error], [404, 'device_not_found']);
});

t.test('monitors: RandR layout, selection', async (t) => {
  let res = await get('/api/v1/rd/monitors');
  t.equal(res.status, 200);
  t.same(res.body, {
    monitors: [
      { id: 'DISPLAY1', name: 'DP-1', resolution: '1920x1080', width: 1920, height: 1080, is_primary: true },
      { id: 'DISPLAY2', name: 'HDMI-1', resolution: '1280x1024', width: 1280, height: 1024, is_primary: false },
    ],
    current_monitor_id: 'DISPLAY1',
  });
  res = await post('/api/v1/rd/monitor', { MonitorId: 'DISPLAY2' });
  t.same([res.status, res.body], [200, { status: 'ok', monitor_id: 'DISPLAY2' }]);
  t.equal((await get('/api/v1/rd/monitors')).body.current_monitor_id, 'DISPLAY2');
  res = await post('/api/v1/rd/monitor', { monitor_id: 'DISPLAY9' });
  t.same([res.status, res.body.error], [404, 'monitor_not_found']);
  t.equal((await post('/api/v1/rd/monitor', { monitor_id: 'DISPLAY1' })).status, 200);
});

t.test('power: restart and shutdown run the exact OS command (dry run); wol sends the packet', async (t) => {
  let res = await post('/api/v1/power', { action: 'restart' });
  t.same([res.status, res.body], [200, { status: 'ok', action: 'restart' }]);
  t.ok(await waitFor(() => agent.stderr().includes('power (dry run): systemctl reboot\n'), 5000), 'printed: systemctl reboot');
  res = await post('/api/v1/power', { Action: 'shutdown', force: true });
  t.same([res.status, res.body], [200, { status: 'ok', action: 'shutdown' }]);
  t.ok(await waitFor(() => agent.stderr().includes('power (dry run): systemctl poweroff\n'), 5000), 'printed: systemctl poweroff');

  const packet = new Promise<Buffer>((r) => wolSocket.once('message', (msg) => r(msg)));
  res = await post('/api/v1/power', { action: 'wol' });
  t.same([res.status, res.body], [200, { status: 'ok', action: 'wol' }]);
  const bytes = await packet;
  const mac = Buffer.from(WOL_MAC.replace(/:/g, ''), 'hex');
  t.equal(bytes.length, 102);
  t.same(bytes, Buffer.concat([Buffer.alloc(6, 0xff), ...Array(16).fill(mac)]));
});

t.test('desktop sessions: create, count, end', async (t) => {
  const res = await post<DesktopSessionCreated>('/api/v1/sessions/desktop', { ha_id: 'living-room', ttl_seconds: 5 });
  t.equal(res.status, 200);
  t.match(res.body, { session_id: String, websocket_url: String, expires_at: String });
  const url = new URL(res.body.websocket_url);
  t.equal(url.protocol, 'ws:');
  t.equal(url.pathname, '/ws/desktop');
  t.equal(url.searchParams.get('sess'), res.body.session_id);
  t.ok(url.searchParams.get('token')!.length >= 32);
  const ttl = (Date.parse(res.body.expires_at) - Date.now()) / 1000;
  t.ok(ttl > 55 && ttl <= 60, `ttl clamped to 60 s (${ttl})`);
  t.equal((await call(agent.url, 'GET', '/api/v1/health')).body.active_sessions, 1);
  const defaultTtl = await post<DesktopSessionCreated>('/api/v1/sessions/desktop', {});
  const seconds = (Date.parse(defaultTtl.body.expires_at) - Date.now()) / 1000;
  t.ok(seconds > 890 && seconds <= 900, 'default ttl 900 s');
  t.equal((await call(agent.url, 'GET', '/api/v1/health')).body.active_sessions, 2);

  const ended = await post(`/api/v1/sessions/desktop/${res.body.session_id}/end`);
  t.equal(ended.status, 200);
  t.equal((await post(`/api/v1/sessions/desktop/${defaultTtl.body.session_id}/end`, {})).status, 200);
  t.equal((await call(agent.url, 'GET', '/api/v1/health')).body.active_sessions, 0);
  const endedTwice = await post(`/api/v1/sessions/desktop/${defaultTtl.body.session_id}/end`);
  t.same([endedTwice.status, endedTwice.body.error], [404, 'session_not_found']);
});

const ENDPOINTS: [string, string, unknown?][] = [
  ['GET', '/api/v1/audio/status'],
  ['POST', '/api/v1/audio/master', { volume: 1 }],
  ['POST', '/api/v1/audio/device', { device_id: 'speakers', volume: 1 }],
  ['POST', '/api/v1/audio/default', { device_id: 'speakers' }],
  ['POST', '/api/v1/power', { action: 'restart' }],
  ['GET', '/api/v1/rd/monitors'],
  ['POST', '/api/v1/rd/monitor', { monitor_id: 'DISPLAY2' }],
  ['POST', '/api/v1/sessions/desktop', {}],
  ['POST', '/api/v1/sessions/desktop/some-id/end'],
  ['GET', '/api/v1/no-such-endpoint'],
];

t.test('every endpoint: 401 without a key or with a wrong one, and nothing happens', async (t) => {
  const before = agent.stderr();
  const wrongCredentials: Record<string, string>[] = [
    {},
    { 'x-openctrol-key': 'wrong' },
    { authorization: 'Bearer wrong' },
    { authorization: `Basic ${TEST_API_KEY}` },
    { 'x-openctrol-key': TEST_API_KEY.slice(0, -1) },
  ];
  for (const [method, path, body] of ENDPOINTS) {
    for (const headers of wrongCredentials) {
      const res = await call(agent.url, method, path, { headers, body });
      t.same(
        [res.status, res.body],
        [401, { error: 'unauthorized', details: 'Missing or invalid credentials' }],
        `${method} ${path} ${JSON.stringify(headers)}`,
      );
    }
  }
  t.equal(agent.stderr(), before, 'no power command, no session');
  t.equal((await call(agent.url, 'GET', '/api/v1/health')).body.active_sessions, 0);
  t.equal(
    (await call(agent.url, 'GET', '/api/v1/audio/status', { headers: { authorization: `Bearer ${TEST_API_KEY}` } })).status,
    200,
    'Bearer works',
  );

  for (const path of ['/api/v1/rd/session', '/api/v1/rd/session?api_key=wrong', '/ws/desktop', '/ws/desktop?sess=x&token=y']) {
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${agent.port}${path}`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('error', () => resolve(-1));
    });
    t.equal(status, 401, `WebSocket ${path}`);
  }
});

t.test('malformed bodies: 400 with a reason, never 500', async (t) => {
  const cases: [string, unknown, number, string?][] = [
    ['/api/v1/power', {}, 400, 'invalid_action'],
    ['/api/v1/power', { action: 'dance' }, 400, 'invalid_action'],
    ['/api/v1/power', { action: 5 }, 400, 'invalid_action'],
    ['/api/v1/power', { action: 'restart', force: 'yes' }, 400],
    ['/api/v1/power', [1, 2], 400],
    ['/api/v1/audio/master', { volume: 101 }, 400, 'invalid_volume'],
    ['/api/v1/audio/master', { volume: -1 }, 400, 'invalid_volume'],
    ['/api/v1/audio/master', { volume: '50' }, 400, 'invalid_volume'],
    ['/api/v1/audio/master', { muted: 'yes' }, 400],
    ['/api/v1/audio/master', 'loud', 400],
    ['/api/v1/audio/device', { volume: 5 }, 400, 'invalid_device_id'],
    ['/api/v1/audio/device', { device_id: 7 }, 400, 'invalid_device_id'],
    ['/api/v1/audio/device', { device_id: 'speakers', volume: 150 }, 400, 'invalid_volume'],
    ['/api/v1/audio/default', {}, 400, 'invalid_device_id'],
    ['/api/v1/audio/default', { device_id: '' }, 400, 'invalid_device_id'],
    ['/api/v1/rd/monitor', {}, 400, 'invalid_monitor_id'],
    ['/api/v1/rd/monitor', { monitor_id: 2 }, 400, 'invalid_monitor_id'],
    ['/api/v1/sessions/desktop', { ttl_seconds: 'long' }, 400],
    ['/api/v1/sessions/desktop', { ha_id: 5 }, 400],
  ];
  for (const [path, body, status, error] of cases) {
    const res = await post(path, body);
    t.equal(res.status, status, `${path} ${JSON.stringify(body)} → ${status}`);
    t.type(res.body.details, 'string');
    if (error) t.equal(res.body.error, error);
  }
  for (const raw of ['{bad', '{"volume":', 'null', '"x"', '[]']) {
    const res = await call(agent.url, 'POST', '/api/v1/audio/master', { headers: { ...auth, 'content-type': 'application/json' }, raw });
    t.equal(res.status, 400, `raw ${raw}`);
    t.match(res.body, { error: String, details: String });
  }
  const big = await call(agent.url, 'POST', '/api/v1/audio/master', { headers: auth, body: { volume: 5, pad: 'x'.repeat(70_000) } });
  t.same([big.status, big.body.error], [413, 'payload_too_large']);
  const xml = await call(agent.url, 'POST', '/api/v1/audio/master', { headers: { ...auth, 'content-type': 'text/xml' }, raw: '<v/>' });
  t.same([xml.status, xml.body.error], [415, 'unsupported_media_type']);
  t.notMatch(agent.stderr(), /error on /, 'nothing reached the 500 handler');
});

t.test('a generated key is stored 0600 and required; failed attempts are throttled', async (t) => {
  const other = await startAgentProcess({
    key: null,
    env: { ...xvfb.env, PULSE_SERVER: pulse.env.PULSE_SERVER },
    args: ['--auth-fail-limit', '3'],
  });
  t.teardown(() => other.stop());
  const file = join(other.configDir, 'agent.json');
  t.equal(statSync(file).mode & 0o777, 0o600);
  const key = JSON.parse(readFileSync(file, 'utf8')).api_key as string;
  t.ok(key.length >= 32, 'a long random key');
  t.match(other.stderr(), `API key generated and stored in ${file}`);
  t.notMatch(other.stderr(), key, 'the key itself is never printed');
  const ok = await call(other.url, 'GET', '/api/v1/rd/monitors', { headers: { 'x-openctrol-key': key } });
  t.equal(ok.status, 200);
  const wol = await call(other.url, 'POST', '/api/v1/power', { headers: { 'x-openctrol-key': key }, body: { action: 'wol' } });
  t.same([wol.status, wol.body.error], [400, 'wol_not_supported'], 'wol without --wol-mac: 400');
  for (let i = 0; i < 3; i++)
    t.equal((await call(other.url, 'GET', '/api/v1/rd/monitors', { headers: { 'x-openctrol-key': 'guess' } })).status, 401);
  const blocked = await call(other.url, 'GET', '/api/v1/rd/monitors', { headers: { 'x-openctrol-key': key } });
  t.equal(blocked.status, 429, 'after 3 failures even the right key waits');
  t.equal(blocked.body.error, 'too_many_requests');
  t.ok(Number(blocked.headers.get('retry-after')) > 0);
  t.equal((await call(other.url, 'GET', '/api/v1/health')).status, 200, 'health stays public');

  const again = await startAgentProcess({ key: null, configDir: other.configDir, env: xvfb.env });
  t.teardown(() => again.stop());
  t.match(again.stderr(), 'API key: the one stored in');
  t.equal(
    (await call(again.url, 'GET', '/api/v1/rd/monitors', { headers: { authorization: `Bearer ${key}` } })).status,
    200,
    'the stored key survives a restart',
  );
});
