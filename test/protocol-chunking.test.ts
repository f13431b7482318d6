// The chunker, .NET tick frame ids and the reassembler: exact chunk boundaries for both chunk
// sizes (ours and the reference's), and every drop/ignore rule of the reassembler with an injected clock.
import t from 'tap';
import {
  CHUNK_OVERHEAD_BYTES,
  DEFAULT_MAX_DATAGRAM_BYTES,
  FRAME_CHUNK_HEADER_BYTES,
  FRAME_OVERHEAD_BYTES,
  FrameIdGenerator,
  FrameReassembler,
  type FrameChunk,
  REFERENCE_CHUNK_PAYLOAD_BYTES,
  UNIX_EPOCH_TICKS,
  chunkFrame,
  chunkPayloadBytes,
  decodeDatagram,
  dotnetTicks,
  ticksFromUnixMs,
  unixMsFromTicks,
} from '../src/protocol/index.js';

const jpegOf = (size: number, seed = 1): Buffer => {
  const buf = Buffer.allocUnsafe(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    buf[i] = x >>> 16;
  }
  return buf;
};

const decodeChunk = (datagram: Buffer): FrameChunk => {
  const r = decodeDatagram(datagram);
  if (!r.ok || r.packet.type !== 'frame_chunk') throw new Error(`not a chunk: ${JSON.stringify(r)}`);
  return r.packet;
};

t.test('.NET ticks', async (t) => {
  t.equal(UNIX_EPOCH_TICKS, 621355968000000000n, 'DateTime.UnixEpoch.Ticks');
  t.equal(ticksFromUnixMs(0), UNIX_EPOCH_TICKS);
  // new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks
  t.equal(ticksFromUnixMs(Date.UTC(2025, 0, 1)), 638712864000000000n);
  t.equal(ticksFromUnixMs(1.5), UNIX_EPOCH_TICKS + 15000n, 'sub-millisecond precision');
  t.equal(unixMsFromTicks(638712864000000000n), Date.UTC(2025, 0, 1));
  t.equal(unixMsFromTicks(UNIX_EPOCH_TICKS + 15000n), 1.5);
  const date = new Date(Date.UTC(2025, 6, 1, 12));
  t.equal(dotnetTicks(date, 'utc'), ticksFromUnixMs(date.getTime()));
  t.equal(
    dotnetTicks(date, 'local') - dotnetTicks(date, 'utc'),
    -BigInt(date.getTimezoneOffset()) * 600_000_000n,
    'local ticks are UTC ticks shifted by the zone offset',
  );
});

t.test('FrameIdGenerator is strictly increasing even when the clock stalls or goes back', async (t) => {
  const times = [1000, 1000, 1000, 999, 1000.5, 2000];
  const gen = new FrameIdGenerator(() => times.shift()!);
  const ids = Array.from({ length: 6 }, () => gen.next());
  const base = ticksFromUnixMs(1000);
  t.same(ids, [base, base + 1n, base + 2n, base + 3n, base + 5000n, ticksFromUnixMs(2000)]);
});

t.test('chunk sizes: datagram cap vs reference payload', async (t) => {
  t.equal(chunkPayloadBytes(), DEFAULT_MAX_DATAGRAM_BYTES - FRAME_CHUNK_HEADER_BYTES);
  t.equal(chunkPayloadBytes({ payloadBytes: REFERENCE_CHUNK_PAYLOAD_BYTES }), 60000);
  t.equal(chunkPayloadBytes({ maxDatagramBytes: 22 }), 1);
  t.throws(() => chunkPayloadBytes({ maxDatagramBytes: 21 }), RangeError);
  t.throws(() => chunkPayloadBytes({ payloadBytes: 65487 }), RangeError);
  t.throws(() => chunkPayloadBytes({ payloadBytes: 0 }), RangeError);
  t.throws(() => chunkFrame(Buffer.alloc(0), 1n), RangeError);

  const jpeg = jpegOf(150_000);
  const ours = chunkFrame(jpeg, 7n);
  t.equal(ours.length, Math.ceil(150_000 / 1179));
  t.ok(
    ours.every((d) => d.length <= 1200),
    'no datagram over 1200 bytes',
  );
  const reference = chunkFrame(jpeg, 7n, { payloadBytes: 60000 });
  t.same(
    reference.map((d) => d.length),
    [60021, 60021, 30021],
    '60000-byte chunks, the last one short',
  );
  const chunks = reference.map(decodeChunk);
  t.same(
    chunks.map((c) => [c.chunkIndex, c.totalChunks, c.totalSize]),
    [
      [0, 3, 150000],
      [1, 3, 150000],
      [2, 3, 150000],
    ],
  );
  t.same(Buffer.concat(chunks.map((c) => c.data)), jpeg);
});

t.test('reassembles a 150 KB frame from shuffled, duplicated chunks', async (t) => {
  const jpeg = jpegOf(150_000, 3);
  const chunks = chunkFrame(jpeg, 42n).map(decodeChunk);
  const shuffled = [...chunks].reverse();
  shuffled.splice(10, 0, chunks[5]!, chunks[5]!);
  const r = new FrameReassembler({ now: () => 0 });
  const out = shuffled.map((c) => r.push(c)).filter((f) => f !== undefined);
  t.equal(out.length, 1);
  t.equal(out[0]!.frameId, 42n);
  t.same(out[0]!.jpeg, jpeg);
  t.equal(r.stats.chunksIgnored.duplicate, 2);
  t.equal(r.stats.framesCompleted, 1);
  t.equal(r.bufferedBytes, 0, 'nothing held after completion');
  t.equal(r.push(chunks[0]!), undefined, 'a late chunk of a delivered frame');
  t.equal(r.stats.chunksIgnored.stale, 1);
});

t.test('a newer complete frame supersedes older partial ones; older frames are ignored after', async (t) => {
  const r = new FrameReassembler({ now: () => 0 });
  const old = chunkFrame(jpegOf(5000, 1), 100n).map(decodeChunk);
  const newer = chunkFrame(jpegOf(3000, 2), 200n).map(decodeChunk);
  r.push(old[0]!);
  r.push(old[1]!);
  t.equal(r.stats.pendingFrames, 1);
  let frame;
  for (const c of newer) frame = r.push(c) ?? frame;
  t.equal(frame?.frameId, 200n);
  t.equal(r.stats.framesDropped.superseded, 1);
  t.equal(r.stats.pendingFrames, 0);
  t.equal(r.bufferedBytes, 0);
  for (const c of old.slice(2)) t.equal(r.push(c), undefined);
  t.equal(r.stats.chunksIgnored.stale, old.length - 2);
});

t.test('timeout drops an incomplete frame and its late chunks are ignored', async (t) => {
  let now = 0;
  const r = new FrameReassembler({ now: () => now, timeoutMs: 500 });
  const chunks = chunkFrame(jpegOf(4000), 1n).map(decodeChunk);
  r.push(chunks[0]!);
  now = 400;
  t.equal(r.expire(), 0);
  now = 501;
  t.equal(r.expire(), 1);
  t.equal(r.stats.framesDropped.timeout, 1);
  t.equal(r.bufferedBytes, 0);
  for (const c of chunks.slice(1)) t.equal(r.push(c), undefined);
  t.equal(r.stats.chunksIgnored.dropped_frame, chunks.length - 1);
  // push() expires on its own, without an expire() call.
  const other = chunkFrame(jpegOf(4000), 2n).map(decodeChunk);
  r.push(other[0]!);
  now = 1100;
  t.equal(r.stats.pendingFrames, 1);
  r.push({ frameId: 3n, chunkIndex: 0, totalChunks: 2, totalSize: 2, data: Buffer.alloc(1) });
  t.equal(r.stats.framesDropped.timeout, 2);
  t.equal(r.stats.pendingFrames, 1, 'only frame 3 is open');
});

t.test('inconsistent chunks drop the frame', async (t) => {
  const r = new FrameReassembler({ now: () => 0 });
  const a = chunkFrame(jpegOf(3000), 5n).map(decodeChunk);
  const b = chunkFrame(jpegOf(4000), 5n).map(decodeChunk); // same id, other size
  r.push(a[0]!);
  t.equal(r.push(b[1]!), undefined);
  t.equal(r.stats.framesDropped.inconsistent, 1);
  t.equal(r.stats.pendingFrames, 0);
  t.equal(r.push(a[1]!), undefined);
  t.equal(r.stats.chunksIgnored.dropped_frame, 1);
  // Right total and count but the bytes do not add up.
  const r2 = new FrameReassembler({ now: () => 0 });
  const base = { frameId: 9n, totalChunks: 2, totalSize: 10 };
  r2.push({ ...base, chunkIndex: 0, data: Buffer.alloc(3) });
  t.equal(r2.push({ ...base, chunkIndex: 1, data: Buffer.alloc(3) }), undefined);
  t.equal(r2.stats.framesDropped.inconsistent, 1);
  const r3 = new FrameReassembler({ now: () => 0 });
  r3.push({ ...base, chunkIndex: 0, data: Buffer.alloc(8) });
  r3.push({ ...base, chunkIndex: 1, data: Buffer.alloc(8) });
  t.equal(r3.stats.framesDropped.inconsistent, 1, 'more bytes than the total');
  t.equal(r3.bufferedBytes, 0);
});

t.test('memory cap and open-frame cap evict the oldest frames first', async (t) => {
  const cap = 20_000;
  const r = new FrameReassembler({ now: () => 0, maxBufferedBytes: cap, maxPendingFrames: 100 });
  const frames = [1n, 2n, 3n, 4n].map((id) => chunkFrame(jpegOf(8000), id).map(decodeChunk));
  // Half of each frame: 4 × ~4 KB + overheads exceeds 20 KB, so frame 1 (then 2) must go.
  for (const chunks of frames) for (const c of chunks.slice(0, 4)) r.push(c);
  t.ok(r.bufferedBytes <= cap);
  t.ok(r.stats.framesDropped.memory >= 1);
  t.notOk(r.stats.pendingFrames === 0);
  const r2 = new FrameReassembler({ now: () => 0, maxPendingFrames: 2 });
  r2.push(frames[1]![0]!);
  r2.push(frames[2]![0]!);
  r2.push(frames[3]![0]!); // frame 4 opens, frame 2 (oldest) goes
  t.equal(r2.stats.framesDropped.too_many_frames, 1);
  t.equal(r2.stats.pendingFrames, 2);
  r2.push(frames[0]![0]!); // frame 1 is older than everything open: refused
  t.equal(r2.stats.framesDropped.too_many_frames, 2);
  t.equal(r2.stats.pendingFrames, 2);
  const tooBig = new FrameReassembler({ maxBufferedBytes: 1000 });
  t.equal(tooBig.push({ frameId: 1n, chunkIndex: 0, totalChunks: 2, totalSize: 5000, data: Buffer.alloc(10) }), undefined);
  t.equal(tooBig.stats.chunksIgnored.too_large, 1);
  t.equal(FRAME_OVERHEAD_BYTES > 0 && CHUNK_OVERHEAD_BYTES > 0, true);
});

t.test('a sender whose ids go back is followed after a big jump or a stall', async (t) => {
  let now = 0;
  const r = new FrameReassembler({ now: () => now, timeoutMs: 1000 });
  const one = (id: bigint) => r.push({ frameId: id, chunkIndex: 0, totalChunks: 1, totalSize: 3, data: Buffer.from([1, 2, 3]) });
  const hour = 36_000_000_000n;
  t.equal(one(10n * hour)?.frameId, 10n * hour);
  t.equal(one(9n * hour)?.frameId, 9n * hour, 'an hour back (daylight saving): a restart');
  t.equal(r.stats.streamRestarts, 1);
  t.equal(one(9n * hour - 5n), undefined, 'a little older: stale');
  // A counter-based sender restarting from 1: after a stall, three distinct older frames.
  t.equal(one(100n)?.frameId, 100n, 'a counter far below ticks: another restart');
  t.equal(r.stats.streamRestarts, 2);
  now = 500;
  t.equal(one(1n), undefined, 'no stall yet: stale');
  now = 5000;
  t.equal(one(1n), undefined);
  t.equal(one(1n), undefined, 'the same old frame again is not evidence');
  t.equal(one(2n), undefined);
  t.equal(one(3n)?.frameId, 3n);
  t.equal(r.stats.streamRestarts, 3);
  t.equal(one(4n)?.frameId, 4n);
});

t.test('invalid chunks from other code are ignored, reset forgets state', async (t) => {
  const r = new FrameReassembler({ now: () => 0 });
  t.equal(r.push({ frameId: 1n, chunkIndex: 3, totalChunks: 2, totalSize: 10, data: Buffer.alloc(1) }), undefined);
  t.equal(r.push({ frameId: 1n, chunkIndex: 0, totalChunks: 1, totalSize: 10, data: Buffer.alloc(0) }), undefined);
  t.equal(r.stats.chunksIgnored.invalid, 2);
  r.push({ frameId: 5n, chunkIndex: 0, totalChunks: 1, totalSize: 1, data: Buffer.alloc(1) });
  r.push({ frameId: 6n, chunkIndex: 0, totalChunks: 2, totalSize: 2, data: Buffer.alloc(1) });
  t.equal(r.lastDeliveredFrameId, 5n);
  r.reset();
  t.equal(r.lastDeliveredFrameId, undefined);
  t.equal(r.bufferedBytes, 0);
  t.equal(r.push({ frameId: 2n, chunkIndex: 0, totalChunks: 1, totalSize: 1, data: Buffer.alloc(1) })?.frameId, 2n);
});
