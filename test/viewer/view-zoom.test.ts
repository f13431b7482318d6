// Zoom and pan end to end: a real `rac serve`, a real `rac agent --code --yes` on Xvfb and
// `rac view --graphics blocks` in tmux. In viewer mode + zooms in, arrows pan, the status line says
// the zoom and the region; the picture on screen is that region; a click on a cell moves the real X
// pointer to the remote pixel under that cell; 0 goes back to the whole screen.
import { waitUntil } from '../helpers/patience.js';
import t, { type Test } from 'tap';
import { placeView } from '../../src/viewer-tty/graphics/viewport.js';
import { cellToRemote } from '../../src/viewer-tty/graphics/fit.js';
import { RAC_BIN, login, startBrokerProcess } from '../helpers/broker-process.js';
import { createSession, startAgent } from '../helpers/session-viewer.js';
import { Tmux, parseCapture } from '../helpers/viewer-tmux.js';
import { startXvfb } from '../helpers/xvfb.js';

const RED = [255, 0, 0];
const GREEN = [0, 255, 0];
const BLUE = [0, 0, 255];
const WHITE = [255, 255, 255];
const near = (a: number[] | undefined, b: number[]) => !!a && a.every((v, i) => Math.abs(v - b[i]!) <= 40);

/** Xvfb with quadrants on the shared monitor, a broker, `rac agent --code --yes ARGS`, `rac view` in tmux. */
async function viewRealAgent(t: Test, agentArgs: string[] = []) {
  const xvfb = await startXvfb();
  t.teardown(() => xvfb.stop());
  // The shared monitor (DP-1, 1920×1080) in quadrants: red, green / blue, white.
  await xvfb.paint([
    { x: 0, y: 0, width: 960, height: 540, color: '#ff0000' },
    { x: 960, y: 0, width: 960, height: 540, color: '#00ff00' },
    { x: 0, y: 540, width: 960, height: 540, color: '#0000ff' },
    { x: 960, y: 540, width: 960, height: 540, color: '#ffffff' },
  ]);
  const broker = await startBrokerProcess();
  t.teardown(() => broker.stop());
  const token = await login(broker.api);
  const session = await createSession(broker.api, token);
  const agent = startAgent(['--code', session.session_code, '--server', broker.url, '--yes', ...agentArgs], xvfb.env);
  t.teardown(() => agent.stop('SIGKILL'));
  await agent.waitFor(/waiting for your IT contact/);

  const term = new Tmux(100, 30);
  t.teardown(() => term.kill());
  term.start(`${process.execPath} ${RAC_BIN} view ${session.session_code} --graphics blocks; echo EXIT=$?; sleep 60`, {
    RAC_SERVER: broker.url,
    RAC_TOKEN: token,
    TERM: 'xterm-256color',
  });
  const status = () => term.capture(false).split('\n')[29] ?? '';
  const screen = () => parseCapture(term.capture());
  await waitUntil('the picture', () => near(screen()[2]?.[2]?.fg, RED));
  /** Clicks cell (col, row) and waits for the X pointer at (x, y). */
  const clickAt = async (col: number, row: number, x: number, y: number) => {
    term.send(`\x1b[<0;${col + 1};${row + 1}M\x1b[<0;${col + 1};${row + 1}m`, true);
    await waitUntil(`the pointer at ${x},${y}`, async () => {
      const at = await xvfb.mouse();
      return at.x === x && at.y === y;
    });
  };
  return { term, status, screen, clickAt };
}

t.test('zoom, pan and clicks on the zoomed picture, against a real agent', async (t) => {
  const { term, status, screen, clickAt } = await viewRealAgent(t);
  t.match(status(), ' fit ', 'the status line says fit');

  // Viewer mode, two steps in: 2× of the fitted view (1920×1080 in 100×29 cells of 10×20 px).
  term.send('C-]');
  await waitUntil('viewer mode', () => status().includes('viewer: q quit'));
  term.send('+');
  await waitUntil('1.5×', () => status().includes('1.5×'));
  term.send('+');
  await waitUntil('2×', () => / 2× /.test(status()));
  t.match(status(), ' 2× 960×557 at 480,262 ', 'the zoom and the region shown');
  term.send('Right');
  term.send('Down');
  await waitUntil('the region panned', () => / 2× 960×557 at 720,401 /.test(status()));
  t.pass('arrows pan a quarter of the region: 240 right, 139 down');

  const region = { x: 720, y: 401, width: 960, height: 557 };
  const placement = placeView(
    1920,
    1080,
    { cols: 100, rows: 29, cell: { width: 10, height: 20 } },
    { zoom: 2, centerX: 1200 / 1920, centerY: 679.5 / 1080 },
    10,
  );
  t.same(placement.region, region, 'the same region as the viewer computes');
  // The quadrants' corner (960,540) is now at column (960-720)/9.6 = 25, row (540-401)/557·29 = 7.2.
  await waitUntil('the zoomed picture', () => {
    const s = screen();
    return near(s[3]?.[10]?.fg, RED) && near(s[3]?.[60]?.fg, GREEN) && near(s[20]?.[10]?.bg, BLUE) && near(s[20]?.[60]?.bg, WHITE);
  });
  t.pass('the screen shows the panned region: the corner of the quadrants near the top left');

  // Back to the remote: a click on cell (c, r) lands on remote pixel
  // (720 + ⌊(c + ½)·960/100⌋, 401 + ⌊(r + ½)·557/29⌋), the pixel under the cell's centre in the region.
  term.send('C-]');
  await waitUntil('remote mode', () => status().includes('Ctrl-] remote'));
  for (const [col, row, x, y] of [
    [10, 5, 820, 506],
    [63, 21, 1329, 813],
    [99, 28, 1675, 948],
  ] as const) {
    t.same(cellToRemote(placement, col, row), { x, y }, `cell ${col},${row} maps to ${x},${y}`);
    await clickAt(col, row, x, y);
    t.pass(`a click on cell ${col},${row} moved the X pointer to ${x},${y}`);
  }

  term.send('C-]');
  term.send('0');
  await waitUntil('fit again', () => / fit /.test(status()));
  await waitUntil('the whole screen again', () => near(screen()[2]?.[2]?.fg, RED) && near(screen()[2]?.[97]?.fg, GREEN));
  term.send('q');
  await waitUntil('exit', () => term.capture(false).includes('EXIT=0'));
});

t.test('zoomed, with frames smaller than the screen (--max-width): clicks in screen pixels', async (t) => {
  const { term, status, clickAt } = await viewRealAgent(t, ['--max-width', '960']);
  // Frames are 960×540; 2× shows 480×278 frame pixels from 240,131, which is 960×556 screen
  // pixels from 480,262: cell (c, r) → (480 + ⌊(c + ½)·9.6⌋, 262 + ⌊(r + ½)·556/29⌋).
  term.send('C-]');
  term.send('+');
  term.send('+');
  await waitUntil('2×', () => / 2× 480×278 at 240,131 /.test(status()));
  term.send('C-]');
  await waitUntil('remote mode', () => status().includes('Ctrl-] remote'));
  await clickAt(10, 5, 580, 367);
  await clickAt(99, 28, 1435, 808);
  t.pass('clicks land on the screen pixel under the cell, not the frame pixel');
});
