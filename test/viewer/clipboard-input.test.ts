// The viewer's side of the clipboard, as pure functions: bracketed pastes parsed out of raw input
// (also cut across chunks), pasted text as typed keys, and OSC 52 built from hostile remote text.
import t from 'tap';
import { clipboardSafe, osc52 } from '../../src/viewer-tty/clipboard-bridge.js';
import { TerminalInputParser } from '../../src/viewer-tty/input/terminal-input.js';

t.test('a bracketed paste is one event, keys around it stay keys', async (t) => {
  const parser = new TerminalInputParser();
  const events = parser.parse('a\x1b[200~hello\x1b[Aworld\x1b[201~b');
  t.same(
    events.map((e) => (e.kind === 'paste' ? `paste:${e.text}` : e.kind === 'key' ? e.name : e.kind)),
    ['a', 'paste:hello\x1b[Aworld', 'b'],
    'escape sequences inside a paste are text, not keys',
  );
});

t.test('a paste spread over chunks, its end marker cut in two', async (t) => {
  const parser = new TerminalInputParser();
  t.same(parser.parse('\x1b[200~first '), [], 'nothing until the end marker');
  t.same(parser.parse('second\x1b[20'), []);
  t.same(parser.parse('1~x'), [
    { kind: 'paste', text: 'first second' },
    { kind: 'key', name: 'x', ctrl: false, alt: false, shift: false, meta: false, raw: 'x' },
  ]);
});

t.test('pasted text as keys: characters, Enter, Tab; other controls dropped', async (t) => {
  const keys = TerminalInputParser.typedKeys('A\tb\r\nc\x1b[31m\x03');
  t.same(
    keys.map((k) => k.name),
    ['A', 'tab', 'b', 'enter', 'c', '[', '3', '1', 'm'],
  );
  t.notOk(
    keys.some((k) => k.ctrl),
    'no Ctrl key comes out of a paste',
  );
});

t.test('OSC 52 carries the remote text without control characters but newline and tab', async (t) => {
  t.equal(clipboardSafe('a\tb\r\nc\x1b]0;x\x07\x9b2J\u0000d'), 'a\tb\nc]0;x2Jd');
  const sequence = osc52('héllo\x1b[2J\n');
  t.match(sequence, /^\x1b\]52;c;[A-Za-z0-9+/=]+\x07$/, 'ESC ] 52 ; c ; base64 BEL');
  t.equal(Buffer.from(sequence.slice(7, -1), 'base64').toString('utf8'), 'héllo[2J\n');
});
