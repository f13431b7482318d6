// The signalling messages of /ws/session/{code}: exact JSON shapes, round trips (by example and
// by property) and typed errors naming the field that is wrong.
import t from 'tap';
import fc from 'fast-check';
import {
  KEY_TEXT_CHARS,
  MAX_SIGNAL_MESSAGE_BYTES,
  MAX_VIEWER_ID,
  MAX_WELCOME_VIEWERS,
  SESSION_STATUSES,
  SIGNAL_TYPES,
  Signal,
  type SignalMessage,
  agentShellHeader,
  encodeSignalMessage,
  parseAgentShell,
  parseSignalMessage,
} from '../src/protocol/index.js';
import { MAX_VIEWERS_LIMIT } from '../src/broker/session-limits.js';

const KEY = 'A'.repeat(42) + 'E'; // 43 base64url characters
const OTHER_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE';
const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAn8x0g7P6U0VCP9rLmlHf1ke8gVh/A3Zo0rpzkGfx7q';

t.test('builders write the documented shapes exactly', async (t) => {
  t.equal(Signal.ping(), '{"type":"ping"}');
  t.equal(Signal.pong(), '{"type":"pong"}');
  t.equal(Signal.disconnect(), '{"type":"disconnect"}');
  t.equal(Signal.udpTicket(50001, 'abc'), '{"type":"udp_ticket","udp_port":50001,"ticket":"abc"}');
  t.equal(Signal.status('active'), '{"type":"status","status":"active"}');
  t.equal(
    Signal.viewer(3, 'Ann Tech', 'ann@example.com', KEY),
    `{"type":"viewer","viewer_id":3,"full_name":"Ann Tech","email":"ann@example.com","commitment":"${KEY}"}`,
  );
  t.equal(Signal.viewerLeft(3), '{"type":"viewer_left","viewer_id":3}');
  t.equal(Signal.agentWelcome(12, false), '{"type":"agent_welcome","session_id":12,"resumed":false}');
  t.equal(Signal.agentWelcome(12, false, KEY), `{"type":"agent_welcome","session_id":12,"resumed":false,"agent_secret":"${KEY}"}`);
  t.equal(Signal.agentWelcome(12, true, undefined, [3, 9]), '{"type":"agent_welcome","session_id":12,"resumed":true,"viewers":[3,9]}');
  t.equal(Signal.agentWelcome(12, true, undefined, []), '{"type":"agent_welcome","session_id":12,"resumed":true,"viewers":[]}');
  t.equal(Signal.joined(3, 12, true), '{"type":"joined","viewer_id":3,"session_id":12,"allow_unencrypted_agent":true}');
  t.equal(Signal.agentJoined(false), '{"type":"agent_joined","resumed":false}');
  t.equal(Signal.keyCommit(KEY), `{"type":"key_commit","commitment":"${KEY}"}`);
  t.equal(Signal.udpTicketRequest(), '{"type":"udp_ticket_request"}');
  t.equal(Signal.agentKey(3, KEY), `{"type":"agent_key","viewer_id":3,"public_key":"${KEY}"}`);
  t.equal(Signal.viewerKey(3, KEY), `{"type":"viewer_key","viewer_id":3,"public_key":"${KEY}"}`);
  t.equal(KEY_TEXT_CHARS, 43);
});

/** One valid example of every type: the list must cover SIGNAL_TYPES. */
const EXAMPLES: SignalMessage[] = [
  { type: 'ping' },
  { type: 'pong' },
  { type: 'disconnect' },
  { type: 'agent_welcome', session_id: 1, resumed: true },
  { type: 'agent_welcome', session_id: Number.MAX_SAFE_INTEGER, resumed: false, agent_secret: KEY },
  { type: 'agent_welcome', session_id: 7, resumed: true, viewers: [] },
  { type: 'agent_welcome', session_id: 7, resumed: true, viewers: [1, MAX_VIEWER_ID, 40] },
  { type: 'agent_welcome', session_id: 7, resumed: false, agent_secret: KEY, viewers: [2] },
  { type: 'viewer', viewer_id: MAX_VIEWER_ID, full_name: 'Zoë Ünal', email: 'z@example.com', commitment: KEY },
  { type: 'viewer', viewer_id: 1, full_name: '', email: 'z@example.com', commitment: OTHER_KEY },
  { type: 'viewer_left', viewer_id: 2 },
  { type: 'joined', viewer_id: 2, session_id: 40, allow_unencrypted_agent: false },
  { type: 'udp_ticket', udp_port: 50001, ticket: 't' },
  { type: 'status', status: 'pending' },
  { type: 'status', status: 'disconnected' },
  { type: 'agent_joined', resumed: false },
  { type: 'key_commit', commitment: KEY },
  { type: 'udp_ticket_request' },
  { type: 'agent_key', viewer_id: 2, public_key: OTHER_KEY },
  { type: 'viewer_key', viewer_id: 2, public_key: KEY },
  { type: 'agent_key', viewer_id: 2, public_key: OTHER_KEY, ssh_host_key: HOST_KEY },
  { type: 'agent_host_key', public_key: HOST_KEY },
  { type: 'tunnel_open', stream_id: 0xffff_ffff, full_name: 'Jane Doe', email: 'jane@example.com', token: 'rt1.abc.def' },
  { type: 'tunnel_refused', stream_id: 1, reason: 'shell_not_allowed' },
  { type: 'tunnel_refused', stream_id: 2, reason: 'declined' },
  { type: 'tunnel_refused', stream_id: 3, reason: 'bad_token' },
];

t.test('the tunnel messages have the documented shapes', async (t) => {
  t.equal(Signal.agentHostKey(HOST_KEY), `{"type":"agent_host_key","public_key":"${HOST_KEY}"}`);
  t.equal(Signal.agentKey(3, KEY, HOST_KEY), `{"type":"agent_key","viewer_id":3,"public_key":"${KEY}","ssh_host_key":"${HOST_KEY}"}`);
  t.equal(
    Signal.tunnelOpen(5, 'Jane Doe', 'jane@example.com', 'rt1.a.b'),
    '{"type":"tunnel_open","stream_id":5,"full_name":"Jane Doe","email":"jane@example.com","token":"rt1.a.b"}',
  );
  t.equal(Signal.tunnelRefused(5, 'declined'), '{"type":"tunnel_refused","stream_id":5,"reason":"declined"}');
  const cases: [object, string][] = [
    [{ type: 'agent_host_key', public_key: 'ssh-rsa AAAAB3NzaC1yc2E' }, 'public_key'],
    [{ type: 'agent_host_key', public_key: HOST_KEY + ' comment' }, 'public_key'],
    [{ type: 'agent_key', viewer_id: 2, public_key: KEY, ssh_host_key: 'ssh-ed25519 AAAA' }, 'ssh_host_key'],
    [{ type: 'tunnel_open', stream_id: 0, full_name: '', email: 'a@b', token: 't' }, 'stream_id'],
    [{ type: 'tunnel_open', stream_id: 1, full_name: '', email: 'a@b' }, 'token'],
    [{ type: 'tunnel_open', stream_id: 1, full_name: '', email: 'a@b', token: 'x'.repeat(2049) }, 'token'],
    [{ type: 'tunnel_refused', stream_id: 1, reason: 'maybe' }, 'reason'],
  ];
  for (const [message, field] of cases) {
    const r = parseSignalMessage(JSON.stringify(message));
    t.equal(r.ok ? 'ok' : r.error.code, 'BAD_FIELD', `${JSON.stringify(message).slice(0, 60)} is refused`);
    t.match(r.ok ? '' : r.error.message, field);
  }
});

t.test('every message type round-trips through encode and parse', async (t) => {
  t.same(new Set(EXAMPLES.map((m) => m.type)), new Set(SIGNAL_TYPES), 'the examples cover every type');
  for (const message of EXAMPLES) {
    t.same(parseSignalMessage(encodeSignalMessage(message)), { ok: true, message }, message.type);
    t.same(parseSignalMessage(Buffer.from(encodeSignalMessage(message))), { ok: true, message }, `${message.type} from a Buffer`);
  }
  t.same(parseSignalMessage('{"type":"ping","id":7}'), { ok: true, message: { type: 'ping' } }, 'extra fields ignored');
});

const keyText = fc.string({
  unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'),
  minLength: 43,
  maxLength: 43,
});
const viewerId = fc.integer({ min: 1, max: MAX_VIEWER_ID });
const sessionId = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
const anyMessage: fc.Arbitrary<SignalMessage> = fc.oneof(
  fc.constantFrom<SignalMessage>({ type: 'ping' }, { type: 'pong' }, { type: 'disconnect' }, { type: 'udp_ticket_request' }),
  fc.record({ type: fc.constant('agent_welcome' as const), session_id: sessionId, resumed: fc.boolean() }),
  fc.record({ type: fc.constant('agent_welcome' as const), session_id: sessionId, resumed: fc.boolean(), agent_secret: keyText }),
  fc.record({
    type: fc.constant('agent_welcome' as const),
    session_id: sessionId,
    resumed: fc.boolean(),
    viewers: fc.uniqueArray(viewerId, { maxLength: 40 }),
  }),
  fc.record({
    type: fc.constant('viewer' as const),
    viewer_id: viewerId,
    full_name: fc.string({ maxLength: 256 }),
    email: fc.string({ minLength: 1, maxLength: 320 }),
    commitment: keyText,
  }),
  fc.record({ type: fc.constant('viewer_left' as const), viewer_id: viewerId }),
  fc.record({ type: fc.constant('joined' as const), viewer_id: viewerId, session_id: sessionId, allow_unencrypted_agent: fc.boolean() }),
  fc.record({
    type: fc.constant('udp_ticket' as const),
    udp_port: fc.integer({ min: 1, max: 65535 }),
    ticket: fc.string({ minLength: 1, maxLength: 256 }),
  }),
  fc.record({ type: fc.constant('status' as const), status: fc.constantFrom(...SESSION_STATUSES) }),
  fc.record({ type: fc.constant('agent_joined' as const), resumed: fc.boolean() }),
  fc.record({ type: fc.constant('key_commit' as const), commitment: keyText }),
  fc.record({ type: fc.constant('agent_key' as const), viewer_id: viewerId, public_key: keyText }),
  fc.record({ type: fc.constant('viewer_key' as const), viewer_id: viewerId, public_key: keyText }),
);

t.test('any valid message round-trips (property)', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(anyMessage, (message) => {
        const parsed = parseSignalMessage(encodeSignalMessage(message));
        return parsed.ok && JSON.stringify(parsed.message) === JSON.stringify(message);
      }),
      { numRuns: 3_000 },
    ),
  );
});

/** The error of a message that must not parse: its code and message. */
const refusal = (text: string | Buffer) => {
  const r = parseSignalMessage(text);
  return r.ok ? { code: 'ok', message: '' } : r.error;
};

t.test('bad fields are BAD_FIELD and name the field', async (t) => {
  const cases: [object, string][] = [
    [{ type: 'status', status: 'gone' }, 'status'],
    [{ type: 'udp_ticket', udp_port: 0, ticket: 't' }, 'udp_port'],
    [{ type: 'udp_ticket', udp_port: 50001 }, 'ticket'],
    [{ type: 'viewer', viewer_id: 1, full_name: 'A', commitment: KEY }, 'email'],
    [{ type: 'viewer', viewer_id: 0, full_name: 'A', email: 'a@b', commitment: KEY }, 'viewer_id'],
    [{ type: 'viewer', viewer_id: 1, full_name: 'A', email: 'a@b', commitment: 'short' }, 'commitment'],
    [{ type: 'viewer_left', viewer_id: MAX_VIEWER_ID + 1 }, 'viewer_id'],
    [{ type: 'viewer_left', viewer_id: 1.5 }, 'viewer_id'],
    [{ type: 'agent_welcome', session_id: 1, resumed: 'no' }, 'resumed'],
    [{ type: 'agent_welcome', session_id: 0, resumed: false }, 'session_id'],
    [{ type: 'agent_welcome', session_id: 1, resumed: false, agent_secret: KEY + 'A' }, 'agent_secret'],
    [{ type: 'agent_welcome', session_id: 1, resumed: true, viewers: 3 }, 'viewers'],
    [{ type: 'agent_welcome', session_id: 1, resumed: true, viewers: null }, 'viewers'],
    [{ type: 'agent_welcome', session_id: 1, resumed: true, viewers: [0] }, 'viewers'],
    [{ type: 'agent_welcome', session_id: 1, resumed: true, viewers: [MAX_VIEWER_ID + 1] }, 'viewers'],
    [{ type: 'agent_welcome', session_id: 1, resumed: true, viewers: [2.5] }, 'viewers'],
    [{ type: 'agent_welcome', session_id: 1, resumed: true, viewers: ['2'] }, 'viewers'],
    [{ type: 'agent_welcome', session_id: 1, resumed: true, viewers: [4, 4] }, 'viewers'],
    [{ type: 'agent_welcome', session_id: 1, resumed: true, viewers: { 0: 1 } }, 'viewers'],
    [{ type: 'joined', viewer_id: 1, session_id: 1 }, 'allow_unencrypted_agent'],
    [{ type: 'joined', viewer_id: 1, session_id: 1, allow_unencrypted_agent: 1 }, 'allow_unencrypted_agent'],
    [{ type: 'joined', viewer_id: '1', session_id: 1, allow_unencrypted_agent: true }, 'viewer_id'],
    [{ type: 'joined', viewer_id: 1, session_id: -3, allow_unencrypted_agent: true }, 'session_id'],
    [{ type: 'agent_joined' }, 'resumed'],
    [{ type: 'key_commit' }, 'commitment'],
    [{ type: 'key_commit', commitment: KEY.slice(1) }, 'commitment'],
    [{ type: 'key_commit', commitment: KEY + 'A' }, 'commitment'],
    [{ type: 'agent_key', viewer_id: 2, public_key: 42 }, 'public_key'],
    [{ type: 'agent_key', public_key: KEY }, 'viewer_id'],
    [{ type: 'viewer_key', viewer_id: 2, public_key: KEY.slice(0, 42) }, 'public_key'],
    [{ type: 'viewer_key', viewer_id: 2, public_key: `${KEY}==` }, 'public_key'],
    [{ type: 'viewer_key', viewer_id: 2, public_key: `${KEY.slice(0, 42)}=` }, 'public_key'],
    [{ type: 'key_commit', commitment: `+${KEY.slice(1)}` }, 'commitment'],
  ];
  for (const [message, field] of cases) {
    const text = JSON.stringify(message);
    const error = refusal(text);
    t.equal(error.code, 'BAD_FIELD', text);
    t.match(error.message, `"${field}"`, `${text} names "${field}"`);
  }
});

t.test("agent_welcome's viewers: as many ids as a session may have viewers, no more", async (t) => {
  t.ok(MAX_VIEWERS_LIMIT <= MAX_WELCOME_VIEWERS, 'every viewer --max-viewers allows can be listed');
  const most = Array.from({ length: MAX_WELCOME_VIEWERS }, (_, i) => MAX_VIEWER_ID - i);
  const text = Signal.agentWelcome(Number.MAX_SAFE_INTEGER, true, undefined, most);
  t.ok(Buffer.byteLength(text) <= MAX_SIGNAL_MESSAGE_BYTES, 'the longest list fits in one signalling message');
  t.same(parseSignalMessage(text), {
    ok: true,
    message: { type: 'agent_welcome', session_id: Number.MAX_SAFE_INTEGER, resumed: true, viewers: most },
  });
  const tooMany = JSON.stringify({ type: 'agent_welcome', session_id: 1, resumed: true, viewers: [...most.map((id) => id - 1000), 1] });
  t.equal(refusal(tooMany).code, 'BAD_FIELD', `${MAX_WELCOME_VIEWERS + 1} ids are refused`);
  t.same(
    parseSignalMessage('{"type":"agent_welcome","session_id":5,"resumed":true}'),
    {
      ok: true,
      message: { type: 'agent_welcome', session_id: 5, resumed: true },
    },
    'absent (an older broker): no list, not an empty one',
  );
});

t.test('keys and commitments must be exactly 43 characters of base64url (property)', async (t) => {
  // Wrong length, or the right length with a character outside base64url (padding, +, /, spaces...).
  const wrongLength = fc.string({ maxLength: 100 }).filter((s) => s.length !== KEY_TEXT_CHARS);
  const wrongAlphabet = fc
    .tuple(keyText, fc.nat({ max: 42 }), fc.constantFrom('=', '+', '/', ' ', '.', 'é', '\u0000'))
    .map(([key, at, bad]) => key.slice(0, at) + bad + key.slice(at + 1));
  const notAKey = fc.oneof(wrongLength, wrongAlphabet);
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(notAKey, viewerId, (text, id) => {
        const commit = refusal(JSON.stringify({ type: 'key_commit', commitment: text }));
        const agentKey = refusal(JSON.stringify({ type: 'agent_key', viewer_id: id, public_key: text }));
        const viewerKey = refusal(JSON.stringify({ type: 'viewer_key', viewer_id: id, public_key: text }));
        return (
          commit.code === 'BAD_FIELD' &&
          /"commitment"/.test(commit.message) &&
          agentKey.code === 'BAD_FIELD' &&
          /"public_key"/.test(agentKey.message) &&
          viewerKey.code === 'BAD_FIELD'
        );
      }),
      { numRuns: 2_000 },
    ),
  );
});

t.test('parse errors that are not about a field', async (t) => {
  const unknown = parseSignalMessage('{"type":"chat","text":"hi"}');
  t.match(unknown, { ok: false, type: 'chat', error: { code: 'UNKNOWN_TYPE' } });
  const code = (text: string | Buffer) => refusal(text).code;
  t.equal(code(''), 'EMPTY');
  t.equal(code('ping'), 'BAD_JSON');
  t.equal(code('[]'), 'BAD_JSON');
  t.equal(code('{}'), 'MISSING_TYPE');
  t.equal(code(`{"type":"ping","pad":"${'x'.repeat(9000)}"}`), 'TOO_LARGE');
  t.equal(code(Buffer.from([0x7b, 0xff, 0x7d])), 'BAD_UTF8');
  t.equal(code('{"type":"__proto__"}'), 'UNKNOWN_TYPE');
  t.equal(code('{"type":"toString"}'), 'UNKNOWN_TYPE');
});

t.test('X-Rac-Agent-Shell: the two values an agent sends are read back; anything else is as if absent', async (t) => {
  t.equal(parseAgentShell(agentShellHeader(true)), 'allowed');
  t.equal(parseAgentShell(agentShellHeader(false)), 'not-allowed');
  for (const other of [undefined, '', 'yes', 'Allowed', 'allowed ', ['allowed']]) {
    t.equal(parseAgentShell(other), undefined, `${JSON.stringify(other)}: unknown`);
  }
});
