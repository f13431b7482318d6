// End to end: a real `rac serve`, a test agent (the customer's WebSocket + UDP handshake + frames,
// as the reference client sends them) and `rac view` in tmux with --graphics blocks. The picture's
// colours and the status line on screen; typed keys and clicks reach the agent as the right
// packets through the relay; q leaves and the terminal is restored.
import { PATIENCE_MS } from '../helpers/patience.js';
import t, { type Test } from 'tap';
import { chunkFrame } from '../../src/protocol/chunker.js';
import { decodeDatagram, encodeHandshake } from '../../src/protocol/datagram.js';
import { dotnetTicks } from '../../src/protocol/frame-ids.js';
import type { Session } from '../../src/protocol/broker-api.js';
import { RAC_BIN, call, login, startBrokerProcess } from '../helpers/broker-process.js';
import { openSignal, openUdp } from '../helpers/session-peers.js';
import { QUADRANT_COLOURS, quadrantJpeg, solidJpeg } from '../helpers/test-picture.js';
import { Tmux, parseCapture } from '../helpers/viewer-tmux.js';

const near = (a: number[] | undefined, b: readonly number[]) => !!a && a.every((v, i) => Math.abs(v - b[i]!) <= 12);

async function waitFor(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + Math.max(ms, PATIENCE_MS);
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// One broker for the file; each test makes its own session.
const broker = await startBrokerProcess();
t.teardown(() => broker.stop());
const token = await login(broker.api);

async function sessionWithAgent(t: Test, customer: string) {
  const created = await call<Session>(broker.api, 'POST', '/sessions', { token, body: { customer_name: customer } });
  t.equal(created.status, 200);
  const session = created.body;

  // The agent: customer WebSocket, handshake, then frames (60000-byte chunks like the reference client).
  const signal = await openSignal(broker.url, session.session_code);
  t.teardown(() => signal.ws.close());
  const udp = await openUdp();
  t.teardown(() => udp.close());
  await udp.send(
    encodeHandshake({ session_code: session.session_code, screen_width: 640, screen_height: 360, timestamp: dotnetTicks() }),
    session.udp_port,
  );
  const jpeg = quadrantJpeg(640, 360);
  let last = 0n;
  const streaming = setInterval(() => {
    const id = dotnetTicks(new Date(), 'utc');
    last = id > last ? id : last + 1n;
    for (const d of chunkFrame(jpeg, last, { maxDatagramBytes: 1200 })) void udp.send(d, session.udp_port).catch(() => {});
  }, 100);
  t.teardown(() => clearInterval(streaming));
  const packets = () => udp.received.items.map((m) => decodeDatagram(m.data)).flatMap((r) => (r.ok ? [r.packet] : []));
  return { session, signal, packets };
}

function startView(t: Test, brokerUrl: string, token: string, args: string): Tmux {
  const term = new Tmux(100, 30);
  t.teardown(() => term.kill());
  term.start(`${process.execPath} ${RAC_BIN} view ${args} --graphics blocks; echo EXIT=$?; sleep 60`, {
    RAC_SERVER: brokerUrl,
    RAC_TOKEN: token,
    TERM: 'xterm-256color',
  });
  return term;
}

t.test('rac view CODE against the real broker and relay', async (t) => {
  const { session, signal, packets } = await sessionWithAgent(t, 'Ada Lovelace');
  const term = startView(t, broker.url, token, session.session_code);
  await waitFor('the picture', () => term.capture().includes('38;2;'), 20_000);
  await waitFor('the status line figures', () => /[\d.]+ fps · \d+ kbit\/s · loss \d+% · \d+ ms/.test(term.capture(false)));

  const viewerNotice = await signal.messages.next((m) => m.type === 'viewer', 5000, 'the viewer notice');
  t.equal(viewerNotice.email, 'admin@localhost', 'the agent is told who connects');

  const screen = parseCapture(term.capture());
  t.ok(near(screen[1]![1]!.fg, QUADRANT_COLOURS.topLeft), `red: ${screen[1]![1]!.fg}`);
  t.ok(near(screen[1]![98]!.fg, QUADRANT_COLOURS.topRight), `green: ${screen[1]![98]!.fg}`);
  t.ok(near(screen[26]![1]!.bg, QUADRANT_COLOURS.bottomLeft), `blue: ${screen[26]![1]!.bg}`);
  t.ok(near(screen[26]![98]!.bg, QUADRANT_COLOURS.bottomRight), `white: ${screen[26]![98]!.bg}`);
  const code = session.session_code;
  const status = term.capture(false).split('\n')[29]!;
  t.match(status, `${code.slice(0, 3)} ${code.slice(3, 6)} ${code.slice(6)} · Ada Lovelace · active ·`);
  t.match(status, /[\d.]+ fps · \d+ kbit\/s · loss \d+% · \d+ ms/);

  const keys = () =>
    packets()
      .filter((p) => p.type === 'keyboard')
      .map((p) => `${p.vk}${p.state ? 'v' : '^'}`);
  term.send('x');
  term.send('C-c');
  await waitFor('keys at the agent', () => keys().length >= 6);
  t.same(keys(), ['88v', '88^', '17v', '67v', '67^', '17^']);

  term.send('\x1b[<0;51;15M\x1b[<0;51;15m', true);
  const clicks = () => packets().filter((p) => p.type === 'mouse');
  await waitFor('the click at the agent', () => clicks().length >= 2);
  t.same(clicks(), [
    { type: 'mouse', x: 323, y: 186, button: 1, state: 1 },
    { type: 'mouse', x: 323, y: 186, button: 1, state: 0 },
  ]);
  t.ok(
    packets().some((p) => p.type === 'control' && p.message.type === 'request_keyframe'),
    'the viewer asked for a keyframe',
  );

  term.send('C-]');
  term.send('q');
  await waitFor('exit', () => term.capture(false).includes('EXIT=0'));
  t.same(term.display('#{alternate_on} #{mouse_any_flag} #{mouse_sgr_flag} #{cursor_flag}'), '0 0 0 1', 'terminal restored');
});

t.test('rac view: the list opens a session; closing it ends the view', async (t) => {
  const { session } = await sessionWithAgent(t, 'Grace Hopper');
  const term = startView(t, broker.url, token, '');
  await waitFor('the list', () => term.capture(false).includes('Grace Hopper'));
  term.send('Enter');
  await waitFor('the picture', () => term.capture().includes('38;2;'), 20_000);
  const id = (await call<Session[]>(broker.api, 'GET', '/sessions', { token })).body.find(
    (s) => s.session_code === session.session_code,
  )!.id;
  const closed = await call(broker.api, 'DELETE', `/sessions/${id}`, { token });
  t.equal(closed.status, 200);
  await waitFor('the ended message', () => term.capture(false).includes('session ended'));
  term.send('x'); // any key leaves an ended session: back to the list
  await waitFor('the list again, with the session closed', () => /Grace Hopper\s+closed/.test(term.capture(false)));
  term.send('q');
  await waitFor('exit', () => term.capture(false).includes('EXIT=0'));
  t.same(term.display('#{alternate_on} #{mouse_any_flag} #{cursor_flag}'), '0 0 1', 'terminal restored');
  t.ok(session.session_code);
});

t.test('rac view in a terminal: unknown code → exit 4, not logged in → exit 3, terminal left clean', async (t) => {
  const unknown = startView(t, broker.url, token, '999999999');
  await waitFor('exit', () => /EXIT=\d/.test(unknown.capture(false)));
  t.match(unknown.capture(false), 'rac: session 999999999 not found');
  t.match(unknown.capture(false), 'EXIT=4');
  t.same(unknown.display('#{alternate_on} #{mouse_any_flag} #{cursor_flag}'), '0 0 1');

  const anonymous = new Tmux(100, 30);
  t.teardown(() => anonymous.kill());
  anonymous.start(`${process.execPath} ${RAC_BIN} view 999999999; echo EXIT=$?; sleep 60`, {
    RAC_SERVER: broker.url,
    XDG_CONFIG_HOME: '/nonexistent',
    RAC_TOKEN: '',
  });
  await waitFor('exit', () => /EXIT=\d/.test(anonymous.capture(false)));
  t.match(anonymous.capture(false), 'not logged in');
  t.match(anonymous.capture(false), 'EXIT=3');
});

t.test('a broker restart: the viewer reconnects by itself and the picture goes on', async (t) => {
  const first = await startBrokerProcess();
  const adminToken = await login(first.api);
  const session = (await call<Session>(first.api, 'POST', '/sessions', { token: adminToken, body: { customer_name: 'Restart Test' } }))
    .body;
  const udp = await openUdp();
  t.teardown(() => udp.close());
  let agentWs = await openSignal(first.url, session.session_code);
  let picture = quadrantJpeg(640, 360);
  let last = 0n;
  let ticks = 0;
  // The agent: re-handshakes now and then (a restarted broker pins it again), streams frames.
  const streaming = setInterval(() => {
    if (ticks++ % 5 === 0)
      void udp
        .send(
          encodeHandshake({ session_code: session.session_code, screen_width: 640, screen_height: 360, timestamp: dotnetTicks() }),
          session.udp_port,
        )
        .catch(() => {});
    const id = dotnetTicks(new Date(), 'utc');
    last = id > last ? id : last + 1n;
    for (const d of chunkFrame(picture, last, { maxDatagramBytes: 1200 })) void udp.send(d, session.udp_port).catch(() => {});
  }, 100);
  t.teardown(() => clearInterval(streaming));

  const term = startView(t, first.url, adminToken, session.session_code);
  await waitFor('the picture', () => term.capture().includes('38;2;'), 20_000);

  await first.stop();
  const second = await startBrokerProcess({ dataDir: first.dataDir, udpPorts: first.udpPorts, args: ['--port', String(first.port)] });
  t.teardown(() => second.stop());
  agentWs.ws.terminate();
  agentWs = await openSignal(second.url, session.session_code);
  t.teardown(() => agentWs.ws.close());
  picture = solidJpeg([255, 255, 0]);
  await waitFor('the new picture after the restart', () => near(parseCapture(term.capture())[5]?.[50]?.fg, [255, 255, 0]), 30_000);
  t.pass('frames flow again through the restarted broker');
  t.match(term.capture(false).split('\n')[29], 'Restart Test · active');
  term.send('C-]');
  term.send('q');
  await waitFor('exit', () => term.capture(false).includes('EXIT=0'));
});
