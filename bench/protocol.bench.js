// Reassembly throughput of src/protocol (decodeDatagram + FrameReassembler, with all their checks
// and bookkeeping) next to a naive baseline measured in the same run: read the header without
// checks, collect chunk Buffers in a Map, Buffer.concat when the count is reached.
// Run: npx tsc -p . && node bench/protocol.js   (figures are JPEG megabytes delivered per second)
import { chunkFrame, decodeDatagram, FrameReassembler } from '../dist/protocol/index.js';

const FRAME_BYTES = 300_000; // a typical 1080p desktop JPEG is 200–500 KB
const FRAMES = 200;
const RUNS = 7;

function makeStream(datagramSize) {
  const stream = [];
  const jpeg = Buffer.alloc(FRAME_BYTES);
  for (let i = 0; i < FRAME_BYTES; i++) jpeg[i] = (i * 131) & 0xff;
  for (let f = 0; f < FRAMES; f++) {
    const size = { maxDatagramBytes: datagramSize };
    stream.push(...chunkFrame(jpeg, 638_989_234_567_891_234n + BigInt(f) * 666_666n, size));
  }
  return stream;
}

function ours(stream) {
  const r = new FrameReassembler();
  let bytes = 0;
  for (const d of stream) {
    const decoded = decodeDatagram(d);
    if (!decoded.ok || decoded.packet.type !== 'frame_chunk') continue;
    const frame = r.push(decoded.packet);
    if (frame) bytes += frame.jpeg.length;
  }
  return bytes;
}

function naive(stream) {
  const frames = new Map();
  let bytes = 0;
  for (const d of stream) {
    if (d[0] !== 1) continue;
    const id = d.readBigInt64LE(1);
    const index = d.readInt32LE(9);
    const total = d.readInt32LE(13);
    let parts = frames.get(id);
    if (!parts) frames.set(id, (parts = { chunks: new Array(total), count: 0 }));
    if (parts.chunks[index] === undefined) {
      parts.chunks[index] = d.subarray(21);
      parts.count++;
    }
    if (parts.count === total) {
      bytes += Buffer.concat(parts.chunks).length;
      frames.delete(id);
    }
  }
  return bytes;
}

function once(fn, stream) {
  const start = process.hrtime.bigint();
  const bytes = fn(stream);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (bytes !== FRAMES * FRAME_BYTES) throw new Error(`${fn.name} delivered ${bytes} bytes`);
  return bytes / 1e6 / seconds;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Runs the two alternately so machine load and GC hit both alike; medians in MB/s. */
function measure(stream) {
  const a = [];
  const b = [];
  for (let run = 0; run < RUNS; run++) {
    a.push(once(ours, stream));
    b.push(once(naive, stream));
  }
  return [median(a), median(b)];
}

console.log(`protocol: reassembly of ${FRAMES} frames of ${FRAME_BYTES / 1000} KB, median of ${RUNS} runs`);
for (const datagramSize of [1200, 60_021]) {
  const stream = makeStream(datagramSize);
  ours(stream); // warm up both
  naive(stream);
  const [a, b] = measure(stream);
  const perSecond = (mb) => Math.round((mb * 1e6 * stream.length) / (FRAMES * FRAME_BYTES)).toLocaleString('en');
  console.log(
    `  datagrams of ${String(datagramSize).padStart(5)} B (${stream.length} datagrams): ` +
      `rac ${a.toFixed(0)} MB/s (${perSecond(a)} datagrams/s)   naive Buffer.concat ${b.toFixed(0)} MB/s (${perSecond(b)} datagrams/s)   ratio ${(a / b).toFixed(2)}`,
  );
}
