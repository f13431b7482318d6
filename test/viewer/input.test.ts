import t from 'tap';
import { type RemoteInput, mapMouse, mouseInputs } from '../../src/viewer-tty/input/mouse-map.js';
import { type KeyEvent, type MouseEvent as TerminalMouseEvent, TerminalInputParser } from '../../src/viewer-tty/input/terminal-input.js';
import { VK } from '../../src/protocol/virtual-keys.js';
import { keyStrokes, virtualKey } from '../../src/viewer-tty/input/windows-keys.js';

const parse = (s: string) => new TerminalInputParser().parse(s);
const keys = (s: string) => parse(s).map((e) => (e.kind === 'key' ? { name: e.name, ctrl: e.ctrl, alt: e.alt, shift: e.shift } : e));
/** Each event's key name; an event that is not a key has none (undefined). */
const names = (s: string) => parse(s).map((e) => (e.kind === 'key' ? e.name : undefined));

t.test('plain bytes, control characters and Alt', async (t) => {
  t.same(keys('aZ1 '), [
    { name: 'a', ctrl: false, alt: false, shift: false },
    { name: 'Z', ctrl: false, alt: false, shift: true },
    { name: '1', ctrl: false, alt: false, shift: false },
    { name: ' ', ctrl: false, alt: false, shift: false },
  ]);
  t.same(names('\r\t\x7f\x08'), ['enter', 'tab', 'backspace', 'backspace']);
  t.same(keys('\x03'), [{ name: 'c', ctrl: true, alt: false, shift: false }]);
  t.same(keys('\x1d'), [{ name: ']', ctrl: true, alt: false, shift: false }], 'Ctrl-] (the escape key)');
  t.same(keys('\x1bx'), [{ name: 'x', ctrl: false, alt: true, shift: false }]);
  t.same(keys('\x1b'), [{ name: 'escape', ctrl: false, alt: false, shift: false }]);
  t.same(keys('é'), [{ name: 'é', ctrl: false, alt: false, shift: false }]);
});

t.test('CSI and SS3 sequences with modifiers', async (t) => {
  t.same(names('\x1b[A\x1bOB\x1b[C\x1b[D'), ['up', 'down', 'right', 'left']);
  t.same(keys('\x1b[1;5C'), [{ name: 'right', ctrl: true, alt: false, shift: false }]);
  t.same(keys('\x1b[1;2A'), [{ name: 'up', ctrl: false, alt: false, shift: true }]);
  t.same(names('\x1b[3~\x1b[5~\x1b[6~\x1b[2~'), ['delete', 'pageup', 'pagedown', 'insert']);
  t.same(keys('\x1b[3;3~'), [{ name: 'delete', ctrl: false, alt: true, shift: false }]);
  t.same(
    parse('\x1bOP\x1b[15~\x1b[24~\x1b[1;5P').map((e) => (e.kind === 'key' ? [e.name, e.ctrl] : e)),
    [
      ['f1', false],
      ['f5', false],
      ['f12', false],
      ['f1', true],
    ],
  );
  t.same(names('\x1b[H\x1b[F\x1bOH\x1b[1~\x1b[4~'), ['home', 'end', 'home', 'home', 'end']);
  t.same(keys('\x1b[Z'), [{ name: 'tab', ctrl: false, alt: false, shift: true }]);
  t.same(keys('\x1b[97;5u'), [{ name: 'a', ctrl: true, alt: false, shift: false }], 'CSI u');
});

t.test('SGR 1006 mouse reports', async (t) => {
  const [press, release, move, wheel, drag] = parse('\x1b[<0;10;5M\x1b[<0;10;5m\x1b[<35;11;6M\x1b[<65;1;1M\x1b[<32;12;6M');
  t.match(press, { kind: 'mouse', col: 9, row: 4, button: 'left', action: 'press' });
  t.match(release, { kind: 'mouse', button: 'left', action: 'release' });
  t.match(move, { kind: 'mouse', col: 10, row: 5, button: 'none', action: 'move' });
  t.match(wheel, { kind: 'mouse', button: 'wheel-down', action: 'press', col: 0, row: 0 });
  t.match(drag, { kind: 'mouse', button: 'left', action: 'move' });
  t.match(parse('\x1b[<18;3;4M')[0], { button: 'right', ctrl: true }, 'Ctrl + right');
  t.match(parse('\x1b[<1;3;4M')[0], { button: 'middle' });
  t.same(parse('\x1b[<0;5M'), [], 'a report with two numbers is dropped');
});

t.test('terminal replies are told apart from keys', async (t) => {
  const events = parse('\x1b[?62;4;22c\x1b_Gi=31;OK\x1b\\\x1b[6;20;10tq');
  t.same(
    events.map((e) => e.kind),
    ['reply', 'reply', 'reply', 'key'],
  );
  t.same(events[1], { kind: 'reply', text: '\x1b_Gi=31;OK\x1b\\' });
});

const key = (name: string, mods: Partial<KeyEvent> = {}): KeyEvent => ({
  kind: 'key',
  name,
  ctrl: false,
  alt: false,
  shift: false,
  meta: false,
  raw: name,
  ...mods,
});

t.test('virtual-key codes', async (t) => {
  t.same(virtualKey(key('a')), { vk: 0x41, shift: false });
  t.same(virtualKey(key('Q', { shift: true })), { vk: 0x51, shift: true });
  t.same(virtualKey(key('7')), { vk: 0x37, shift: false });
  t.same(virtualKey(key('!')), { vk: 0x31, shift: true });
  t.same(virtualKey(key('?')), { vk: VK.OEM_2, shift: true });
  t.same(virtualKey(key('-')), { vk: VK.OEM_MINUS, shift: false });
  t.same(virtualKey(key('enter')), { vk: 0x0d, shift: false });
  t.same(virtualKey(key('f12')), { vk: 0x7b, shift: false });
  t.same(virtualKey(key('delete')), { vk: 0x2e, shift: false });
  t.same(virtualKey(key('pagedown')), { vk: 0x22, shift: false });
  t.same(virtualKey(key('left')), { vk: 0x25, shift: false });
  t.equal(virtualKey(key('é')), undefined, 'no US key for it');
});

t.test('key strokes wrap the key in its modifiers', async (t) => {
  t.same(keyStrokes(key('c', { ctrl: true })), [
    { vk: VK.CONTROL, down: true },
    { vk: 0x43, down: true },
    { vk: 0x43, down: false },
    { vk: VK.CONTROL, down: false },
  ]);
  t.same(
    keyStrokes(key('A', { shift: true, alt: true })).map((s) => `${s.vk}${s.down ? 'v' : '^'}`),
    ['18v', '16v', '65v', '65^', '16^', '18^'],
  );
  t.same(keyStrokes(key('x')), [
    { vk: 0x58, down: true },
    { vk: 0x58, down: false },
  ]);
  t.same(keyStrokes(key('é')), []);
});

t.test('mouse mapping from cells to remote pixels', async (t) => {
  const placement = { left: 0, top: 6, cols: 100, rows: 28, imageWidth: 1920, imageHeight: 1080 };
  const ev = (col: number, row: number, button: TerminalMouseEvent['button'], action: TerminalMouseEvent['action']) => ({
    kind: 'mouse' as const,
    col,
    row,
    button,
    action,
    ctrl: false,
    alt: false,
    shift: false,
  });
  t.same(mapMouse(ev(0, 6, 'left', 'press'), placement), { x: 9, y: 19, button: 1, state: 1 });
  t.same(mapMouse(ev(50, 20, 'right', 'release'), placement), { x: 969, y: 559, button: 2, state: 0 });
  t.same(mapMouse(ev(50, 20, 'middle', 'press'), placement), { x: 969, y: 559, button: 3, state: 1 });
  t.same(mapMouse(ev(99, 33, 'none', 'move'), placement), { x: 1910, y: 1060, button: 0, state: 0 });
  t.same(mapMouse(ev(10, 10, 'wheel-up', 'press'), placement), { x: 201, y: 173, button: 4, state: 1 });
  t.same(mapMouse(ev(10, 10, 'wheel-down', 'press'), placement), { x: 201, y: 173, button: 5, state: 1 });
  t.equal(mapMouse(ev(10, 2, 'left', 'press'), placement), undefined, 'outside the picture');
  t.equal(mapMouse(ev(10, 10, 'wheel-left', 'press'), placement), undefined);
});

t.test('modifiers held during clicks and wheel notches', async (t) => {
  const placement = { left: 0, top: 0, cols: 10, rows: 10, imageWidth: 100, imageHeight: 100 };
  const ev = (button: TerminalMouseEvent['button'], action: TerminalMouseEvent['action'], mods: object = {}) => ({
    kind: 'mouse' as const,
    col: 0,
    row: 0,
    button,
    action,
    ctrl: false,
    alt: false,
    shift: false,
    ...mods,
  });
  const brief = (inputs: RemoteInput[]) =>
    inputs.map((i) => (i.kind === 'key' ? `${i.vk}${i.down ? 'v' : '^'}` : `m${i.button}${i.state ? 'v' : '^'}`));
  t.same(brief(mouseInputs(ev('left', 'press', { ctrl: true }), placement)), ['17v', 'm1v']);
  t.same(brief(mouseInputs(ev('left', 'release', { ctrl: true }), placement)), ['m1^', '17^']);
  t.same(brief(mouseInputs(ev('right', 'press', { shift: true, alt: true }), placement)), ['18v', '16v', 'm2v']);
  t.same(brief(mouseInputs(ev('wheel-up', 'press', { ctrl: true }), placement)), ['17v', 'm4v', '17^']);
  t.same(brief(mouseInputs(ev('left', 'press'), placement)), ['m1v']);
  t.same(brief(mouseInputs(ev('none', 'move', { ctrl: true }), placement)), ['m0^'], 'moves carry no modifiers');
  t.same(mouseInputs({ ...ev('left', 'press'), col: 50 }, placement), [], 'outside the picture: nothing');
});
