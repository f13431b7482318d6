// 100 000 random and mutated datagrams thrown at a live session's port while a real stream flows:
// the broker stays up, every frame the viewer completes is byte-identical to one the agent sent,
// and nothing the fuzzer sends reaches the agent or the viewer.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import {
  FrameReassembler,
  chunkFrame,
  decodeDatagram,
  encodeControl,
  encodeHandshake,
  encodeKeyboard,
  encodeMouse,
} from '../src/protocol/index.js';
import type { Session } from '../src/protocol/broker-api.js';
import { call, login, type SessionStats, startBrokerProcess } from './helpers/broker-process.js';
import { controlOf, openSignal, openUdp, sleep } from './helpers/session-peers.js';

const FUZZ_DATAGRAMS = 100_000;
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

/** mulberry32: a seeded PRNG so a failing run can be replayed with FUZZ_SEED. */
function prng(s: number) {
  return () => {
    s |= 0;
    s = (s + 0x6d2b79f5) | 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

t.test(`the relay survives ${FUZZ_DATAGRAMS} hostile datagrams (seed ${seed})`, async (t) => {
  const broker = await startBrokerProcess();
  t.teardown(() => broker.stop());
  const token = await login(broker.api);
  const session = (await call<Session>(broker.api, 'POST', '/sessions', { token, body: {} })).body;
  const port = session.udp_port;
  const agentWs = await openSignal(broker.url, session.session_code);
  const viewerWs = await openSignal(broker.url, session.session_code, token);
  t.teardown(() => [agentWs, viewerWs].forEach((p) => p.ws.close()));
  const ticket = (await viewerWs.messages.next((m) => m.type === 'udp_ticket')).ticket as string;
  const [agent, viewer, fuzzer] = await Promise.all([openUdp(), openUdp(), openUdp()]);
  t.teardown(() => [agent, viewer, fuzzer].forEach((p) => p.close()));
  viewer.socket.setRecvBufferSize(8 * 1024 * 1024);
  await viewer.send(encodeControl({ type: 'viewer_hello', ticket }), port);
  await viewer.received.next((d) => controlOf(d.data)?.type === 'viewer_ack');
  await agent.send(
    encodeHandshake({ session_code: session.session_code, screen_width: 1280, screen_height: 720, timestamp: Date.now() }),
    port,
  );

  // The viewer checks every complete frame against what the agent sent.
  const sentFrames = new Map<bigint, Buffer>();
  const reassembler = new FrameReassembler();
  let intact = 0;
  const corrupt: string[] = [];
  const foreign: string[] = [];
  viewer.socket.on('message', (data) => {
    const decoded = decodeDatagram(data);
    if (!decoded.ok) return void foreign.push(data.subarray(0, 40).toString('hex'));
    const packet = decoded.packet;
    if (packet.type === 'control') {
      if (!['screen', 'viewer_ack'].includes(packet.message.type)) foreign.push(JSON.stringify(packet.message));
      return;
    }
    if (packet.type !== 'frame_chunk') return void foreign.push(packet.type);
    const frame = reassembler.push(packet);
    if (!frame) return;
    const original = sentFrames.get(frame.frameId);
    if (original && original.equals(frame.jpeg)) intact++;
    else corrupt.push(String(frame.frameId));
  });

  // The real stream: a 24 KB frame in 1200-byte datagrams every 20 ms.
  let frameId = 1000n;
  let streaming = true;
  const stream = (async () => {
    while (streaming) {
      const jpeg = randomBytes(24 * 1024);
      frameId++;
      sentFrames.set(frameId, jpeg);
      for (const datagram of chunkFrame(jpeg, frameId)) await agent.send(datagram, port);
      await sleep(20);
    }
  })();

  // The fuzzer: random bytes, and valid packets of every kind mutated.
  const random = prng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const corpus = [
    encodeHandshake({ session_code: session.session_code, screen_width: 800, screen_height: 600, timestamp: 1 }),
    ...chunkFrame(randomBytes(3000), 5n),
    encodeMouse({ x: 10, y: 10, button: 1, state: 1 }),
    encodeKeyboard({ vk: 0x5b, state: 1 }),
    // (A stolen valid ticket is a bearer credential, like a stolen token: not the fuzzer's business.)
    encodeControl({ type: 'viewer_hello', ticket: 'x'.repeat(32) }),
    encodeControl({ type: 'viewer_hello', ticket: ticket.slice(0, -2) + 'zz' }),
    encodeControl({ type: 'request_keyframe' }),
    encodeControl({ type: 'disconnect' }),
    Buffer.from('{"type":"handshake"}'),
  ];
  const mutate = (d: Buffer): Buffer => {
    const out = Buffer.from(d);
    switch (int(4)) {
      case 0:
        for (let k = 0; k <= int(4); k++) out[int(out.length)] = int(256);
        return out;
      case 1:
        return out.subarray(0, int(out.length + 1));
      case 2:
        return Buffer.concat([out, randomBytes(int(64))]);
      default:
        return out;
    }
  };
  let fuzzed = 0;
  while (fuzzed < FUZZ_DATAGRAMS) {
    const batch: Promise<void>[] = [];
    for (let i = 0; i < 500; i++, fuzzed++) {
      const datagram = random() < 0.4 ? randomBytes(int(1500)) : mutate(corpus[int(corpus.length)]!);
      batch.push(fuzzer.send(datagram.length ? datagram : Buffer.alloc(0), port).catch(() => {}));
    }
    await Promise.all(batch);
    await sleep(1);
  }
  const framesDuringFuzz = intact;
  // After the storm, the stream must still flow.
  await sleep(1000);
  streaming = false;
  await stream;
  await sleep(300);

  t.equal(broker.process.exitCode, null, 'the broker is still running');
  t.same((await call(broker.url, 'GET', '/health')).body, { status: 'healthy' });
  t.same(corrupt, [], 'no frame arrived altered');
  t.same(foreign, [], 'the viewer received nothing but frames and its own control messages');
  t.ok(framesDuringFuzz > 0, `frames got through during the fuzzing (${framesDuringFuzz})`);
  t.ok(intact > framesDuringFuzz, `and after it (${intact - framesDuringFuzz} more)`);
  const atAgent = agent.received.items.filter((d) => controlOf(d.data)?.type !== 'screen');
  t.same(
    atAgent.map((d) => d.data.subarray(0, 40).toString('hex')),
    [],
    'the agent received nothing from the fuzzer',
  );
  const stats = (await call<SessionStats>(broker.api, 'GET', `/sessions/${session.id}/stats`, { token })).body.relay!;
  const legit = stats.frames_chunks_forwarded + 2;
  t.equal(
    stats.dropped_malformed + stats.dropped_unknown_source + stats.agent_repins_refused + stats.dropped_not_allowed,
    stats.datagrams_in - legit,
    'every fuzz datagram that reached the broker was dropped and counted',
  );
  t.equal(stats.viewers_pinned, 1, 'no fuzz datagram became a viewer');
  t.equal(stats.input_forwarded, 0, 'no input was forwarded');
  t.equal(stats.agent_repins, 0, 'no mutated handshake took the agent over');
  t.comment(`relay counters: ${JSON.stringify(stats)}`);
});
