// /ws/desktop and the legacy /api/v1/rd/session of a real `rac agent` on a real Xvfb with two
// monitors: OFRA JPEG frames of the selected monitor, pointer/wheel/key/text input landing on the
// real display, monitor selection moving both, and the caps on size and rate.
import { createRequire } from 'node:module';
import t from 'tap';
import WebSocket from 'ws';
import { call } from './helpers/broker-process.js';
import { PATIENCE_MS, waitUntil } from './helpers/patience.js';
import { type AgentHealth, type DesktopSessionCreated, startAgentProcess, TEST_API_KEY } from './helpers/agent-process.js';
import { MONITORS, startCatTerminal, startXvfb, waitFor, watchRootButtons } from './helpers/xvfb.js';

const turbo = createRequire(import.meta.url)('@julusian/jpeg-turbo') as {
  FORMAT_RGB: number;
  decompressSync(image: Buffer, options: { format: number }): { data: Buffer; width: number; height: number };
};

const xvfb = await startXvfb();
t.teardown(() => xvfb.stop());
await xvfb.paint([
  { ...MONITORS[0]!, color: '#ff0000' },
  { ...MONITORS[1]!, color: '#0000ff' },
]);
/**
 * The agent drops a peer that has not answered a ping within one interval. Short enough that the
 * silent peer below goes within seconds; long enough that a live peer in a test process starved on a
 * loaded machine still answers in time (its pong waits behind whatever the process was doing).
 */
const HEARTBEAT_MS = PATIENCE_MS / 10;
const agent = await startAgentProcess({
  env: xvfb.env,
  args: ['--fps', '10', '--auth-fail-limit', '100000', '--ws-heartbeat', String(HEARTBEAT_MS)],
});
t.teardown(() => agent.stop());
const headers = { 'x-openctrol-key': TEST_API_KEY };

/** A JSON text message from the agent's WebSocket: a `type`, and fields that depend on it. */
interface AgentMessage {
  type: string;
  [field: string]: unknown;
}

interface Client {
  ws: WebSocket;
  texts: AgentMessage[];
  frames: Buffer[];
  closed: Promise<{ code: number; reason: string }>;
  /** The next frame whose header passes `predicate`, decoded (only that one is: decoding is the expensive part). */
  nextFrame(predicate?: (f: OfraHeader) => boolean): Promise<Frame>;
  nextText(predicate: (m: AgentMessage) => boolean): Promise<AgentMessage>;
  send(message: object): void;
}

interface OfraHeader {
  width: number;
  height: number;
  format: number;
}

interface Frame extends OfraHeader {
  rgb: Buffer;
  centre: number[];
}

function ofraHeader(data: Buffer): OfraHeader {
  if (data.subarray(0, 4).toString('ascii') !== 'OFRA') throw new Error('not an OFRA frame');
  return { width: data.readInt32LE(4), height: data.readInt32LE(8), format: data.readInt32LE(12) };
}

function decodeOfra(data: Buffer): Frame {
  const { width, height, format } = ofraHeader(data);
  const decoded = turbo.decompressSync(data.subarray(16), { format: turbo.FORMAT_RGB });
  if (decoded.width !== width || decoded.height !== height) throw new Error('header and JPEG sizes differ');
  const mid = (Math.floor(height / 2) * width + Math.floor(width / 2)) * 3;
  return { width, height, format, rgb: decoded.data, centre: [...decoded.data.subarray(mid, mid + 3)] };
}

async function connect(url: string, options: WebSocket.ClientOptions = {}): Promise<Client> {
  const ws = new WebSocket(url, options);
  const texts: AgentMessage[] = [];
  const frames: Buffer[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data: Buffer, isBinary) => {
    if (isBinary) frames.push(data);
    else texts.push(JSON.parse(data.toString()));
    for (const w of waiters) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((r) =>
    ws.once('close', (code, reason) => r({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const wait = <T>(find: () => T | undefined) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a message')), PATIENCE_MS);
      const check = () => {
        const found = find();
        if (found !== undefined) {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        }
      };
      waiters.add(check);
      check();
    });
  return {
    ws,
    texts,
    frames,
    closed,
    nextFrame(predicate = () => true) {
      frames.length = 0;
      return wait(() => {
        while (frames.length > 0) {
          const data = frames.shift()!;
          if (predicate(ofraHeader(data))) return decodeOfra(data);
        }
        return undefined;
      });
    },
    nextText(predicate) {
      return wait(() => texts.find(predicate));
    },
    send(message) {
      ws.send(JSON.stringify(message));
    },
  };
}

async function waitForMouse(expected: { x: number; y: number }) {
  let last = await xvfb.mouse();
  const end = Date.now() + 30_000;
  while (Date.now() < end && (last.x !== expected.x || last.y !== expected.y)) {
    await new Promise((r) => setTimeout(r, 50));
    last = await xvfb.mouse();
  }
  return last;
}

const near = (pixel: number[], rgb: number[]) => pixel.every((v, i) => Math.abs(v - rgb[i]!) < 16);

async function newSession(): Promise<DesktopSessionCreated> {
  const res = await call<DesktopSessionCreated>(agent.url, 'POST', '/api/v1/sessions/desktop', { headers, body: { ha_id: 'test' } });
  if (res.status !== 200) throw new Error(`session: ${res.status}`);
  return res.body;
}

t.test('/ws/desktop: hello, OFRA frames of the selected monitor, input on the real display', async (t) => {
  const session = await newSession();
  const client = await connect(session.websocket_url.replace('localhost', '127.0.0.1'));
  t.teardown(() => client.ws.close());

  const hello = await client.nextText((m) => m.type === 'hello');
  t.match(hello, { type: 'hello', agent_id: String, session_id: session.session_id, version: String });
  t.same(hello.monitors, [
    { id: 'DISPLAY1', name: 'DP-1', width: 1920, height: 1080, is_primary: true },
    { id: 'DISPLAY2', name: 'HDMI-1', width: 1280, height: 1024, is_primary: false },
  ]);

  let frame = await client.nextFrame();
  t.same([frame.width, frame.height, frame.format], [1920, 1080, 1], 'DISPLAY1: 1920×1080 JPEG');
  t.ok(near(frame.centre, [255, 0, 0]), `DISPLAY1 is red (${frame.centre})`);

  const health = (await call<AgentHealth>(agent.url, 'GET', '/api/v1/health')).body;
  t.equal(health.remote_desktop.is_running, true, 'capture is running while someone watches');
  t.ok(Date.now() - Date.parse(health.remote_desktop.last_frame_at!) < 10_000, 'last_frame_at is recent');
  t.equal(health.active_sessions, 1);

  // Selecting the other monitor over REST moves capture and the input space.
  t.equal((await call(agent.url, 'POST', '/api/v1/rd/monitor', { headers, body: { monitor_id: 'DISPLAY2' } })).status, 200);
  frame = await client.nextFrame((f) => f.width === 1280);
  t.same([frame.width, frame.height], [1280, 1024], 'DISPLAY2: 1280×1024');
  t.ok(near(frame.centre, [0, 0, 255]), `DISPLAY2 is blue (${frame.centre})`);

  const buttons = await watchRootButtons(xvfb);
  t.teardown(() => buttons.stop());
  client.send({ type: 'pointer_move', absolute: true, x: 32768, y: 32768 });
  t.same(await waitForMouse({ x: 2560, y: 512 }), { x: 2560, y: 512 }, 'absolute move: centre of DISPLAY2');
  client.send({ type: 'pointer_move', dx: 15, dy: -12 });
  t.same(await waitForMouse({ x: 2575, y: 500 }), { x: 2575, y: 500 }, 'relative move');
  client.send({ type: 'pointer_button', button: 'left', action: 'down' });
  client.send({ type: 'pointer_button', button: 'left', action: 'up' });
  client.send({ type: 'pointer_wheel', delta_x: 0, delta_y: -120 });
  t.ok(await waitFor(() => buttons.events.length >= 4, 5000), 'click and wheel arrive');
  t.same(
    buttons.events.slice(0, 4),
    [
      { kind: 'press', button: 1, x: 2575, y: 500 },
      { kind: 'release', button: 1, x: 2575, y: 500 },
      { kind: 'press', button: 5, x: 2575, y: 500 },
      { kind: 'release', button: 5, x: 2575, y: 500 },
    ],
    'a left click and one notch down, where the pointer is on DISPLAY2',
  );

  // monitor_select over the WebSocket
  client.send({ type: 'monitor_select', monitor_id: 'DISPLAY1' });
  t.match(await client.nextText((m) => m.type === 'monitor_selected'), { monitor_id: 'DISPLAY1', width: 1920, height: 1080 });
  frame = await client.nextFrame((f) => f.width === 1920);
  t.ok(near(frame.centre, [255, 0, 0]), 'back to red DISPLAY1');
  buttons.events.length = 0;
  client.send({ type: 'pointer_move', absolute: true, x: 65535, y: 0 });
  client.send({ type: 'pointer_button', button: 'right', action: 'down' });
  client.send({ type: 'pointer_button', button: 'right', action: 'up' });
  t.ok(await waitFor(() => buttons.events.length >= 2, 15000));
  t.same(buttons.events[0], { kind: 'press', button: 3, x: 1919, y: 0 }, 'the click lands on DISPLAY1’s right edge');
  client.send({ type: 'monitor_select', monitor_id: 'DISPLAY7' });
  t.match(await client.nextText((m) => m.type === 'error' && /DISPLAY7/.test(String(m.message))), {
    message: 'Monitor not found: DISPLAY7',
  });
});

t.test('/ws/desktop: keys and text type into an X client; held keys are released on close', async (t) => {
  await call(agent.url, 'POST', '/api/v1/rd/monitor', { headers, body: { monitor_id: 'DISPLAY1' } });
  const term = await startCatTerminal(xvfb);
  t.teardown(() => term.stop());
  const session = await newSession();
  const client = await connect(session.websocket_url.replace('localhost', '127.0.0.1'));
  await client.nextText((m) => m.type === 'hello');
  const key = (key_code: number, action: string, extra = {}) => client.send({ type: 'key', key_code, action, ...extra });
  key(0x48, 'down', { shift: true }); // H
  key(0x48, 'up', { shift: true });
  key(0x49, 'down'); // i
  key(0x49, 'up');
  client.send({ type: 'text', text: ' there, 42!' });
  client.send({ Type: 'Key', KeyCode: 0xbe, Action: 'down' }); // PascalCase: "."
  client.send({ type: 'key', keyCode: 0xbe, action: 'up' }); // camelCase
  key(0xe7, 'down'); // VK_PACKET: nothing local
  t.match(await client.nextText((m) => m.type === 'error'), { message: /Unknown key code 231/ });
  key(0x10, 'down'); // Shift held when the viewer goes away…
  t.ok(await waitFor(() => term.read() === 'Hi there, 42!.', 15000), `typed "${term.read()}"`);
  client.ws.close();
  await client.closed;

  const again = await connect((await newSession()).websocket_url.replace('localhost', '127.0.0.1'));
  t.teardown(() => again.ws.close());
  await again.nextText((m) => m.type === 'hello');
  again.send({ type: 'key', key_code: 0x5a, action: 'down' }); // …so this z stays lower case
  again.send({ type: 'key', key_code: 0x5a, action: 'up' });
  t.ok(await waitFor(() => term.read() === 'Hi there, 42!.z', 15000), `no stuck Shift: "${term.read()}"`);
});

t.test('a peer that stops answering pings is dropped and its held keys released', async (t) => {
  await call(agent.url, 'POST', '/api/v1/rd/monitor', { headers, body: { monitor_id: 'DISPLAY1' } });
  const term = await startCatTerminal(xvfb);
  t.teardown(() => term.stop());
  // autoPong off: to the agent this peer looks like a network that went away.
  const silent = await connect((await newSession()).websocket_url.replace('localhost', '127.0.0.1'), { autoPong: false });
  await silent.nextText((m) => m.type === 'hello');
  silent.send({ type: 'key', key_code: 0x10, action: 'down' }); // Shift
  silent.send({ type: 'key', key_code: 0x51, action: 'down' }); // q, with Shift held
  silent.send({ type: 'key', key_code: 0x51, action: 'up' });
  t.ok(await waitFor(() => term.read() === 'Q', 5000), 'Shift was down');
  const closed = await silent.closed;
  t.equal(closed.code, 1006, 'the agent dropped the silent peer');

  const next = await connect((await newSession()).websocket_url.replace('localhost', '127.0.0.1'));
  t.teardown(() => next.ws.close());
  await next.nextText((m) => m.type === 'hello');
  next.send({ type: 'key', key_code: 0x51, action: 'down' });
  next.send({ type: 'key', key_code: 0x51, action: 'up' });
  t.ok(await waitFor(() => term.read() === 'Qq', 15000), `Shift was released: "${term.read()}"`);
  // A peer that answers pings stays, interval after interval.
  let pings = 0;
  next.ws.on('ping', () => pings++);
  t.ok(await waitFor(() => pings >= 3, 10_000), 'pinged three times');
  t.equal(next.ws.readyState, WebSocket.OPEN, 'and still connected');
});

t.test('/ws/desktop: bad messages get an error frame, the connection lives; caps hold', async (t) => {
  const session = await newSession();
  const client = await connect(session.websocket_url.replace('localhost', '127.0.0.1'));
  await client.nextText((m) => m.type === 'hello');
  const bad: (string | Buffer)[] = [
    '{not json',
    '[]',
    '{"type":5}',
    '{"type":"fly"}',
    '{"type":"pointer_move","absolute":true,"x":70000,"y":1}',
    '{"type":"key","key_code":"A","action":"down"}',
    '{"type":"pointer_button","button":"left","action":"sideways"}',
    Buffer.from([1, 2, 3]),
  ];
  for (const message of bad) {
    const before = client.texts.filter((m) => m.type === 'error').length;
    client.ws.send(message);
    await client.nextText(() => client.texts.filter((m) => m.type === 'error').length > before);
  }
  t.equal(client.texts.filter((m) => m.type === 'error').length, bad.length, 'one error frame per bad message');
  t.equal(client.ws.readyState, WebSocket.OPEN);

  // The cap counts in one-second windows: a burst that the agent, slowed by a loaded machine, reads
  // across a window's end can fit under the cap in each, so a burst goes out each second until one
  // is refused.
  const rateLimited = (m: AgentMessage) => m.type === 'error' && /Rate limit/.test(String(m.message));
  await waitUntil(
    'the agent to refuse events over its rate cap',
    () => {
      if (client.texts.some(rateLimited)) return true;
      for (let i = 0; i < 1500; i++) client.send({ type: 'pointer_move', dx: i % 2 ? 1 : -1, dy: 0 });
      return false;
    },
    1000,
  );
  t.match(client.texts.find(rateLimited), { message: /1000 input events per second/ });
  t.equal(client.ws.readyState, WebSocket.OPEN, 'over the rate cap events are dropped, not the connection');

  const typist = await connect((await newSession()).websocket_url.replace('localhost', '127.0.0.1'));
  t.teardown(() => typist.ws.close());
  await typist.nextText((m) => m.type === 'hello');
  typist.send({ type: 'text', text: 'x'.repeat(1500) });
  t.match(await typist.nextText((m) => m.type === 'error'), { message: /Rate limit/ }, 'a text message counts one event per character');

  client.ws.send(JSON.stringify({ type: 'text', text: 'x'.repeat(70 * 1024) }));
  const closed = await client.closed;
  t.equal(closed.code, 1009, 'a message over 64 KB closes with 1009 (too big)');

  const ending = await connect((await newSession()).websocket_url.replace('localhost', '127.0.0.1'));
  await ending.nextText((m) => m.type === 'hello');
  const id = new URL(ending.ws.url).searchParams.get('sess');
  t.equal((await call(agent.url, 'POST', `/api/v1/sessions/desktop/${id}/end`, { headers })).status, 200);
  t.same(await ending.closed, { code: 1000, reason: 'Session ended' }, 'ending the session closes its WebSocket');
  const refused = await new Promise<number>((resolve) => {
    const ws = new WebSocket(ending.ws.url);
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => resolve(101));
  });
  t.equal(refused, 401, 'an ended session cannot reconnect');
});

t.test('legacy /api/v1/rd/session: relative pointer, clicks, scroll and key combos', async (t) => {
  await call(agent.url, 'POST', '/api/v1/rd/monitor', { headers, body: { monitor_id: 'DISPLAY2' } });
  const term = await startCatTerminal(xvfb, '40x5+0+0');
  t.teardown(() => term.stop());
  const buttons = await watchRootButtons(xvfb);
  t.teardown(() => buttons.stop());
  const viaQuery = await connect(`ws://127.0.0.1:${agent.port}/api/v1/rd/session?api_key=${TEST_API_KEY}`);
  t.teardown(() => viaQuery.ws.close());
  const viaHeader = await connect(`ws://127.0.0.1:${agent.port}/api/v1/rd/session`, { headers });
  t.teardown(() => viaHeader.ws.close());

  await xvfb.run('xdotool', ['mousemove', '2500', '500']);
  viaQuery.send({ type: 'pointer', event: 'move', dx: 10.4, dy: -5.2 });
  viaQuery.send({ type: 'pointer', event: 'click', button: 'middle' });
  viaQuery.send({ type: 'pointer', event: 'scroll', dx: 0, dy: 120 });
  t.ok(await waitFor(() => buttons.events.length >= 4, 15000));
  t.same(buttons.events.slice(0, 4), [
    { kind: 'press', button: 2, x: 2510, y: 495 },
    { kind: 'release', button: 2, x: 2510, y: 495 },
    { kind: 'press', button: 4, x: 2510, y: 495 },
    { kind: 'release', button: 4, x: 2510, y: 495 },
  ]);
  viaQuery.send({ type: 'pointer', event: 'move', dx: -5000, dy: 0 });
  viaHeader.send({ type: 'keyboard', keys: ['SHIFT', 'A'] });
  viaHeader.send({ type: 'keyboard', keys: ['b'] });
  viaHeader.send({ type: 'keyboard', keys: ['SPACE'] });
  t.ok(await waitFor(() => term.read() === 'Ab ', 15000), `typed "${term.read()}"`);

  viaHeader.send({ type: 'keyboard', keys: ['HYPERDRIVE'] });
  t.match(await viaHeader.nextText((m) => m.type === 'error'), { type: 'error', message: /Unknown key/ });
  viaHeader.ws.send('{"type":"pointer","event":"teleport"}');
  t.same(await viaHeader.nextText((m) => m.type === 'error' && m.message === 'Invalid message format'), {
    type: 'error',
    message: 'Invalid message format',
  });
  t.equal(viaHeader.ws.readyState, WebSocket.OPEN);
  t.same(await waitForMouse({ x: 1920, y: 495 }), { x: 1920, y: 495 }, 'relative moves stay on the selected monitor');
});
