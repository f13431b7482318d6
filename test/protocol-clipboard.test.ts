// Type 8 (clipboard): the byte layout, property tests (fast-check) of the decoder (any bytes give a
// value or a typed error, never a throw) and of transfers (any text round-trips, whatever the order
// and duplication of its chunks), a lost chunk answered by a whole resend, and the 1 MiB cap.
import t from 'tap';
import fc from 'fast-check';
import {
  CLIPBOARD_CHUNK_BYTES,
  CLIPBOARD_DATA_HEADER_BYTES,
  ClipboardChannel,
  type ClipboardReceived,
  MAX_CLIPBOARD_BYTES,
  SEALED_OVERHEAD_BYTES,
  decodeClipboardPacket,
  encodeClipboardAck,
  encodeClipboardText,
  encodeClipboardTooLarge,
} from '../src/protocol/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

t.test('the byte layout of each kind', async (t) => {
  t.same(encodeClipboardText(0x01020304, 'hé'), [hex('08 00 04030201 0000 0100 03000000 68c3a9')], 'a one-chunk transfer');
  t.same(encodeClipboardAck(7), hex('08 01 07000000'));
  t.same(encodeClipboardTooLarge(7, 2_000_000), hex('08 02 07000000 80841e00'));
  const chunks = encodeClipboardText(1, 'x'.repeat(CLIPBOARD_CHUNK_BYTES * 2 + 1));
  t.equal(chunks.length, 3);
  t.ok(
    chunks.every((c) => c.length + SEALED_OVERHEAD_BYTES <= 1200),
    'every chunk fits a sealed datagram of 1200 bytes',
  );
  t.equal(chunks[2]!.length, CLIPBOARD_DATA_HEADER_BYTES + 1);
  t.throws(() => encodeClipboardText(1, ''), RangeError, 'empty text is not a transfer');
  t.throws(() => encodeClipboardText(1, 'x'.repeat(MAX_CLIPBOARD_BYTES + 1)), RangeError);
});

t.test('the decoder refuses what breaks the layout, with a typed error', async (t) => {
  const code = (bytes: Buffer) => {
    const r = decodeClipboardPacket(bytes);
    return r.ok ? 'ok' : r.error.code;
  };
  t.equal(code(Buffer.alloc(0)), 'EMPTY');
  t.equal(code(hex('07 00 00000000')), 'BAD_TYPE');
  t.equal(code(hex('08 00 0000')), 'TRUNCATED');
  t.equal(code(hex('08 09 00000000')), 'BAD_FIELD', 'unknown kind');
  t.equal(code(hex('08 01 00000000 00')), 'TRAILING_BYTES', 'an ack is 6 bytes');
  t.equal(code(hex('08 02 00000000 0000')), 'TRUNCATED');
  t.equal(code(hex('08 00 00000000 0000 0100 01001000 61')), 'TOO_LARGE', 'over 1 MiB announced');
  t.equal(code(hex('08 00 00000000 0000 0100 00000000 61')), 'TOO_LARGE', 'zero bytes announced');
  t.equal(code(hex('08 00 00000000 0000 0300 02000000 61')), 'BAD_CHUNK_COUNT', 'more chunks than bytes');
  t.equal(code(hex('08 00 00000000 0200 0200 02000000 61')), 'CHUNK_INDEX_OUT_OF_RANGE');
  t.equal(code(hex('08 00 00000000 0000 0100 01000000 6161')), 'CHUNK_TOO_LARGE');
  t.equal(code(hex('08 00 00000000 0000 0100 01000000')), 'CHUNK_TOO_LARGE', 'an empty chunk');
});

t.test('any bytes decode to a packet or a typed error, never a throw', async (t) => {
  const typeEight = fc.uint8Array({ minLength: 0, maxLength: 40 }).map((b) => Buffer.concat([Buffer.from([8]), b]));
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 40 }), typeEight), (bytes) => {
        const r = decodeClipboardPacket(bytes);
        return r.ok || (typeof r.error.code === 'string' && r.error.message.length > 0);
      }),
      { numRuns: 3000 },
    ),
  );
});

/** Two channels joined by a wire that may reorder, duplicate or drop what crosses it. */
function pair(wire: (datagrams: Buffer[]) => Buffer[] = (d) => d) {
  const got: ClipboardReceived[] = [];
  const b: ClipboardChannel = new ClipboardChannel({ transmit: (ds) => ds.forEach((d) => a.receive(d)) });
  const a: ClipboardChannel = new ClipboardChannel({
    transmit: (ds) =>
      wire(ds).forEach((d) => {
        const r = b.receive(d);
        if (r) got.push(r);
        if (r?.kind === 'text') b.acknowledge(r.transferId);
      }),
    retryMs: 5,
  });
  return { a, b, got };
}

t.test('any text round-trips, its chunks in any order and duplicated', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 3000 }), fc.integer(), (text, seed) => {
        const { a, got } = pair((ds) => {
          const shuffled = [...ds, ...ds.slice(0, 2)];
          let s = seed;
          for (let i = shuffled.length - 1; i > 0; i--) {
            s = (s * 1103515245 + 12345) | 0;
            const j = Math.abs(s) % (i + 1);
            [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
          }
          return shuffled;
        });
        a.send(text);
        const first = got[0];
        return got.length === 1 && first?.kind === 'text' && first.text === text && a.resends === 0;
      }),
      { numRuns: 300 },
    ),
  );
});

t.test('a lost chunk: the sender sends the whole transfer again; the receiver delivers it once', async (t) => {
  let dropped = false;
  const { a, got } = pair((ds) => {
    if (dropped || ds.length < 2) return ds;
    dropped = true;
    return ds.slice(1);
  });
  const text = 'ü'.repeat(CLIPBOARD_CHUNK_BYTES * 2);
  const delivered = new Promise<void>((resolve) => t.same(a.send(text, resolve), { sent: true, bytes: text.length * 2 }));
  t.same(got, [], 'nothing delivered with a chunk missing');
  await delivered;
  t.match(got, [{ kind: 'text', text }], 'delivered once the whole transfer came again');
  t.equal(a.resends, 1, 'one resend, then the acknowledgement stopped it');
});

t.test('acknowledged only once in place; a repeat is acknowledged again, never delivered twice', async (t) => {
  const acks: Buffer[] = [];
  const receiver = new ClipboardChannel({ transmit: (ds) => acks.push(...ds) });
  const datagrams = encodeClipboardText(42, 'hello');
  t.same(receiver.receive(datagrams[0]!), { kind: 'text', text: 'hello', transferId: 42 });
  t.equal(receiver.receive(datagrams[0]!), undefined, 'a repeat before the acknowledgement: nothing');
  t.same(acks, [], 'no acknowledgement before the application says the text is in place');
  receiver.acknowledge(42);
  t.equal(receiver.receive(datagrams[0]!), undefined, 'a repeat after it: not delivered again');
  t.same(acks, [encodeClipboardAck(42), encodeClipboardAck(42)], 'but acknowledged again');
});

t.test('no acknowledgement at all: the sender gives up after its attempts and says so', async (t) => {
  let sent = 0;
  const gaveUp = new Promise<number>((resolve) => {
    const channel = new ClipboardChannel({ transmit: () => sent++, retryMs: 5, attempts: 3, onGiveUp: resolve });
    channel.send('lost');
  });
  t.equal(await gaveUp, 4, 'gave up on 4 bytes');
  t.equal(sent, 3, 'three attempts');
});

t.test('over 1 MiB: only a notice goes, and the receiver learns the size', async (t) => {
  const { a, got } = pair();
  const text = 'x'.repeat(MAX_CLIPBOARD_BYTES + 10);
  t.same(a.send(text), { sent: false, tooLarge: MAX_CLIPBOARD_BYTES + 10 });
  t.same(got, [{ kind: 'too_large', totalBytes: MAX_CLIPBOARD_BYTES + 10 }]);
  t.equal(a.resends, 0);
  const delivered = new Promise<void>((resolve) =>
    t.same(a.send('x'.repeat(MAX_CLIPBOARD_BYTES), resolve), { sent: true, bytes: MAX_CLIPBOARD_BYTES }, 'exactly 1 MiB goes'),
  );
  await delivered;
  t.equal(got.length, 2);
  const second = got[1];
  t.equal(second?.kind === 'text' && second.text.length, MAX_CLIPBOARD_BYTES);
});

t.test('invalid UTF-8 and inconsistent chunks are refused, typed', async (t) => {
  const receiver = new ClipboardChannel({ transmit: () => undefined });
  const bad = hex('08 00 09000000 0000 0100 02000000 c328');
  t.match(receiver.receive(bad), { kind: 'invalid', error: { code: 'BAD_UTF8' } });
  const first = hex('08 00 0a000000 0000 0200 02000000 61');
  const other = hex('08 00 0a000000 0100 0200 03000000 62');
  t.equal(receiver.receive(first), undefined);
  t.match(receiver.receive(other), { kind: 'invalid', error: { code: 'BAD_FIELD' } });
});
