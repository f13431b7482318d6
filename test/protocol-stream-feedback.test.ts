// The feedback control messages (docs/protocol.md, "Receive reports and stream settings"): each
// field is bounds-checked, a bad one refuses the message with the field's name, and a keepalive's
// timestamp is optional (a relay or a reference client that sends none, or a bad one, is unaffected).
import t from 'tap';
import { decodeDatagram, encodeControl, parseControlMessage } from '../src/protocol/index.js';

const parse = (object: object) => parseControlMessage(Buffer.from(JSON.stringify(object)));
const REPORT = { type: 'receive_report', interval_ms: 1000, frames: 14, lost: 1, bytes: 120_000 };

t.test('a receive report parses, with or without its optional fields', async (t) => {
  t.same(parse(REPORT), { ok: true, value: REPORT });
  const full = { ...REPORT, decode_ms: 7, rtt_ms: 48 };
  t.same(parse(full), { ok: true, value: full });
  const unknownExtra = parse({ ...REPORT, future_field: 'x' });
  t.same(unknownExtra, { ok: true, value: REPORT }, 'unknown fields are dropped, not refused');
});

t.test('a receive report with a field out of bounds is refused, naming the field', async (t) => {
  const bad: [string, unknown][] = [
    ['interval_ms', 0],
    ['interval_ms', 60_001],
    ['frames', -1],
    ['frames', 1.5],
    ['lost', 100_001],
    ['bytes', '12'],
    ['bytes', 1e12],
    ['decode_ms', -3],
    ['rtt_ms', Number.MAX_SAFE_INTEGER],
  ];
  for (const [field, value] of bad) {
    const result = parse({ ...REPORT, [field]: value });
    t.notOk(result.ok, `${field}: ${JSON.stringify(value)} refused`);
    if (!result.ok) t.match(result.error.message, `"${field}"`);
  }
  const missing = parse({ type: 'receive_report', interval_ms: 1000, frames: 1, lost: 0 });
  t.notOk(missing.ok, 'bytes is required');
});

t.test("a receive report's last_frame is a 64-bit frame id in decimal, or absent", async (t) => {
  for (const id of ['0', '638000000000000000', '9223372036854775807']) {
    t.same(parse({ ...REPORT, last_frame: id }), { ok: true, value: { ...REPORT, last_frame: id } }, id);
  }
  const bad: unknown[] = ['9223372036854775808', '-1', '007', '', '1e9', ' 12', 12, null, '99999999999999999999'];
  for (const value of bad) {
    const result = parse({ ...REPORT, last_frame: value });
    t.notOk(result.ok, `${JSON.stringify(value)} refused`);
    if (!result.ok) t.match(result.error.message, '"last_frame"');
  }
});

t.test('stream_settings and auto_quality', async (t) => {
  const settings = { type: 'stream_settings', quality: 45, fps: 8, auto: true };
  t.same(parse(settings), { ok: true, value: settings });
  t.notOk(parse({ ...settings, auto: 'yes' }).ok, 'auto must be a boolean');
  t.notOk(parse({ ...settings, quality: 0 }).ok, 'quality from 1');
  t.notOk(parse({ ...settings, fps: 121 }).ok, 'fps up to 120');
  t.same(parse({ type: 'auto_quality' }), { ok: true, value: { type: 'auto_quality' } });
});

t.test("a keepalive's timestamp is optional and never makes it invalid", async (t) => {
  t.same(parse({ type: 'keepalive', t: 1764412345678 }), { ok: true, value: { type: 'keepalive', t: 1764412345678 } });
  t.same(parse({ type: 'keepalive' }), { ok: true, value: { type: 'keepalive' } });
  for (const bad of [-1, 1.5, '12', null, 2 ** 60]) {
    t.same(parse({ type: 'keepalive', t: bad }), { ok: true, value: { type: 'keepalive' } }, `t ${JSON.stringify(bad)} is ignored`);
  }
  const wire = encodeControl({ type: 'keepalive', t: 42 });
  t.equal(wire.subarray(1).toString(), '{"type":"keepalive","t":42}');
  const decoded = decodeDatagram(wire);
  t.same(decoded.ok && decoded.packet, { type: 'control', message: { type: 'keepalive', t: 42 } });
});
