// `rac view CODE --graphics blocks` in a real terminal (tmux), against a peer speaking the
// broker's viewer side and the agent's sealed stream: the picture's colours on screen, the status
// line with the security code, keys and clicks as sealed packets, and the terminal restored on q and on SIGTERM.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { RAC_BIN } from '../helpers/broker-process.js';
import { PEER_TOKEN, type RelayPeer, startRelayPeer } from '../helpers/relay-peer.js';
import { QUADRANT_COLOURS, quadrantJpeg } from '../helpers/test-picture.js';
import { Tmux, parseCapture } from '../helpers/viewer-tmux.js';

const near = (a: number[] | undefined, b: readonly number[]) => !!a && a.every((v, i) => Math.abs(v - b[i]!) <= 12);

async function startViewer(t: Test): Promise<{ peer: RelayPeer; term: Tmux }> {
  const peer = await startRelayPeer({ customerName: 'Ada Lovelace' });
  t.teardown(() => peer.close());
  const term = new Tmux(100, 30);
  t.teardown(() => term.kill());
  term.start(`${process.execPath} ${RAC_BIN} view ${peer.code} --graphics blocks; echo EXIT=$?; sleep 60`, {
    RAC_SERVER: peer.url,
    RAC_TOKEN: PEER_TOKEN,
    TERM: 'xterm-256color',
    XDG_CONFIG_HOME: '/nonexistent',
  });
  const jpeg = quadrantJpeg(640, 360);
  const streaming = setInterval(() => peer.sendFrame(jpeg), 100);
  t.teardown(() => clearInterval(streaming));
  await peer.waitFor('the picture on screen', () => term.capture().includes('38;2;'), 15_000);
  return { peer, term };
}

t.test('the picture, the status line, keys, clicks and q', async (t) => {
  const { peer, term } = await startViewer(t);
  // 640×360 in 100×29 cells of 10×20 px → 100×28 cells, top row 0.
  await peer.waitFor('the status line figures', () => /fps/.test(term.capture(false)), 5000);
  const screen = parseCapture(term.capture());
  const cell = (row: number, col: number) => screen[row]![col]!;
  t.equal(cell(1, 1).ch, '\u2580', 'half-blocks');
  t.ok(near(cell(1, 1).fg, QUADRANT_COLOURS.topLeft) && near(cell(1, 1).bg, QUADRANT_COLOURS.topLeft), `top left red: ${cell(1, 1).fg}`);
  t.ok(near(cell(1, 98).fg, QUADRANT_COLOURS.topRight), `top right green: ${cell(1, 98).fg}`);
  t.ok(near(cell(26, 1).bg, QUADRANT_COLOURS.bottomLeft), `bottom left blue: ${cell(26, 1).bg}`);
  t.ok(near(cell(26, 98).bg, QUADRANT_COLOURS.bottomRight), `bottom right white: ${cell(26, 98).bg}`);
  const status = term.capture(false).split('\n')[29]!;
  // 100 columns: the loss figure is the first to give way (an ellipsis) when the rate takes more digits.
  t.match(status, /482 916 573 · Ada Lovelace · active · [\d.]+ fps · \d+ kbit\/s · loss( \d+| ?…)/);
  t.match(status, /code \d{3} \d{3} {2}Ctrl-\] remote/, 'the security code, never cut off, beside the mode');
  t.match(status, `code ${peer.sas()}`, 'the security code the agent derived');
  t.match(status, 'Ctrl-] remote');
  t.same(
    term.display('#{alternate_on} #{mouse_any_flag} #{mouse_sgr_flag} #{cursor_flag}'),
    '1 1 1 0',
    'alternate screen, SGR mouse, hidden cursor',
  );

  const keyboard = () => peer.received.filter((p) => p.type === 'keyboard').map((p) => `${p.vk}${p.state ? 'v' : '^'}`);
  term.send('a');
  term.send('Enter');
  term.send('C-c'); // goes to the remote as Ctrl+C, it does not stop the viewer
  term.send('A');
  term.send('Up');
  await peer.waitFor('keyboard packets', () => keyboard().length >= 14);
  t.same(keyboard(), ['65v', '65^', '13v', '13^', '17v', '67v', '67^', '17^', '16v', '65v', '65^', '16^', '38v', '38^']);

  term.send('\x1b[<0;51;15M\x1b[<0;51;15m\x1b[<2;1;1M\x1b[<65;10;10M\x1b[<35;20;20M', true);
  const mouse = () => peer.received.filter((p) => p.type === 'mouse');
  await peer.waitFor('mouse packets', () => mouse().length >= 5);
  t.same(mouse().slice(0, 5), [
    { type: 'mouse', x: 323, y: 186, button: 1, state: 1, sealed: true },
    { type: 'mouse', x: 323, y: 186, button: 1, state: 0, sealed: true },
    { type: 'mouse', x: 3, y: 6, button: 2, state: 1, sealed: true },
    { type: 'mouse', x: 60, y: 122, button: 5, state: 1, sealed: true },
    { type: 'mouse', x: 124, y: 250, button: 0, state: 0, sealed: true },
  ]);

  // A smaller window: the picture is fitted again and the status line moves to the new last row.
  term.tmux('resize-window', '-t', 'main', '-x', '60', '-y', '20');
  await peer.waitFor('the status line on row 20', () => (term.capture(false).split('\n')[19] ?? '').includes('482 916 573'), 5000);
  await peer.waitFor(
    'the picture redrawn at 60×19',
    () => {
      const s = parseCapture(term.capture());
      // 640×360 in 60×19 cells of 10×20 px → 60×17 cells, top row 1.
      return (
        near(s[1]?.[0]?.fg, QUADRANT_COLOURS.topLeft) && near(s[17]?.[59]?.bg, QUADRANT_COLOURS.bottomRight) && s[18]?.[0]?.fg === undefined
      );
    },
    5000,
  );
  t.pass('re-laid out after the resize');

  term.send('C-]');
  await peer.waitFor('viewer mode', () => term.capture(false).includes('Ctrl-] viewer: q quit'));
  const sent = peer.received.length;
  term.send('q');
  await peer.waitFor('exit', () => term.capture(false).includes('EXIT=0'), 5000);
  t.notOk(
    peer.received.slice(sent).some((p) => p.type === 'keyboard'),
    'q in viewer mode is not sent',
  );
  t.same(term.display('#{alternate_on} #{mouse_any_flag} #{mouse_sgr_flag} #{cursor_flag}'), '0 0 0 1', 'terminal restored');
});

t.test('SIGTERM restores the terminal too', async (t) => {
  const { peer, term } = await startViewer(t);
  const shell = term.display('#{pane_pid}');
  const viewer = execFileSync('pgrep', ['-P', shell], { encoding: 'utf8' }).trim().split('\n')[0]!;
  process.kill(Number(viewer), 'SIGTERM');
  await peer.waitFor('exit', () => /EXIT=\d+/.test(term.capture(false)), 5000);
  t.same(term.display('#{alternate_on} #{mouse_any_flag} #{mouse_sgr_flag} #{cursor_flag}'), '0 0 0 1', 'terminal restored');
});
