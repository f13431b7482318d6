// Property-based abuse of the Openctrol API on a real `rac agent` (real Xvfb and PulseAudio behind
// it): random bodies, field spellings and ids on every endpoint, and random WebSocket messages.
// Every answer is a non-5xx with the spec's {"error","details"} or a success, and the agent stays up.
import fc from 'fast-check';
import t from 'tap';
import WebSocket from 'ws';
import { call } from './helpers/broker-process.js';
import { type DesktopSessionCreated, startAgentProcess, TEST_API_KEY } from './helpers/agent-process.js';
import { startPulseAudio } from './helpers/pulseaudio.js';
import { startXvfb } from './helpers/xvfb.js';

const xvfb = await startXvfb();
t.teardown(() => xvfb.stop());
const pulse = await startPulseAudio();
t.teardown(() => pulse.stop());
const agent = await startAgentProcess({
  env: { ...xvfb.env, PULSE_SERVER: pulse.env.PULSE_SERVER },
  args: ['--auth-fail-limit', '1000000'],
});
t.teardown(() => agent.stop());
const headers = { 'x-openctrol-key': TEST_API_KEY };

const FIELDS = [
  'action',
  'force',
  'volume',
  'muted',
  'device_id',
  'deviceId',
  'DeviceId',
  'monitor_id',
  'MonitorId',
  'ha_id',
  'ttl_seconds',
  'ttlSeconds',
  '__proto__',
  'constructor',
];
const value = fc.oneof(
  fc.string({ maxLength: 100 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('restart', 'shutdown', 'wol', 'speakers', 'headset', 'DISPLAY1', 'DISPLAY2', '', '1e400', -0, 1e308, 100.0001),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);
const body = fc.oneof(
  fc.dictionary(fc.constantFrom(...FIELDS), value).map((o) => JSON.stringify(o)),
  fc.json({ maxDepth: 3 }),
  fc.string({ maxLength: 100 }),
  fc.constantFrom('{', '[]', 'null', '""', '{"__proto__":{"x":1}}', '{"a":1}{"b":2}', '\u0000', '{"device_id":"\ud800"}'),
);
const endpoint = fc.oneof(
  fc.constantFrom(
    '/api/v1/power',
    '/api/v1/audio/master',
    '/api/v1/audio/device',
    '/api/v1/audio/default',
    '/api/v1/rd/monitor',
    '/api/v1/sessions/desktop',
  ),
  fc.string({ maxLength: 40 }).map((id) => `/api/v1/sessions/desktop/${encodeURIComponent(id)}/end`),
);
const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', undefined);

t.test('random POST bodies never get a 5xx (503 aside: none here) and always the error shape', async (t) => {
  let checked = 0;
  await fc.assert(
    fc.asyncProperty(endpoint, body, contentType, async (path, raw, type) => {
      const res = await call(agent.url, 'POST', path, { headers: type ? { ...headers, 'content-type': type } : headers, raw });
      checked++;
      if (res.status >= 500) throw new Error(`${path} ${JSON.stringify(raw)} → ${res.status} ${JSON.stringify(res.body)}`);
      if (res.status >= 400 && (typeof res.body?.error !== 'string' || typeof res.body?.details !== 'string')) {
        throw new Error(`${path} ${JSON.stringify(raw)} → ${res.status} without the error shape: ${JSON.stringify(res.body)}`);
      }
    }),
    { numRuns: 400 },
  );
  t.equal(checked, 400);
  t.equal((await call(agent.url, 'GET', '/api/v1/health')).status, 200, 'still up');
  t.notMatch(agent.stderr(), /error on /, 'nothing reached the 500 handler');
});

t.test('random WebSocket messages get error frames, never a crash', async (t) => {
  const session = (await call<DesktopSessionCreated>(agent.url, 'POST', '/api/v1/sessions/desktop', { headers, body: {} })).body;
  for (const url of [
    `ws://127.0.0.1:${agent.port}/api/v1/rd/session?api_key=${TEST_API_KEY}`,
    session.websocket_url.replace('localhost', '127.0.0.1'),
  ]) {
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    let errors = 0;
    let sentinelSeen: () => void;
    const sentinel = new Promise<void>((resolve) => (sentinelSeen = resolve));
    ws.on('message', (data, binary) => {
      if (binary) return;
      const m = JSON.parse(data.toString());
      if (m.type !== 'error') return;
      errors++;
      if (/SENTINEL/i.test(m.message)) sentinelSeen();
    });
    const message = fc.oneof(
      fc.json({ maxDepth: 3 }),
      fc.string({ maxLength: 200 }),
      fc
        .record(
          {
            type: fc.constantFrom('pointer_move', 'pointer_button', 'pointer_wheel', 'key', 'monitor_select', 'pointer', 'keyboard'),
            event: fc.constantFrom('move', 'click', 'scroll', 'x'),
            dx: value,
            dy: value,
            x: value,
            y: value,
            button: value,
            action: value,
            key_code: value,
            keys: value,
            monitor_id: value,
            delta_x: value,
            delta_y: value,
          },
          { requiredKeys: ['type'] },
        )
        .map((o) => JSON.stringify(o)),
    );
    const samples = fc.sample(message, 300);
    for (const m of samples) ws.send(m);
    // Messages are handled in order: once the sentinel's error is back, every one before it was handled.
    ws.send(JSON.stringify(url.includes('/rd/session') ? { type: 'keyboard', keys: ['SENTINEL'] } : { type: 'sentinel' }));
    await sentinel;
    t.equal(ws.readyState, WebSocket.OPEN, `${new URL(url).pathname}: still open after ${samples.length} random messages`);
    t.ok(errors > 0, `${new URL(url).pathname}: bad ones were answered with error frames (${errors})`);
    ws.close();
  }
  t.equal((await call(agent.url, 'GET', '/api/v1/health')).status, 200, 'still up');
  t.equal(agent.process.exitCode, null);
});
