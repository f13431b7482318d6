// What sealing costs the agent per frame (src/protocol/crypto: ChaCha20-Poly1305 per datagram,
// node:crypto) next to the baseline measured in the same run: the plain chunking of the same
// 1080p-sized JPEG into type-1 datagrams, which the agent does anyway. Inner datagrams are 1172
// bytes so that sealed ones are 1200 (the default datagram size). Also shown: sealing for four
// viewers (the default cap; one seal per viewer) and the viewer's side, opening a frame.
// Run: npx tsc -p . && node bench/crypto.bench.js   (figures: ms per frame, JPEG MB per second)
import { Opener, Sealer, chunkFrame, decodeDatagram } from '../dist/protocol/index.js';

const FRAME_BYTES = 300_000; // a typical 1080p desktop JPEG is 200–500 KB
const INNER_DATAGRAM_BYTES = 1172; // + 28 bytes of header and tag = 1200
const FRAMES = 100;
const RUNS = 7;
const VIEWERS = 4;
const KEY = Buffer.alloc(32, 0x42);

const jpeg = Buffer.alloc(FRAME_BYTES);
for (let i = 0; i < FRAME_BYTES; i++) jpeg[i] = (i * 131) & 0xff;
const size = { maxDatagramBytes: INNER_DATAGRAM_BYTES };
const sealers = Array.from({ length: VIEWERS }, (_, v) => new Sealer({ key: KEY, toAgent: false, viewerId: v + 1 }));

function chunkOnly() {
  let datagrams = 0;
  for (let f = 0; f < FRAMES; f++) datagrams += chunkFrame(jpeg, BigInt(f), size).length;
  return datagrams;
}

function chunkAndSeal(viewers) {
  let datagrams = 0;
  for (let f = 0; f < FRAMES; f++) {
    for (const inner of chunkFrame(jpeg, BigInt(f), size)) {
      for (let v = 0; v < viewers; v++) sealers[v].seal(inner);
      datagrams++;
    }
  }
  return datagrams;
}

// The viewer's side: FRAMES frames sealed once, opened by a fresh Opener each run.
const sealedStream = [];
const streamSealer = new Sealer({ key: KEY, toAgent: false, viewerId: 1 });
for (let f = 0; f < FRAMES; f++) for (const inner of chunkFrame(jpeg, BigInt(f), size)) sealedStream.push(streamSealer.seal(inner));

function openAll() {
  const opener = new Opener({ key: KEY, toAgent: false, viewerId: 1 });
  for (const d of sealedStream) {
    const decoded = decodeDatagram(d);
    if (!decoded.ok || !opener.open(decoded.packet).ok) throw new Error('a sealed datagram did not open');
  }
  return sealedStream.length;
}

/** Milliseconds per frame of one run. */
function once(fn) {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6 / FRAMES;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Runs all alternately so machine load and GC hit them alike; medians in ms per frame. */
function measure(fns) {
  fns.forEach((fn) => fn()); // warm up
  const times = fns.map(() => []);
  for (let run = 0; run < RUNS; run++) fns.forEach((fn, i) => times[i].push(once(fn)));
  return times.map(median);
}

const [plain, sealOne, sealFour, open] = measure([() => chunkOnly(), () => chunkAndSeal(1), () => chunkAndSeal(VIEWERS), () => openAll()]);
const perFrame = chunkFrame(jpeg, 0n, size).length;
const mbps = (ms) => (FRAME_BYTES / 1e6 / (ms / 1000)).toFixed(0);
const overhead = (ms) => `${(((ms - plain) / plain) * 100).toFixed(0)}%`;
const line = (label, ms, extra = '') =>
  console.log(`  ${label.padEnd(34)} ${ms.toFixed(3).padStart(7)} ms/frame  ${mbps(ms).padStart(5)} MB/s${extra}`);

console.log(
  `crypto: a ${FRAME_BYTES / 1000} KB frame in ${perFrame} inner datagrams of ${INNER_DATAGRAM_BYTES} B, median of ${RUNS} runs of ${FRAMES} frames`,
);
line('baseline: chunking alone', plain);
line('rac: chunking + sealing', sealOne, `   overhead ${overhead(sealOne)} (${((sealOne - plain) * 1000).toFixed(0)} µs/frame)`);
line(`rac: chunking + sealing × ${VIEWERS} viewers`, sealFour, `   overhead ${overhead(sealFour)}`);
line('rac: viewer decoding + opening', open);
