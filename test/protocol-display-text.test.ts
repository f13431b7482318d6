import t from 'tap';
import fc from 'fast-check';
import { terminalSafe } from '../src/protocol/display-text.js';

t.test('escape sequences become visible text', async (t) => {
  t.equal(terminalSafe('Jane\x1b[2K\rview only'), 'Jane\\x1b[2K\\x0dview only');
  t.equal(terminalSafe('a\u202eb'), 'a\\u202eb', 'a bidi override is shown, not obeyed');
  t.equal(terminalSafe('Zoë Ünal'), 'Zoë Ünal', 'letters of any language are untouched');
  t.equal(terminalSafe('x'.repeat(600)).length, 512, 'cut to the limit');
});

t.test('no control character survives, whatever the input', async (t) => {
  fc.assert(
    fc.property(
      fc.string({ unit: 'binary' }),
      (text) => !/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(terminalSafe(text)),
    ),
  );
  t.pass('property held for every generated string');
});
