// Exact byte layouts of every datagram, against bytes written out by hand as the reference Windows
// client's BinaryWriter (little-endian) and its JSON serializer produce them.
import t from 'tap';
import {
  FRAME_CHUNK_HEADER_BYTES,
  MouseButton,
  SEALED_HEADER_BYTES,
  SEALED_OVERHEAD_BYTES,
  VK,
  decodeDatagram,
  encodeControl,
  encodeFrameChunk,
  encodeHandshake,
  encodeKeyboard,
  encodeMouse,
  encodeSealedHeader,
  handshakeJson,
} from '../src/protocol/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// 638989234567891234 = 0x08DE2552C5B7C922 (DateTime.Now.Ticks in 2025)
const REFERENCE_TICKS = 638989234567891234n;
const REFERENCE_HANDSHAKE =
  '{"type":"handshake","session_code":"482916573","screen_width":1920,"screen_height":1080,"timestamp":638989234567891234}';

t.test('handshake: the reference JSON, byte for byte, and back', async (t) => {
  const encoded = encodeHandshake({
    session_code: '482916573',
    screen_width: 1920,
    screen_height: 1080,
    timestamp: REFERENCE_TICKS,
  });
  t.same(encoded, Buffer.from(REFERENCE_HANDSHAKE, 'utf8'));
  t.equal(encoded[0], 0x7b, 'first byte is "{" (no type byte)');
  const decoded = decodeDatagram(Buffer.from(REFERENCE_HANDSHAKE));
  t.ok(decoded.ok);
  if (!decoded.ok) return;
  t.match(decoded.packet, { type: 'handshake', session_code: '482916573', screen_width: 1920, screen_height: 1080 });
  // JSON numbers are doubles: an 18-digit tick count survives to ~100 ticks (10 µs), enough for a timestamp.
  t.ok(decoded.packet.type === 'handshake' && Math.abs(Number(BigInt(decoded.packet.timestamp) - 638989234567891234n)) < 1000);
  t.equal(
    handshakeJson({ session_code: '1', screen_width: 2, screen_height: 3, timestamp: 4.5 }),
    '{"type":"handshake","session_code":"1","screen_width":2,"screen_height":3,"timestamp":4.5}',
  );
});

t.test('handshake: extra fields and whitespace are accepted; bad ones are typed errors', async (t) => {
  const spaced = decodeDatagram(
    Buffer.from(
      '{ "type": "handshake", "session_code": "000000001", "screen_width": 800, "screen_height": 600, "timestamp": 1, "os": "win" }',
    ),
  );
  t.ok(spaced.ok);
  const cases: [string, string][] = [
    ['{"type":"handshake","session_code":"1","screen_width":0,"screen_height":600,"timestamp":1}', 'BAD_FIELD'],
    ['{"type":"handshake","session_code":1,"screen_width":800,"screen_height":600,"timestamp":1}', 'BAD_FIELD'],
    ['{"type":"handshake","session_code":"1","screen_width":800.5,"screen_height":600,"timestamp":1}', 'BAD_FIELD'],
    ['{"type":"handshake","session_code":"1","screen_width":800,"screen_height":600}', 'BAD_FIELD'],
    ['{"type":"keepalive"}', 'NOT_A_HANDSHAKE'],
    ['{"session_code":"1"}', 'MISSING_TYPE'],
    ['{"type":"handshake",', 'BAD_JSON'],
    ['{' + ' '.repeat(5000) + '}', 'TOO_LARGE'],
  ];
  for (const [text, code] of cases) {
    const r = decodeDatagram(Buffer.from(text));
    t.equal(r.ok ? 'ok' : r.error.code, code, text.slice(0, 60));
  }
  const badUtf8 = Buffer.concat([Buffer.from('{"type":"handshake","session_code":"'), hex('ff fe'), Buffer.from('"}')]);
  const r = decodeDatagram(badUtf8);
  t.equal(r.ok ? 'ok' : r.error.code, 'BAD_UTF8');
});

t.test('type 1 frame chunk: header as BinaryWriter writes it', async (t) => {
  const data = Buffer.from([0xff, 0xd8, 0xff, 0xe0]);
  const encoded = encodeFrameChunk({ frameId: REFERENCE_TICKS, chunkIndex: 2, totalChunks: 3, totalSize: 150000, data });
  const expected = hex(`
    01
    22 c9 b7 c5 52 25 de 08
    02 00 00 00
    03 00 00 00
    f0 49 02 00
    ff d8 ff e0`);
  t.same(encoded, expected);
  t.equal(FRAME_CHUNK_HEADER_BYTES, 21);
  const decoded = decodeDatagram(expected);
  t.ok(decoded.ok);
  if (!decoded.ok || decoded.packet.type !== 'frame_chunk') return t.fail('not a frame chunk');
  t.equal(decoded.packet.frameId, REFERENCE_TICKS);
  t.equal(decoded.packet.chunkIndex, 2);
  t.equal(decoded.packet.totalChunks, 3);
  t.equal(decoded.packet.totalSize, 150000);
  t.same(Buffer.from(decoded.packet.data), data);
});

t.test('type 1 frame chunk: validation', async (t) => {
  const chunk = (frameId: bigint, index: number, total: number, size: number, dataLength: number) =>
    encodeFrameChunk({ frameId, chunkIndex: index, totalChunks: total, totalSize: size, data: Buffer.alloc(dataLength, 7) });
  const code = (buf: Buffer) => {
    const r = decodeDatagram(buf);
    return r.ok ? 'ok' : r.error.code;
  };
  t.equal(code(chunk(1n, 0, 1, 10, 10)), 'ok');
  t.equal(code(chunk(-1n, 0, 1, 10, 10)), 'ok', 'any int64 is an id');
  t.equal(code(chunk(1n, 0, 1, 10, 10).subarray(0, 20)), 'TRUNCATED');
  t.equal(code(chunk(1n, 0, 1, 10, 0)), 'CHUNK_TOO_LARGE', 'empty payload');
  t.equal(code(chunk(1n, 0, 1, 10, 11)), 'CHUNK_TOO_LARGE');
  t.equal(code(chunk(1n, 1, 1, 10, 10)), 'CHUNK_INDEX_OUT_OF_RANGE');
  t.equal(code(chunk(1n, -1, 2, 10, 5)), 'CHUNK_INDEX_OUT_OF_RANGE');
  t.equal(code(chunk(1n, 0, 0, 10, 5)), 'BAD_CHUNK_COUNT');
  t.equal(code(chunk(1n, 0, 11, 10, 1)), 'BAD_CHUNK_COUNT', 'more chunks than bytes');
  t.equal(code(chunk(1n, 0, 70000, 1_000_000, 1)), 'BAD_CHUNK_COUNT', 'over the chunk cap');
  t.equal(code(chunk(1n, 0, 1, 0, 1)), 'FRAME_TOO_LARGE');
  t.equal(code(chunk(1n, 0, 1, -5, 1)), 'FRAME_TOO_LARGE');
  t.equal(code(chunk(1n, 0, 2, 16 * 1024 * 1024 + 1, 1)), 'FRAME_TOO_LARGE');
  const limited = decodeDatagram(chunk(1n, 0, 2, 2000, 1000), { maxFrameBytes: 1000 });
  t.equal(limited.ok ? 'ok' : limited.error.code, 'FRAME_TOO_LARGE', 'caps are configurable');
});

t.test('type 2 mouse and type 3 keyboard', async (t) => {
  const mouse = encodeMouse({ x: -5, y: 1080, button: MouseButton.LEFT, state: 1 });
  t.same(mouse, hex('02 fb ff ff ff 38 04 00 00 01 01'));
  t.same(decodeDatagram(mouse), { ok: true, packet: { type: 'mouse', x: -5, y: 1080, button: 1, state: 1 } });
  const key = encodeKeyboard({ vk: VK.RMENU, state: 1 });
  t.same(key, hex('03 a5 00 01'));
  t.same(decodeDatagram(key), { ok: true, packet: { type: 'keyboard', vk: 0xa5, state: 1 } });
  t.same(decodeDatagram(hex('03 0d 00 00')), { ok: true, packet: { type: 'keyboard', vk: VK.RETURN, state: 0 } });
  const code = (s: string) => {
    const r = decodeDatagram(hex(s));
    return r.ok ? 'ok' : r.error.code;
  };
  t.equal(code('02 00 00 00 00 00 00 00 00 05 00'), 'ok', 'wheel down');
  t.equal(code('02 00 00 00 00 00 00 00 00 06 00'), 'BAD_FIELD', 'button 6');
  t.equal(code('02 00 00 00 00 00 00 00 00 01 02'), 'BAD_FIELD', 'state 2');
  t.equal(code('02 00 00 00 00 00 00 00 00 01'), 'TRUNCATED');
  t.equal(code('02 00 00 00 00 00 00 00 00 01 01 00'), 'TRAILING_BYTES');
  t.equal(code('03 00 00 01'), 'BAD_FIELD', 'VK 0');
  t.equal(code('03 ff 00 01'), 'BAD_FIELD', 'VK 0xFF');
  t.equal(code('03 41 01 01'), 'BAD_FIELD', 'VK 0x141');
  t.equal(code('03 41 00 07'), 'BAD_FIELD', 'state 7');
  t.equal(code('03 41 00'), 'TRUNCATED');
  t.equal(code('03 41 00 01 00'), 'TRAILING_BYTES');
});

t.test('type 4 control messages', async (t) => {
  t.same(encodeControl({ type: 'keepalive' }), Buffer.concat([hex('04'), Buffer.from('{"type":"keepalive"}')]));
  t.same(
    encodeControl({ type: 'viewer_ack', cookie: 'c0' }),
    hex('04 7b 22 74 79 70 65 22 3a 22 76 69 65 77 65 72 5f 61 63 6b 22 2c 22 63 6f 6f 6b 69 65 22 3a 22 63 30 22 7d'),
    '{"type":"viewer_ack","cookie":"c0"}',
  );
  t.same(
    encodeControl({ type: 'set_quality', quality: 60, fps: 15 }),
    Buffer.from('\x04{"type":"set_quality","quality":60,"fps":15}', 'latin1'),
  );
  const messages = [
    { type: 'keepalive' },
    { type: 'viewer_hello', ticket: 'tkt-123' },
    { type: 'viewer_ack', cookie: 'Zm9vYmFy-_' },
    { type: 'viewer_confirm', cookie: 'Zm9vYmFy-_' },
    { type: 'viewer_ready' },
    { type: 'disconnect' },
    { type: 'disconnect', reason: 'shutdown' },
    { type: 'request_keyframe' },
    { type: 'set_quality', quality: 60, fps: 15 },
    { type: 'select_monitor', monitor_id: 'DISPLAY1' },
    { type: 'screen', width: 1920, height: 1080 },
  ] as const;
  for (const message of messages) {
    t.same(decodeDatagram(encodeControl(message)), { ok: true, packet: { type: 'control', message } }, message.type);
  }
  const unknown = decodeDatagram(Buffer.from('\x04{"type":"clipboard","text":"hi"}', 'latin1'));
  t.same(unknown, {
    ok: true,
    packet: { type: 'control', message: { type: 'unknown', name: 'clipboard', body: { type: 'clipboard', text: 'hi' } } },
  });
  const code = (s: string) => {
    const r = decodeDatagram(Buffer.from(s, 'latin1'));
    return r.ok ? 'ok' : r.error.code;
  };
  t.equal(code('\x04'), 'EMPTY');
  t.equal(code('\x04[1,2]'), 'BAD_JSON');
  t.equal(code('\x04null'), 'BAD_JSON');
  t.equal(code('\x04{"type":5}'), 'MISSING_TYPE');
  t.equal(code('\x04{"type":"viewer_hello"}'), 'BAD_FIELD');
  t.equal(code('\x04{"type":"viewer_hello","ticket":""}'), 'BAD_FIELD');
  t.equal(code('\x04{"type":"viewer_ack"}'), 'BAD_FIELD', 'an ack without its cookie');
  t.equal(code('\x04{"type":"viewer_confirm","cookie":7}'), 'BAD_FIELD');
  t.equal(code(`\x04{"type":"viewer_ack","cookie":"${'c'.repeat(257)}"}`), 'BAD_FIELD', 'a cookie over 256 characters');
  t.equal(code('\x04{"type":"set_quality","quality":0,"fps":15}'), 'BAD_FIELD');
  t.equal(code('\x04{"type":"set_quality","quality":60,"fps":"15"}'), 'BAD_FIELD');
  t.equal(code('\x04{"type":"select_monitor","monitor_id":1}'), 'BAD_FIELD');
  t.equal(code('\x04{"type":"screen","width":1920}'), 'BAD_FIELD');
  t.equal(code('\x04{"type":"keepalive","extra":1}'), 'ok', 'extra fields ignored');
});

t.test('types 5 and 6: the sealed header in clear, the rest opaque', async (t) => {
  t.equal(SEALED_HEADER_BYTES, 12);
  t.equal(SEALED_OVERHEAD_BYTES, 28);
  const header = encodeSealedHeader({ toAgent: false, viewerId: 0x0102, epoch: 3, counter: 0x0807060504030201n });
  t.same(header, hex('05 02 01 03 01 02 03 04 05 06 07 08'), 'type, u16le viewer id, epoch, u64le counter');
  t.same(encodeSealedHeader({ toAgent: true, viewerId: 1, epoch: 255, counter: 0n }), hex('06 01 00 ff 00 00 00 00 00 00 00 00'));
  // One byte of ciphertext and a 16-byte tag: the smallest sealed datagram, 29 bytes.
  const body = Buffer.alloc(17, 0xaa);
  const decoded = decodeDatagram(Buffer.concat([header, body]));
  t.ok(decoded.ok);
  if (!decoded.ok || decoded.packet.type !== 'sealed') return t.fail('not sealed');
  t.match(decoded.packet, { type: 'sealed', toAgent: false, viewerId: 0x0102, epoch: 3, counter: 0x0807060504030201n });
  t.same(Buffer.from(decoded.packet.header), header, 'the header is the associated data, as sent');
  t.same(Buffer.from(decoded.packet.body), body, 'ciphertext and tag');
  const toAgent = decodeDatagram(Buffer.concat([hex('06 09 00 00 05 00 00 00 00 00 00 00'), body]));
  t.match(toAgent, { ok: true, packet: { type: 'sealed', toAgent: true, viewerId: 9, epoch: 0, counter: 5n } });
  for (const type of [5, 6]) {
    for (const length of [1, 12, 28]) {
      const short = Buffer.alloc(length, 0);
      short[0] = type;
      const r = decodeDatagram(short);
      t.equal(r.ok ? 'ok' : r.error.code, 'TRUNCATED', `type ${type} of ${length} bytes`);
    }
  }
});

t.test('empty and unknown types', async (t) => {
  t.same(decodeDatagram(Buffer.alloc(0)), { ok: false, error: { code: 'EMPTY', message: 'empty datagram' } });
  for (const first of [0, 7, 8, 0x7a, 0x7c, 0xff]) {
    const r = decodeDatagram(Buffer.from([first, 1, 2, 3]));
    t.equal(r.ok ? 'ok' : r.error.code, 'BAD_TYPE', `type ${first}`);
  }
  for (const junk of [undefined, null, 'text', 42, {}, [1, 2]]) {
    const r = decodeDatagram(junk as unknown as Uint8Array);
    t.equal(r.ok ? 'ok' : r.error.code, 'BAD_TYPE', `not bytes: ${String(junk)}`);
  }
  // A Uint8Array view into a larger buffer decodes from its own offset.
  const backing = Buffer.concat([Buffer.from('junk'), encodeKeyboard({ vk: 0x41, state: 1 })]);
  t.same(decodeDatagram(new Uint8Array(backing.buffer, backing.byteOffset + 4, 4)), {
    ok: true,
    packet: { type: 'keyboard', vk: 0x41, state: 1 },
  });
});
