// Type-7 rectangles and the capabilities message: the decoder never throws and refuses what breaks
// the layout with a typed error, encode → decode round-trips, chunking → shuffling → reassembling
// restores every rectangle's JPEG, and capabilities keep only known encodings.
import t from 'tap';
import fc from 'fast-check';
import { FrameReassembler, type ProtocolErrorCode, decodeDatagram } from '../src/protocol/index.js';
import { encodeCapabilities, parseCapabilities } from '../src/protocol/capabilities.js';
import {
  MAX_RECTS_PER_UPDATE,
  RECT_HEADER_BYTES,
  type RectChunk,
  chunkRects,
  completeRect,
  decodeRectChunk,
  encodeRectChunk,
  rectAsFrameChunk,
} from '../src/protocol/rect-datagram.js';

const CODES: ProtocolErrorCode[] = [
  'EMPTY',
  'BAD_TYPE',
  'TRUNCATED',
  'BAD_FIELD',
  'FRAME_TOO_LARGE',
  'BAD_CHUNK_COUNT',
  'CHUNK_INDEX_OUT_OF_RANGE',
  'CHUNK_TOO_LARGE',
];

const valid: Omit<RectChunk, 'type'> = {
  frameId: 638_000_000_000_000_001n,
  baseFrameId: 638_000_000_000_000_000n,
  rectIndex: 1,
  rectCount: 3,
  x: 64,
  y: 128,
  width: 192,
  height: 64,
  chunkIndex: 0,
  totalChunks: 2,
  totalSize: 1500,
  data: new Uint8Array(1000).fill(7),
};

t.test('a rectangle round-trips, and its header is 37 bytes', async (t) => {
  const datagram = encodeRectChunk(valid);
  t.equal(datagram.length, RECT_HEADER_BYTES + 1000);
  t.equal(datagram[0], 7);
  const decoded = decodeRectChunk(datagram);
  t.ok(decoded.ok);
  if (decoded.ok)
    t.same({ ...decoded.value, data: Buffer.from(decoded.value.data) }, { type: 'rect', ...valid, data: Buffer.from(valid.data) });
});

t.test('broken fields are refused with the right code', async (t) => {
  const cases: [Partial<RectChunk>, ProtocolErrorCode][] = [
    [{ rectCount: 0, rectIndex: 0 }, 'BAD_FIELD'],
    [{ rectCount: MAX_RECTS_PER_UPDATE + 1 }, 'BAD_FIELD'],
    [{ rectIndex: 3 }, 'BAD_FIELD'],
    [{ width: 0 }, 'BAD_FIELD'],
    [{ x: 65_000, width: 600 }, 'BAD_FIELD'],
    [{ totalSize: 0 }, 'FRAME_TOO_LARGE'],
    [{ totalSize: 17 * 1024 * 1024 }, 'FRAME_TOO_LARGE'],
    [{ totalChunks: 0 }, 'BAD_CHUNK_COUNT'],
    [{ chunkIndex: 2 }, 'CHUNK_INDEX_OUT_OF_RANGE'],
    [{ totalSize: 999, totalChunks: 1 }, 'CHUNK_TOO_LARGE'],
  ];
  for (const [change, code] of cases) {
    const decoded = decodeRectChunk(encodeRectChunk({ ...valid, ...change }));
    t.equal(decoded.ok ? 'ok' : decoded.error.code, code, JSON.stringify(change));
  }
  const short = decodeRectChunk(encodeRectChunk(valid).subarray(0, RECT_HEADER_BYTES));
  t.equal(short.ok ? 'ok' : short.error.code, 'TRUNCATED', 'a header without JPEG bytes');
  const other = decodeRectChunk(Buffer.from([1, 2, 3]));
  t.equal(other.ok ? 'ok' : other.error.code, 'BAD_TYPE');
  t.equal((decodeRectChunk(Buffer.alloc(0)) as { error: { code: string } }).error.code, 'EMPTY');
  const general = decodeDatagram(encodeRectChunk(valid));
  t.notOk(general.ok, 'decodeDatagram does not take type 7: only a sealed datagram carries it, opened by the viewer');
});

t.test('the decoder never throws, and says why it refuses', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
      const decoded = decodeRectChunk(Buffer.from(bytes));
      return decoded.ok || CODES.includes(decoded.error.code);
    }),
    { numRuns: 3000 },
  );
  // Mutations of a valid datagram: a type-7 byte first, then anything.
  fc.assert(
    fc.property(fc.uint8Array({ minLength: RECT_HEADER_BYTES - 1, maxLength: 80 }), (bytes) => {
      const datagram = Buffer.from(bytes);
      datagram[0] = 7;
      const decoded = decodeRectChunk(datagram);
      if (!decoded.ok) return CODES.includes(decoded.error.code);
      const c = decoded.value;
      return c.rectIndex < c.rectCount && c.chunkIndex < c.totalChunks && c.width > 0 && c.height > 0 && c.data.byteLength <= c.totalSize;
    }),
    { numRuns: 3000 },
  );
  t.pass('3000 random and 3000 type-7 datagrams decoded or refused with a known code');
});

t.test('chunked rectangles, shuffled, reassemble to their JPEGs and places', async (t) => {
  const rect = fc.record({
    x: fc.integer({ min: 0, max: 3000 }),
    y: fc.integer({ min: 0, max: 3000 }),
    width: fc.integer({ min: 1, max: 512 }),
    height: fc.integer({ min: 1, max: 512 }),
    jpeg: fc.uint8Array({ minLength: 1, maxLength: 5000 }),
  });
  fc.assert(
    fc.property(fc.array(rect, { minLength: 1, maxLength: 8 }), fc.integer({ min: 40, max: 1200 }), fc.nat(), (rects, size, seed) => {
      const datagrams = chunkRects(rects, 900n, 800n, size);
      if (!datagrams.every((d) => d.length <= size)) return false;
      const shuffled = [...datagrams].sort(
        (a, b) => ((a.readUInt32LE(29) * 7919 + seed) % 101) - ((b.readUInt32LE(29) * 7919 + seed) % 101),
      );
      const assemblers = new Map<number, FrameReassembler>();
      const done = new Map<number, ReturnType<typeof completeRect>>();
      for (const datagram of shuffled) {
        const decoded = decodeRectChunk(datagram);
        if (!decoded.ok) return false;
        // One reassembler per rectangle here: the viewer's single one treats a later rectangle as newer.
        const assembler = assemblers.get(decoded.value.rectIndex) ?? new FrameReassembler();
        assemblers.set(decoded.value.rectIndex, assembler);
        const whole = assembler.push(rectAsFrameChunk(decoded.value));
        if (whole) done.set(decoded.value.rectIndex, completeRect(decoded.value, whole.jpeg));
      }
      return rects.every((r, i) => {
        const got = done.get(i);
        return (
          got &&
          got.x === r.x &&
          got.y === r.y &&
          got.width === r.width &&
          got.rectCount === rects.length &&
          got.baseFrameId === 800n &&
          Buffer.from(r.jpeg).equals(got.jpeg)
        );
      });
    }),
    { numRuns: 200 },
  );
  t.pass('200 random updates');
  t.throws(() => chunkRects([], 1n, 0n, 1200), RangeError, 'an update has at least one rectangle');
  t.throws(() => chunkRects([{ x: 0, y: 0, width: 1, height: 1, jpeg: new Uint8Array(1) }], 1n, 0n, RECT_HEADER_BYTES), RangeError);
});

t.test('capabilities: known encodings only, nothing from a malformed list', async (t) => {
  const datagram = encodeCapabilities(['rect']);
  t.equal(datagram[0], 4);
  const decoded = decodeDatagram(datagram);
  t.ok(
    decoded.ok && decoded.packet.type === 'control' && decoded.packet.message.type === 'unknown',
    'an unknown type to parties that do not know it',
  );
  if (decoded.ok && decoded.packet.type === 'control' && decoded.packet.message.type === 'unknown') {
    t.equal(decoded.packet.message.name, 'capabilities');
    t.same(parseCapabilities(decoded.packet.message.body), ['rect']);
  }
  t.same(parseCapabilities({ encodings: ['zrle', 'rect', 'rect', 5] }), ['rect']);
  t.same(parseCapabilities({ encodings: 'rect' }), []);
  t.same(parseCapabilities({}), []);
  fc.assert(fc.property(fc.jsonValue(), (value) => Array.isArray(parseCapabilities({ encodings: value }))));
});
