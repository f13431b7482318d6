import t from 'tap';
import { PassThrough } from 'node:stream';
import {
  CELL_SIZE_QUERY,
  DA1_QUERY,
  KITTY_QUERY,
  chooseMode,
  detectGraphics,
  guessCellSize,
  hintFromEnv,
  parseReplies,
} from '../../src/viewer-tty/detect-graphics.js';

// What real terminals answered (recorded under Xvfb; see real-terminals.test.ts).
const XTERM_VT340 = '\x1b[?63;1;2;4;6;9;15;16;22;28c';
const KITTY = '\x1b_Gi=31;OK\x1b\\\x1b[6;18;9t\x1b[?62;c';
const PLAIN = '\x1b[?1;2c';

t.test('parseReplies reads kitty OK, DA1 attribute 4 and the cell size', async (t) => {
  t.same(parseReplies(XTERM_VT340), { kitty: false, sixel: true, complete: true });
  t.same(parseReplies(KITTY), { kitty: true, sixel: false, complete: true, cell: { width: 9, height: 18 } });
  t.same(parseReplies(PLAIN), { kitty: false, sixel: false, complete: true });
  t.same(parseReplies('\x1b_Gi=31;ENOENT:unsupported\x1b\\' + PLAIN).kitty, false, 'a kitty error is no support');
  t.same(parseReplies('\x1b[?4c').sixel, false, 'the first DA1 number is the class, not an attribute');
  t.same(parseReplies('').complete, false);
});

t.test('chooseMode: kitty → sixel → blocks; tmux is blocks; env hints when the terminal is silent', async (t) => {
  t.equal(chooseMode(parseReplies(KITTY), {}), 'kitty');
  t.equal(chooseMode(parseReplies(XTERM_VT340), {}), 'sixel');
  t.equal(chooseMode(parseReplies(PLAIN), {}), 'blocks');
  t.equal(chooseMode(parseReplies(KITTY), { TMUX: '/tmp/tmux-0/default,1,0' }), 'blocks');
  t.equal(chooseMode(parseReplies(''), { TERM: 'xterm-kitty' }), 'kitty');
  t.equal(chooseMode(parseReplies(''), { TERM_PROGRAM: 'WezTerm' }), 'kitty');
  t.equal(chooseMode(parseReplies(''), { TERM: 'xterm' }), 'blocks');
  t.equal(hintFromEnv({ TERM: 'screen-256color' }), 'blocks');
  t.same(guessCellSize({ XTERM_VERSION: 'XTerm(379)' }), { width: 6, height: 13 });
  t.same(guessCellSize({}), { width: 10, height: 20 });
});

t.test('detectGraphics sends the queries and stops at the DA1 answer', async (t) => {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  let sent = '';
  stdout.on('data', (d) => {
    sent += d;
    stdin.write(KITTY); // the terminal answers at once
  });
  const result = await detectGraphics({ stdin, stdout, env: {}, timeoutMs: 5000 });
  t.equal(sent, KITTY_QUERY + CELL_SIZE_QUERY + DA1_QUERY);
  t.equal(result.mode, 'kitty');
  t.same(result.cell, { width: 9, height: 18 });
  t.equal(stdin.listenerCount('data'), 0, 'stops listening');
});

t.test('a silent terminal: the timeout and the fallbacks', async (t) => {
  const result = await detectGraphics({
    stdin: new PassThrough(),
    stdout: new PassThrough(),
    env: { TERM: 'xterm-256color' },
    timeoutMs: 50,
  });
  t.equal(result.mode, 'blocks');
  t.same(result.cell, { width: 10, height: 20 });
});
