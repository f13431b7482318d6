// Property tests (fast-check) of src/protocol/crypto/: any inner datagram round-trips through a
// sealed channel, no mutation of a sealed datagram ever opens, and the replay window agrees with
// a plain model (a set of seen counters and the highest one) on any sequence of counters.
import t from 'tap';
import fc from 'fast-check';
import { Opener, ReplayWindow, Sealer, decodeDatagram } from '../src/protocol/index.js';

const KEY = Buffer.alloc(32, 0x5a);
const VIEWER_ID = 2;

function channel(toAgent: boolean): { sealer: Sealer; opener: Opener } {
  return {
    sealer: new Sealer({ key: KEY, toAgent, viewerId: VIEWER_ID }),
    opener: new Opener({ key: KEY, toAgent, viewerId: VIEWER_ID }),
  };
}

function open(opener: Opener, bytes: Uint8Array): Buffer | undefined {
  const decoded = decodeDatagram(bytes);
  if (!decoded.ok || decoded.packet.type !== 'sealed') return undefined;
  const opened = opener.open(decoded.packet);
  return opened.ok ? opened.value : undefined;
}

const inner = fc.uint8Array({ minLength: 1, maxLength: 1500 });

t.test('any inner bytes round-trip through seal and open, in both directions', async (t) => {
  const channels = [channel(false), channel(true)];
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(inner, fc.boolean(), (bytes, toAgent) => {
        const { sealer, opener } = channels[toAgent ? 1 : 0]!;
        const opened = open(opener, sealer.seal(bytes));
        return opened !== undefined && opened.equals(bytes);
      }),
      { numRuns: 500 },
    ),
  );
  t.equal(channels[0]!.opener.stats.opened + channels[1]!.opener.stats.opened, channels[0]!.sealer.sealed + channels[1]!.sealer.sealed);
});

/** Byte flips at random places, or a cut, or extra bytes: anything but the datagram itself. */
const mutation = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    at: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
  }),
  fc.record({ kind: fc.constant('cut' as const), keep: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 32 }) }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer V> ? V : never;

function mutate(sealed: Buffer, m: Mutation): Buffer {
  if (m.kind === 'cut') return sealed.subarray(0, m.keep % sealed.length);
  if (m.kind === 'extend') return Buffer.concat([sealed, m.extra]);
  const out = Buffer.from(sealed);
  for (const [at, xor] of m.at) out[at % out.length]! ^= xor;
  return out;
}

t.test('no mutation of a sealed datagram ever opens; the original still does afterwards', async (t) => {
  const { sealer, opener } = channel(true);
  let refused = 0;
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(inner, mutation, (bytes, m) => {
        const sealed = sealer.seal(bytes);
        const mutated = mutate(sealed, m);
        fc.pre(!mutated.equals(sealed)); // two flips of one byte can cancel out
        if (open(opener, mutated) !== undefined) return false;
        refused++;
        const opened = open(opener, sealed);
        return opened !== undefined && opened.equals(bytes);
      }),
      { numRuns: 1000 },
    ),
  );
  t.ok(refused > 900, `${refused} mutated datagrams refused`);
});

t.test('the replay window agrees with a set-and-highest model on any counter sequence', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.constantFrom(32, 64, 128), fc.array(fc.bigInt({ min: 0n, max: 400n }), { maxLength: 400 }), (size, counters) => {
        const window = new ReplayWindow(size);
        const seen = new Set<bigint>();
        let highest = -1n;
        for (const counter of counters) {
          const expected = !seen.has(counter) && counter > highest - BigInt(size);
          if (window.check(counter) !== expected) return false;
          if (expected) {
            window.accept(counter);
            seen.add(counter);
            if (counter > highest) highest = counter;
          }
        }
        return true;
      }),
      { numRuns: 500 },
    ),
  );
});

t.test('the replay window near the top of the uint64 counter range and after long jumps', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { minLength: 1, maxLength: 50 }), (counters) => {
        const window = new ReplayWindow();
        for (const counter of counters) {
          if (!window.check(counter)) continue;
          window.accept(counter);
          if (window.check(counter)) return false; // accepted once, never again
        }
        return true;
      }),
    ),
  );
  t.notOk(new ReplayWindow().check(-1n), 'negative counters are never new');
  t.throws(() => new ReplayWindow(100), RangeError);
});
