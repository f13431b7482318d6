// End to end: a real `rac serve`, a test agent speaking the sealed protocol (key exchange, proven
// handshake, sealed frames) and `rac view` in tmux with --graphics blocks. The picture's colours,
// the status line with the security code; typed keys and clicks reach the agent sealed, as the
// right packets; q leaves and the terminal is restored.
import { waitUntil } from '../helpers/patience.js';
import t, { type Test } from 'tap';
import type { Session } from '../../src/protocol/broker-api.js';
import { RAC_BIN, call, login, startBrokerProcess } from '../helpers/broker-process.js';
import { startSealedAgent } from '../helpers/sealed-agent.js';
import { DEFAULT_CELL, cellToRemote, fitImage } from '../../src/viewer-tty/graphics/fit.js';
import { QUADRANT_COLOURS, quadrantJpeg, solidJpeg } from '../helpers/test-picture.js';
import { Tmux, parseCapture } from '../helpers/viewer-tmux.js';

const near = (a: number[] | undefined, b: readonly number[]) => !!a && a.every((v, i) => Math.abs(v - b[i]!) <= 12);

// The terminal: wide enough for the status line's figures beside the security code.
const COLS = 120;
const ROWS = 30;
// Where the 640×360 picture lands (centred above the status line), as the viewer computes it.
const placement = fitImage(640, 360, COLS, ROWS - 1, DEFAULT_CELL);
const left = placement.left + 1;
const right = placement.left + placement.cols - 2;

// One broker for the file; each test makes its own session.
const broker = await startBrokerProcess();
t.teardown(() => broker.stop());
const token = await login(broker.api);

async function sessionWithAgent(t: Test, customer: string) {
  const created = await call<Session>(broker.api, 'POST', '/sessions', { token, body: { customer_name: customer } });
  t.equal(created.status, 200);
  const session = created.body;
  const agent = await startSealedAgent(broker.url, session, { width: 640, height: 360 });
  t.teardown(() => agent.close());
  const jpeg = quadrantJpeg(640, 360);
  const streaming = setInterval(() => void agent.sendFrame(jpeg).catch(() => {}), 100);
  t.teardown(() => clearInterval(streaming));
  const packets = () => agent.received.items;
  return { session, agent, packets };
}

function startView(t: Test, brokerUrl: string, token: string, args: string): Tmux {
  const term = new Tmux(COLS, ROWS);
  t.teardown(() => term.kill());
  term.start(`${process.execPath} ${RAC_BIN} view ${args} --graphics blocks; echo EXIT=$?; sleep 60`, {
    RAC_SERVER: brokerUrl,
    RAC_TOKEN: token,
    TERM: 'xterm-256color',
  });
  return term;
}

t.test('rac view CODE against the real broker and relay', async (t) => {
  const { session, agent, packets } = await sessionWithAgent(t, 'Ada Lovelace');
  const term = startView(t, broker.url, token, session.session_code);
  const peer = await agent.nextViewer();
  await waitUntil('the picture', () => term.capture().includes('38;2;'));
  await waitUntil('the status line figures', () => /[\d.]+ fps · \d+ kbit\/s · loss \d+% · \d+ ms/.test(term.capture(false)));
  t.match(term.capture(false).split('\n')[ROWS - 1], `code ${peer.sas}`, 'the status line shows the security code the agent derived');

  const screen = parseCapture(term.capture());
  t.ok(near(screen[1]![left]!.fg, QUADRANT_COLOURS.topLeft), `red: ${screen[1]![left]!.fg}`);
  t.ok(near(screen[1]![right]!.fg, QUADRANT_COLOURS.topRight), `green: ${screen[1]![right]!.fg}`);
  t.ok(near(screen[26]![left]!.bg, QUADRANT_COLOURS.bottomLeft), `blue: ${screen[26]![left]!.bg}`);
  t.ok(near(screen[26]![right]!.bg, QUADRANT_COLOURS.bottomRight), `white: ${screen[26]![right]!.bg}`);
  const code = session.session_code;
  const status = term.capture(false).split('\n')[ROWS - 1]!;
  t.match(status, `${code.slice(0, 3)} ${code.slice(3, 6)} ${code.slice(6)} · Ada Lovelace · active ·`);
  t.match(status, /[\d.]+ fps · \d+ kbit\/s · loss \d+% · \d+ ms/);

  const keys = () =>
    packets()
      .filter((p) => p.type === 'keyboard')
      .map((p) => `${p.vk}${p.state ? 'v' : '^'}`);
  term.send('x');
  term.send('C-c');
  await waitUntil('keys at the agent', () => keys().length >= 6);
  t.same(keys(), ['88v', '88^', '17v', '67v', '67^', '17^']);

  // SGR mouse reports are 1-based: column 51, row 15 is cell (50, 14).
  const clicked = cellToRemote(placement, 50, 14)!;
  term.send('\x1b[<0;51;15M\x1b[<0;51;15m', true);
  const clicks = () => packets().filter((p) => p.type === 'mouse');
  await waitUntil('the click at the agent', () => clicks().length >= 2);
  t.same(clicks(), [
    { type: 'mouse', ...clicked, button: 1, state: 1 },
    { type: 'mouse', ...clicked, button: 1, state: 0 },
  ]);
  t.ok(
    packets().some((p) => p.type === 'control' && p.message.type === 'request_keyframe'),
    'the viewer asked for a keyframe',
  );

  term.send('C-]');
  term.send('q');
  await waitUntil('exit', () => term.capture(false).includes('EXIT=0'));
  t.same(term.display('#{alternate_on} #{mouse_any_flag} #{mouse_sgr_flag} #{cursor_flag}'), '0 0 0 1', 'terminal restored');
});

t.test('rac view: the list opens a session; closing it ends the view', async (t) => {
  const { session } = await sessionWithAgent(t, 'Grace Hopper');
  const term = startView(t, broker.url, token, '');
  await waitUntil('the list', () => term.capture(false).includes('Grace Hopper'));
  term.send('Enter');
  await waitUntil('the picture', () => term.capture().includes('38;2;'));
  const id = (await call<Session[]>(broker.api, 'GET', '/sessions', { token })).body.find(
    (s) => s.session_code === session.session_code,
  )!.id;
  const closed = await call(broker.api, 'DELETE', `/sessions/${id}`, { token });
  t.equal(closed.status, 200);
  await waitUntil('the ended message', () => term.capture(false).includes('session ended'));
  term.send('x'); // any key leaves an ended session: back to the list
  await waitUntil('the list again, with the session closed', () => /Grace Hopper\s+closed/.test(term.capture(false)));
  term.send('q');
  await waitUntil('exit', () => term.capture(false).includes('EXIT=0'));
  t.same(term.display('#{alternate_on} #{mouse_any_flag} #{cursor_flag}'), '0 0 1', 'terminal restored');
  t.ok(session.session_code);
});

t.test('rac view in a terminal: unknown code → exit 4, not logged in → exit 3, terminal left clean', async (t) => {
  const unknown = startView(t, broker.url, token, '999999999');
  await waitUntil('exit', () => /EXIT=\d/.test(unknown.capture(false)));
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
  await waitUntil('exit', () => /EXIT=\d/.test(anonymous.capture(false)));
  t.match(anonymous.capture(false), 'not logged in');
  t.match(anonymous.capture(false), 'EXIT=3');
});

t.test('a broker restart: the viewer reconnects by itself and the picture goes on', async (t) => {
  const first = await startBrokerProcess();
  const adminToken = await login(first.api);
  const session = (await call<Session>(first.api, 'POST', '/sessions', { token: adminToken, body: { customer_name: 'Restart Test' } }))
    .body;
  const agent = await startSealedAgent(first.url, session, { width: 640, height: 360 });
  t.teardown(() => agent.close());
  let picture = quadrantJpeg(640, 360);
  let ticks = 0;
  // The agent: re-handshakes now and then (a restarted broker pins it again), streams frames.
  const streaming = setInterval(() => {
    if (ticks++ % 5 === 0) void agent.handshake().catch(() => {});
    void agent.sendFrame(picture).catch(() => {});
  }, 100);
  t.teardown(() => clearInterval(streaming));

  const term = startView(t, first.url, adminToken, session.session_code);
  await waitUntil('the picture', () => term.capture().includes('38;2;'));

  await first.stop();
  const second = await startBrokerProcess({ dataDir: first.dataDir, udpPorts: first.udpPorts, args: ['--port', String(first.port)] });
  t.teardown(() => second.stop());
  await agent.resume(second.url);
  picture = solidJpeg([255, 255, 0]);
  await waitUntil('the new picture after the restart', () => near(parseCapture(term.capture())[5]?.[50]?.fg, [255, 255, 0]));
  t.pass('frames flow again through the restarted broker');
  t.match(term.capture(false).split('\n')[ROWS - 1], 'Restart Test · active');
  term.send('C-]');
  term.send('q');
  await waitUntil('exit', () => term.capture(false).includes('EXIT=0'));
});
