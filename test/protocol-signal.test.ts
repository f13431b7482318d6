import t from 'tap';
import { Signal, encodeSignalMessage, parseSignalMessage, type SignalMessage } from '../src/protocol/index.js';

t.test('builders write the DESIGN.md shapes exactly', async (t) => {
  t.equal(Signal.ping(), '{"type":"ping"}');
  t.equal(Signal.pong(), '{"type":"pong"}');
  t.equal(Signal.disconnect(), '{"type":"disconnect"}');
  t.equal(Signal.udpTicket(50001, 'abc'), '{"type":"udp_ticket","udp_port":50001,"ticket":"abc"}');
  t.equal(Signal.status('active'), '{"type":"status","status":"active"}');
  t.equal(Signal.viewer('Ann Tech', 'ann@example.com'), '{"type":"viewer","full_name":"Ann Tech","email":"ann@example.com"}');
  // Extra properties on a runtime object are not written.
  const sneaky = { type: 'status', status: 'closed', secret: 'x' } as unknown as SignalMessage;
  t.equal(encodeSignalMessage(sneaky), '{"type":"status","status":"closed"}');
});

t.test('round trips and parse errors', async (t) => {
  const messages: SignalMessage[] = [
    { type: 'ping' },
    { type: 'pong' },
    { type: 'disconnect' },
    { type: 'udp_ticket', udp_port: 50001, ticket: 't' },
    { type: 'status', status: 'pending' },
    { type: 'status', status: 'disconnected' },
    { type: 'viewer', full_name: 'Zoë Ünal', email: 'z@example.com' },
  ];
  for (const message of messages) {
    t.same(parseSignalMessage(encodeSignalMessage(message)), { ok: true, message });
    t.same(parseSignalMessage(Buffer.from(encodeSignalMessage(message))), { ok: true, message }, 'from a Buffer');
  }
  t.same(parseSignalMessage('{"type":"ping","id":7}'), { ok: true, message: { type: 'ping' } }, 'extra fields ignored');
  const unknown = parseSignalMessage('{"type":"chat","text":"hi"}');
  t.match(unknown, { ok: false, type: 'chat', error: { code: 'UNKNOWN_TYPE' } });
  const code = (text: string | Buffer) => {
    const r = parseSignalMessage(text);
    return r.ok ? 'ok' : r.error.code;
  };
  t.equal(code(''), 'EMPTY');
  t.equal(code('ping'), 'BAD_JSON');
  t.equal(code('[]'), 'BAD_JSON');
  t.equal(code('{}'), 'MISSING_TYPE');
  t.equal(code('{"type":"status","status":"gone"}'), 'BAD_FIELD');
  t.equal(code('{"type":"udp_ticket","udp_port":0,"ticket":"t"}'), 'BAD_FIELD');
  t.equal(code('{"type":"udp_ticket","udp_port":50001}'), 'BAD_FIELD');
  t.equal(code('{"type":"viewer","full_name":"A"}'), 'BAD_FIELD');
  t.equal(code(`{"type":"ping","pad":"${'x'.repeat(9000)}"}`), 'TOO_LARGE');
  t.equal(code(Buffer.from([0x7b, 0xff, 0x7d])), 'BAD_UTF8');
  t.equal(code('{"type":"__proto__"}'), 'UNKNOWN_TYPE');
});
