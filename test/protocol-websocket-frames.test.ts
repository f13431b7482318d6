// WebSocket frames (src/protocol/websocket-frames.ts), as the broker's tunnel pipe reads them: any
// sequence of frames, masked with any key and cut into chunks anywhere, reads back as the same
// frames; every header RFC 6455 forbids ends the stream with its close code; headers and close
// payloads are written as RFC 6455 lays them out.
import t from 'tap';
import fc from 'fast-check';
import {
  MAX_CONTROL_PAYLOAD,
  WsCloseCode,
  type WsFrame,
  WsFrameReader,
  WsOpcode,
  acceptKeyFor,
  isWebSocketKey,
  parseWsClosePayload,
  wsClosePayload,
  wsFrameHeader,
} from '../src/protocol/websocket-frames.js';

const CLIENT = { maxPayload: 1 << 20, masked: true };

interface Sent {
  opcode: number;
  fin: boolean;
  payload: Buffer;
  mask: Buffer;
}

/** A frame as a client sends it: a masked header with this key, the payload masked with it. */
function clientFrame({ opcode, fin, payload, mask }: Sent): Buffer {
  const header = wsFrameHeader(opcode, fin, payload.length, true);
  mask.copy(header, header.length - 4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i & 3]!));
  return Buffer.concat([header, masked]);
}

/** Cuts `bytes` at the given points (fractions of its length). */
function cut(bytes: Buffer, points: number[]): Buffer[] {
  const at = [...new Set(points.map((p) => Math.floor(p * bytes.length)))].sort((a, b) => a - b);
  return [0, ...at].map((from, i) => bytes.subarray(from, at[i] ?? bytes.length)).filter((c) => c.length > 0);
}

function readAll(reader: WsFrameReader, chunks: Buffer[]) {
  const frames: WsFrame[] = [];
  for (const chunk of chunks) {
    const result = reader.push(Buffer.from(chunk));
    frames.push(...result.frames);
    if (result.error) return { frames, error: result.error };
  }
  return { frames, error: undefined };
}

const anyMask = fc.oneof(
  fc.constant(Buffer.alloc(4)),
  fc.uint8Array({ minLength: 4, maxLength: 4 }).map((a) => Buffer.from(a)),
);
const anyPayload = fc
  .oneof(fc.uint8Array({ maxLength: 130 }), fc.uint8Array({ minLength: 60_000, maxLength: 70_000 }))
  .map((a) => Buffer.from(a));

/** A message: one binary frame, or fragments (binary or text) with pings between them. */
const anyMessage = fc
  .record({ binary: fc.boolean(), parts: fc.array(fc.tuple(anyPayload, anyMask), { minLength: 1, maxLength: 3 }), ping: fc.boolean() })
  .map(({ binary, parts, ping }) =>
    parts.flatMap(([payload, mask], i): Sent[] => {
      const opcode = i === 0 ? (binary ? WsOpcode.BINARY : WsOpcode.TEXT) : WsOpcode.CONTINUATION;
      const frame = { opcode, fin: i === parts.length - 1, payload, mask };
      return ping && i > 0 ? [{ opcode: WsOpcode.PING, fin: true, payload: Buffer.from('p'), mask }, frame] : [frame];
    }),
  );

t.test('any frames, any masks, cut anywhere: read back whole, in order, unmasked', async (t) => {
  fc.assert(
    fc.property(
      fc.array(anyMessage, { minLength: 1, maxLength: 4 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true })),
      (messages, points) => {
        const sent = messages.flat();
        const { frames, error } = readAll(new WsFrameReader(CLIENT), cut(Buffer.concat(sent.map(clientFrame)), points));
        t.equal(error, undefined);
        t.equal(frames.length, sent.length);
        frames.forEach((frame, i) => {
          const want = sent[i]!;
          t.equal(frame.opcode, want.opcode);
          t.equal(frame.fin, want.fin);
          t.equal(frame.length, want.payload.length);
          t.ok(Buffer.concat(frame.payload).equals(want.payload));
        });
      },
    ),
    { numRuns: 60 },
  );
});

t.test('a fragmented message keeps its kind, and only its first frame starts it', async (t) => {
  const mask = Buffer.from([1, 2, 3, 4]);
  const bytes = Buffer.concat(
    [
      { opcode: WsOpcode.BINARY, fin: false, payload: Buffer.from('ab'), mask },
      { opcode: WsOpcode.CONTINUATION, fin: true, payload: Buffer.from('cd'), mask },
      { opcode: WsOpcode.TEXT, fin: false, payload: Buffer.from('{"'), mask },
      { opcode: WsOpcode.CONTINUATION, fin: true, payload: Buffer.from('}'), mask },
    ].map(clientFrame),
  );
  const { frames } = readAll(new WsFrameReader(CLIENT), [bytes]);
  t.same(
    frames.map(({ binary, first, fin }) => ({ binary, first, fin })),
    [
      { binary: true, first: true, fin: false },
      { binary: true, first: false, fin: true },
      { binary: false, first: true, fin: false },
      { binary: false, first: false, fin: true },
    ],
  );
});

t.test('the payload comes as slices of the chunks pushed, not copies', async (t) => {
  const frame = clientFrame({ opcode: WsOpcode.BINARY, fin: true, payload: Buffer.alloc(1000, 7), mask: Buffer.alloc(4) });
  const chunk = Buffer.from(frame);
  const { frames } = new WsFrameReader(CLIENT).push(chunk);
  t.equal(frames[0]!.payload[0]!.buffer, chunk.buffer, 'a view of the pushed chunk');
});

t.test('each header RFC 6455 forbids ends the stream with its close code, and nothing after it is read', async (t) => {
  const mask = Buffer.from([9, 9, 9, 9]);
  const data = (opcode: number, fin = true, payload = Buffer.from('x')) => clientFrame({ opcode, fin, payload, mask });
  const cases: [string, Buffer, number][] = [
    ['an unmasked client frame', Buffer.concat([wsFrameHeader(WsOpcode.BINARY, true, 1), Buffer.from('x')]), WsCloseCode.PROTOCOL_ERROR],
    ['reserved bits set', Buffer.from(data(WsOpcode.BINARY).map((b, i) => (i === 0 ? b | 0x40 : b))), WsCloseCode.PROTOCOL_ERROR],
    ['an unknown data opcode', data(0x3), WsCloseCode.PROTOCOL_ERROR],
    ['an unknown control opcode', data(0xb), WsCloseCode.PROTOCOL_ERROR],
    ['a fragmented ping', data(WsOpcode.PING, false), WsCloseCode.PROTOCOL_ERROR],
    ['a 126-byte ping', data(WsOpcode.PING, true, Buffer.alloc(MAX_CONTROL_PAYLOAD + 1)), WsCloseCode.PROTOCOL_ERROR],
    ['a continuation with no message under way', data(WsOpcode.CONTINUATION), WsCloseCode.PROTOCOL_ERROR],
    [
      'a new message inside a fragmented one',
      Buffer.concat([data(WsOpcode.BINARY, false), data(WsOpcode.BINARY)]),
      WsCloseCode.PROTOCOL_ERROR,
    ],
  ];
  for (const [what, bytes, closeCode] of cases) {
    const reader = new WsFrameReader(CLIENT);
    const { error } = reader.push(bytes);
    t.equal(error?.closeCode, closeCode, what);
    t.same(reader.push(data(WsOpcode.BINARY)), { frames: [], error }, `${what}: nothing read after it`);
  }
});

t.test('a frame over the size limit is refused from its header alone (1009), 2^63 bytes too', async (t) => {
  const reader = new WsFrameReader({ maxPayload: 1000, masked: true });
  t.match(reader.push(wsFrameHeader(WsOpcode.BINARY, true, 1001, true)).error, { closeCode: WsCloseCode.TOO_BIG, message: /1001 bytes/ });
  const huge = Buffer.from([0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
  t.equal(new WsFrameReader(CLIENT).push(huge).error?.closeCode, WsCloseCode.TOO_BIG);
});

t.test('headers use the shortest length form; a server-side reader reads them back', async (t) => {
  for (const length of [0, 125, 126, 65_535, 65_536, 1 << 20]) {
    const header = wsFrameHeader(WsOpcode.BINARY, true, length);
    t.equal(header.length, length < 126 ? 2 : length < 65_536 ? 4 : 10, `${length} bytes: a ${header.length}-byte header`);
    const { frames, error } = new WsFrameReader({ maxPayload: 1 << 20, masked: false }).push(Buffer.concat([header, Buffer.alloc(length)]));
    t.equal(error, undefined);
    t.equal(frames[0]?.length, length);
  }
  t.equal(wsFrameHeader(WsOpcode.PING, false, 0)[0], WsOpcode.PING, 'FIN clear when not the last fragment');
  t.same([...wsFrameHeader(WsOpcode.BINARY, true, 300, true)], [0x82, 0x80 | 126, 1, 44, 0, 0, 0, 0], 'masked: the bit and a zero key');
});

t.test('close payloads: the code, then a reason cut to 123 bytes on a character boundary', async (t) => {
  t.same(parseWsClosePayload(wsClosePayload(4403, 'Forbidden')), { code: 4403, reason: 'Forbidden' });
  const long = wsClosePayload(1000, 'é'.repeat(100));
  t.ok(long.length <= MAX_CONTROL_PAYLOAD, 'fits a control frame');
  t.equal(parseWsClosePayload(long).reason, 'é'.repeat(61), 'whole characters only');
  t.same(parseWsClosePayload(Buffer.alloc(0)), { code: 1005, reason: '' }, 'no code given: 1005');
});

t.test('the handshake: the accept key of RFC 6455 section 1.3, and what a key must look like', async (t) => {
  t.equal(acceptKeyFor('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  t.ok(isWebSocketKey('dGhlIHNhbXBsZSBub25jZQ=='));
  t.notOk(isWebSocketKey('short=='), 'not 16 bytes');
  t.notOk(isWebSocketKey(undefined), 'missing');
});
