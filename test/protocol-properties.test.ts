// Property tests (fast-check): the decoders never throw on arbitrary or mutated input, encoders and
// decoders round-trip, chunk → shuffle → reassemble restores any frame, and the reassembler's
// memory stays under its cap whatever it is fed.
import { isDeepStrictEqual } from 'node:util';
import t from 'tap';
import fc from 'fast-check';
import {
  CONTROL_TYPES,
  type ControlMessage,
  FrameReassembler,
  type Packet,
  type ProtocolErrorCode,
  chunkFrame,
  decodeDatagram,
  encodeControl,
  encodeFrameChunk,
  encodeHandshake,
  encodeKeyboard,
  encodeMouse,
  encodeSealedHeader,
  SIGNAL_TYPES,
  parseSignalMessage,
} from '../src/protocol/index.js';

const CODES: ProtocolErrorCode[] = [
  'EMPTY',
  'TRUNCATED',
  'TRAILING_BYTES',
  'BAD_TYPE',
  'TOO_LARGE',
  'BAD_UTF8',
  'BAD_JSON',
  'MISSING_TYPE',
  'UNKNOWN_TYPE',
  'BAD_FIELD',
  'BAD_CHUNK_COUNT',
  'CHUNK_INDEX_OUT_OF_RANGE',
  'FRAME_TOO_LARGE',
  'CHUNK_TOO_LARGE',
  'NOT_A_HANDSHAKE',
];

/** Every field name some signalling message carries. */
const SIGNAL_FIELDS = [
  'session_id',
  'resumed',
  'agent_secret',
  'viewer_id',
  'full_name',
  'email',
  'commitment',
  'allow_unencrypted_agent',
  'udp_port',
  'ticket',
  'status',
  'public_key',
];

const int32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const shortText = fc.string({ minLength: 1, maxLength: 40 });

const token = fc.string({ minLength: 1, maxLength: 256 });

const controlMessage: fc.Arbitrary<ControlMessage> = fc.oneof(
  fc.constantFrom<ControlMessage>(
    { type: 'keepalive' },
    { type: 'viewer_ready' },
    { type: 'disconnect' },
    { type: 'disconnect', reason: 'shutdown' },
    { type: 'disconnect', reason: 'closed' },
    { type: 'disconnect', reason: 'stopped' },
    { type: 'request_keyframe' },
  ),
  token.map((ticket): ControlMessage => ({ type: 'viewer_hello', ticket })),
  token.map((cookie): ControlMessage => ({ type: 'viewer_ack', cookie })),
  token.map((cookie): ControlMessage => ({ type: 'viewer_confirm', cookie })),
  fc
    .record({ quality: fc.integer({ min: 1, max: 100 }), fps: fc.integer({ min: 1, max: 120 }) })
    .map((q): ControlMessage => ({ type: 'set_quality', ...q })),
  shortText.map((monitor_id): ControlMessage => ({ type: 'select_monitor', monitor_id })),
  fc
    .record({ width: fc.integer({ min: 1, max: 65535 }), height: fc.integer({ min: 1, max: 65535 }) })
    .map((s): ControlMessage => ({ type: 'screen', ...s })),
  // Receive reports and stream settings (stream-feedback.ts).
  fc.constant<ControlMessage>({ type: 'auto_quality' }),
  fc.nat().map((t): ControlMessage => ({ type: 'keepalive', t })),
  fc
    .record({ quality: fc.integer({ min: 1, max: 100 }), fps: fc.integer({ min: 1, max: 120 }), auto: fc.boolean() })
    .map((s): ControlMessage => ({ type: 'stream_settings', ...s })),
  fc
    .record(
      {
        interval_ms: fc.integer({ min: 1, max: 60_000 }),
        frames: fc.integer({ min: 0, max: 100_000 }),
        lost: fc.integer({ min: 0, max: 100_000 }),
        bytes: fc.integer({ min: 0, max: 1_000_000_000 }),
        decode_ms: fc.integer({ min: 0, max: 60_000 }),
        rtt_ms: fc.integer({ min: 0, max: 60_000 }),
        last_frame: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }).map((id) => id.toString()),
      },
      { requiredKeys: ['interval_ms', 'frames', 'lost', 'bytes'] },
    )
    .map((r): ControlMessage => ({ type: 'receive_report', ...r })),
);

const frameChunk = fc
  .record({
    frameId: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    totalSize: fc.integer({ min: 1, max: 5000 }),
    totalChunks: fc.integer({ min: 1, max: 50 }),
    chunkIndexSeed: fc.nat(),
    dataLengthSeed: fc.nat(),
  })
  .filter((r) => r.totalChunks <= r.totalSize)
  .map((r) => ({
    frameId: r.frameId,
    totalChunks: r.totalChunks,
    totalSize: r.totalSize,
    chunkIndex: r.chunkIndexSeed % r.totalChunks,
    data: Buffer.alloc(1 + (r.dataLengthSeed % Math.min(r.totalSize, 1500)), r.dataLengthSeed & 0xff),
  }));

/** A sealed datagram as the relay sees it: any header, at least one byte of ciphertext and the tag. */
const sealedPacket = fc
  .record({
    toAgent: fc.boolean(),
    viewerId: fc.integer({ min: 0, max: 0xffff }),
    epoch: fc.integer({ min: 0, max: 255 }),
    counter: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    body: fc.uint8Array({ minLength: 17, maxLength: 1500 }),
  })
  .map(({ body, ...fields }) => {
    const header = encodeSealedHeader(fields);
    const packet: Packet = { type: 'sealed', ...fields, header, body: Buffer.from(body) };
    return { packet, bytes: Buffer.concat([header, body]) };
  });

/** A valid packet and its encoding. */
const validPacket: fc.Arbitrary<{ packet: Packet; bytes: Buffer }> = fc.oneof(
  frameChunk.map((c) => ({ packet: { type: 'frame_chunk' as const, ...c }, bytes: encodeFrameChunk(c) })),
  fc
    .record({
      x: int32,
      y: int32,
      button: fc.constantFrom(0, 1, 2, 3, 4, 5) as fc.Arbitrary<0 | 1 | 2 | 3 | 4 | 5>,
      state: fc.constantFrom(0, 1) as fc.Arbitrary<0 | 1>,
    })
    .map((m) => ({ packet: { type: 'mouse' as const, ...m }, bytes: encodeMouse(m) })),
  fc
    .record({ vk: fc.integer({ min: 1, max: 0xfe }), state: fc.constantFrom(0, 1) as fc.Arbitrary<0 | 1> })
    .map((k) => ({ packet: { type: 'keyboard' as const, ...k }, bytes: encodeKeyboard(k) })),
  controlMessage.map((message) => ({ packet: { type: 'control' as const, message }, bytes: encodeControl(message) })),
  fc
    .record({
      session_code: shortText,
      screen_width: fc.integer({ min: 1, max: 65535 }),
      screen_height: fc.integer({ min: 1, max: 65535 }),
      timestamp: fc.integer(),
    })
    .map((h) => ({ packet: { type: 'handshake' as const, ...h }, bytes: encodeHandshake(h) })),
  sealedPacket,
);

/** A valid packet with bytes flipped, overwritten, cut or appended. */
const mutatedPacket = fc
  .tuple(
    validPacket,
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
    fc.oneof(fc.constant(undefined), fc.nat()),
    fc.uint8Array({ maxLength: 8 }),
  )
  .map(([{ bytes }, edits, cut, extra]) => {
    let buf = Buffer.from(bytes);
    for (const [at, value] of edits) buf[at % buf.length] = value;
    if (cut !== undefined) buf = buf.subarray(0, cut % (buf.length + 1));
    return Buffer.concat([buf, extra]);
  });

function checkNeverThrows(bytes: Uint8Array): void {
  const r = decodeDatagram(bytes);
  if (r.ok) return;
  if (!CODES.includes(r.error.code) || typeof r.error.message !== 'string' || r.error.message.length === 0) {
    throw new Error(`unexpected error shape ${JSON.stringify(r.error)}`);
  }
}

t.test('decodeDatagram never throws on arbitrary bytes', async (t) => {
  const typed = fc
    .tuple(fc.constantFrom(1, 2, 3, 4, 5, 6, 0x7b), fc.uint8Array({ maxLength: 64 }))
    .map(([first, rest]) => Uint8Array.from([first, ...rest]));
  t.doesNotThrow(() => fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), checkNeverThrows), { numRuns: 20_000 }));
  t.doesNotThrow(() => fc.assert(fc.property(typed, checkNeverThrows), { numRuns: 20_000 }));
  const jsonish = fc.oneof(fc.json(), fc.string()).map((s) => Buffer.from(s.startsWith('{') ? s : `{${s}`));
  t.doesNotThrow(() => fc.assert(fc.property(jsonish, checkNeverThrows), { numRuns: 5_000 }));
});

t.test('decodeDatagram never throws on mutated valid packets; what decodes re-encodes to the same bytes', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(mutatedPacket, (bytes) => {
        checkNeverThrows(bytes);
        const r = decodeDatagram(bytes);
        if (!r.ok) return;
        const p = r.packet;
        // Binary types have one encoding: a mutant that still decodes must be exactly that encoding.
        if (p.type === 'mouse') return Buffer.from(encodeMouse(p)).equals(bytes);
        if (p.type === 'keyboard') return Buffer.from(encodeKeyboard(p)).equals(bytes);
        if (p.type === 'frame_chunk') return encodeFrameChunk(p).equals(bytes);
        if (p.type === 'sealed') return Buffer.concat([encodeSealedHeader(p), p.body]).equals(bytes);
        return true;
      }),
      { numRuns: 30_000 },
    ),
  );
});

/** Byte views as plain Buffers, so a decoded view and an encoded Buffer compare equal. */
function comparable(packet: Packet): Packet {
  if (packet.type === 'frame_chunk') return { ...packet, data: Buffer.from(packet.data) };
  if (packet.type === 'sealed') return { ...packet, header: Buffer.from(packet.header), body: Buffer.from(packet.body) };
  return packet;
}

t.test('sealed datagrams below header + tag + one byte are TRUNCATED, from 29 bytes they decode', async (t) => {
  const shortSealed = fc
    .tuple(fc.constantFrom(5, 6), fc.uint8Array({ maxLength: 27 }))
    .map(([type, rest]) => Uint8Array.from([type, ...rest]));
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(shortSealed, (bytes) => {
        const r = decodeDatagram(bytes);
        return !r.ok && r.error.code === 'TRUNCATED';
      }),
      { numRuns: 2_000 },
    ),
  );
  const longSealed = fc
    .tuple(fc.constantFrom(5, 6), fc.uint8Array({ minLength: 28, maxLength: 2000 }))
    .map(([type, rest]) => Uint8Array.from([type, ...rest]));
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(longSealed, (bytes) => {
        const r = decodeDatagram(bytes);
        return (
          r.ok && r.packet.type === 'sealed' && r.packet.toAgent === (bytes[0] === 6) && r.packet.body.byteLength === bytes.length - 12
        );
      }),
      { numRuns: 2_000 },
    ),
  );
});

t.test('every valid packet round-trips', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(validPacket, ({ packet, bytes }) => {
        const r = decodeDatagram(bytes);
        if (!r.ok) throw new Error(`${JSON.stringify(r.error)} for ${packet.type}`);
        return isDeepStrictEqual(comparable(r.packet), comparable(packet));
      }),
      { numRuns: 2_000 },
    ),
  );
  t.equal(CONTROL_TYPES.length, 13);
});

t.test('parseSignalMessage never throws', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify({ type: 'status', status: v })),
          // Every known type with any mix of its fields, of any JSON value.
          fc
            .tuple(
              fc.constantFrom(...SIGNAL_TYPES),
              fc.dictionary(fc.constantFrom(...SIGNAL_FIELDS), fc.jsonValue(), { maxKeys: SIGNAL_FIELDS.length }),
            )
            .map(([type, fields]) => JSON.stringify({ ...fields, type })),
        ),
        (text) => {
          const r = parseSignalMessage(text);
          return r.ok || CODES.includes(r.error.code);
        },
      ),
      { numRuns: 10_000 },
    ),
  );
});

t.test('chunk → shuffle/duplicate → reassemble gives the original for any size and datagram size', async (t) => {
  const scenario = fc
    .record({
      size: fc.integer({ min: 1, max: 300_000 }),
      datagram: fc.integer({ min: 22, max: 65507 }),
      seed: fc.integer(),
      frameId: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
    })
    .filter((s) => Math.ceil(s.size / (s.datagram - 21)) <= 65536 && Math.ceil(s.size / (s.datagram - 21)) <= 4000);
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(scenario, fc.context(), ({ size, datagram, seed, frameId }, ctx) => {
        const jpeg = Buffer.alloc(size);
        for (let i = 0; i < size; i++) jpeg[i] = (i * 31 + seed) & 0xff;
        const datagrams = chunkFrame(jpeg, frameId, { maxDatagramBytes: datagram });
        if (datagrams.some((d) => d.length > datagram)) throw new Error('datagram over the cap');
        // Deterministic shuffle with duplicates from the seed.
        const order = [...datagrams, ...datagrams.filter((_, i) => (i + seed) % 7 === 0)];
        let x = seed >>> 0;
        for (let i = order.length - 1; i > 0; i--) {
          x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
          const j = x % (i + 1);
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        const r = new FrameReassembler({ now: () => 0 });
        const frames = [];
        for (const d of order) {
          const decoded = decodeDatagram(d);
          if (!decoded.ok || decoded.packet.type !== 'frame_chunk') throw new Error('chunk did not decode');
          const f = r.push(decoded.packet);
          if (f) frames.push(f);
        }
        ctx.log(`${size} bytes in ${datagrams.length} datagrams`);
        return frames.length === 1 && frames[0]!.frameId === frameId && frames[0]!.jpeg.equals(jpeg) && r.bufferedBytes === 0;
      }),
      { numRuns: 300 },
    ),
  );
});

t.test('reassembler memory stays under its cap under random input', async (t) => {
  const cap = 256 * 1024;
  const op = fc.oneof(
    {
      weight: 8,
      arbitrary: frameChunk.map((c) => ({ kind: 'chunk' as const, chunk: { ...c, frameId: BigInt.asIntN(64, c.frameId % 40n) } })),
    },
    {
      weight: 4,
      arbitrary: fc
        .record({
          frameId: fc.bigInt({ min: 0n, max: 40n }),
          totalChunks: fc.integer({ min: 1, max: 300 }),
          idx: fc.nat(),
          len: fc.integer({ min: 1, max: 1500 }),
        })
        .map((r) => ({
          kind: 'chunk' as const,
          chunk: {
            frameId: r.frameId,
            totalChunks: r.totalChunks,
            totalSize: r.totalChunks * 1500,
            chunkIndex: r.idx % r.totalChunks,
            data: Buffer.alloc(r.len),
          },
        })),
    },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 3000 }).map((ms) => ({ kind: 'tick' as const, ms })) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 60_000 }).map((size) => ({ kind: 'frame' as const, size })) },
    {
      weight: 1,
      arbitrary: fc
        .record({ frameId: fc.bigInt({ min: 0n, max: 2000n }), count: fc.integer({ min: 1, max: 149 }) })
        .map((b) => ({ kind: 'burst' as const, ...b })),
    },
  );
  const seen = { memory: 0, tooMany: 0, completed: 0, maxBuffered: 0 };
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(
        fc.array(op, { minLength: 20, maxLength: 600, size: 'max' }),
        fc.integer({ min: 1, max: 16 }),
        (ops, maxPendingFrames) => {
          let now = 0;
          let nextId = 1000n;
          const r = new FrameReassembler({ now: () => now, maxBufferedBytes: cap, maxPendingFrames, timeoutMs: 1000 });
          for (const o of ops) {
            if (o.kind === 'tick') now += o.ms;
            else if (o.kind === 'chunk') r.push(o.chunk);
            else if (o.kind === 'burst') {
              // Most of a big frame that never completes.
              for (let i = 0; i < o.count; i++) {
                r.push({ frameId: o.frameId, chunkIndex: i, totalChunks: 150, totalSize: 150 * 1400, data: Buffer.alloc(1400) });
              }
            } else {
              // A real frame: its chunks interleave with the noise that follows by being pushed now.
              for (const d of chunkFrame(Buffer.alloc(o.size, 1), nextId++)) {
                const decoded = decodeDatagram(d);
                if (decoded.ok && decoded.packet.type === 'frame_chunk') r.push(decoded.packet);
              }
            }
            seen.maxBuffered = Math.max(seen.maxBuffered, r.bufferedBytes);
            const s = r.stats;
            if (r.bufferedBytes > cap || r.bufferedBytes < 0) throw new Error(`buffered ${r.bufferedBytes}`);
            if (s.pendingFrames > maxPendingFrames) throw new Error(`pending ${s.pendingFrames}`);
            if (s.pendingFrames === 0 && r.bufferedBytes !== 0) throw new Error('bytes accounted with no frame open');
          }
          seen.memory += r.stats.framesDropped.memory;
          seen.tooMany += r.stats.framesDropped.too_many_frames;
          seen.completed += r.stats.framesCompleted;
          now += 5000;
          r.expire();
          return r.bufferedBytes === 0 && r.stats.pendingFrames === 0;
        },
      ),
      { numRuns: 300 },
    ),
  );
  // The random input really did push against both caps and still let frames through.
  t.ok(seen.memory > 0, `memory evictions: ${seen.memory}`);
  t.ok(seen.tooMany > 0, `open-frame evictions: ${seen.tooMany}`);
  t.ok(seen.completed > 0, `frames completed: ${seen.completed}`);
  t.ok(seen.maxBuffered > cap / 2, `peak buffered ${seen.maxBuffered} of ${cap}`);
});
