// 100 000 random and mutated datagrams thrown at a live session's port while a real sealed stream
// flows: the broker stays up, every datagram the viewer receives is byte-identical to one the agent
// sent, and nothing the fuzzer sends reaches the agent or the viewer.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { chunkFrame, encodeControl, encodeHandshake, encodeKeyboard, encodeMouse } from '../src/protocol/index.js';
import type { Session } from '../src/protocol/broker-api.js';
import { call, login, type SessionStats, startBrokerProcess } from './helpers/broker-process.js';
import { waitUntil } from './helpers/patience.js';
import { controlOf, nextOf, openSignal, openUdp, pinViewer, provenHandshake, sealedDatagram, sleep } from './helpers/session-peers.js';

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
  const port = session.udp_port as number;
  const agentWs = await openSignal(broker.url, session.session_code);
  const viewerWs = await openSignal(broker.url, session.session_code, token);
  t.teardown(() => [agentWs, viewerWs].forEach((p) => p.ws.close()));
  const secret = (await nextOf(agentWs, 'agent_welcome')).agent_secret!;
  const viewerId = (await nextOf(viewerWs, 'joined')).viewer_id;
  const ticket = (await nextOf(viewerWs, 'udp_ticket')).ticket as string;
  const [agent, viewer, fuzzer] = await Promise.all([openUdp(), openUdp(), openUdp()]);
  t.teardown(() => [agent, viewer, fuzzer].forEach((p) => p.close()));
  viewer.socket.setRecvBufferSize(8 * 1024 * 1024);
  await pinViewer(viewer, port, ticket);
  await agent.send(provenHandshake(session.session_code, secret), port);

  // The viewer checks every datagram against what the agent sent.
  const sentDatagrams = new Set<string>();
  let intact = 0;
  const foreign: string[] = [];
  viewer.socket.on('message', (data) => {
    if (sentDatagrams.has(data.toString('base64'))) intact++;
    else if (controlOf(data)?.type !== 'viewer_ready') foreign.push(data.subarray(0, 40).toString('hex'));
  });

  // The real stream: 20 sealed datagrams of 1200 bytes every 20 ms (a 24 KB frame).
  let counter = 0n;
  let streaming = true;
  const stream = (async () => {
    while (streaming) {
      for (let i = 0; i < 20; i++) {
        const datagram = sealedDatagram(false, viewerId, randomBytes(1188), counter++);
        sentDatagrams.add(datagram.toString('base64'));
        await agent.send(datagram, port);
      }
      await sleep(20);
    }
  })();

  // The fuzzer: random bytes, and valid packets of every kind mutated.
  const random = prng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const corpus = [
    encodeHandshake({ session_code: session.session_code, screen_width: 800, screen_height: 600, timestamp: 1 }),
    provenHandshake(session.session_code, randomBytes(32).toString('base64url')),
    ...chunkFrame(randomBytes(3000), 5n),
    encodeMouse({ x: 10, y: 10, button: 1, state: 1 }),
    encodeKeyboard({ vk: 0x5b, state: 1 }),
    sealedDatagram(true, viewerId, randomBytes(40)),
    sealedDatagram(false, viewerId, randomBytes(40)),
    // (A stolen valid ticket is a bearer credential, like a stolen token: not the fuzzer's business.)
    encodeControl({ type: 'viewer_hello', ticket: 'x'.repeat(32) }),
    encodeControl({ type: 'viewer_hello', ticket }),
    encodeControl({ type: 'viewer_confirm', cookie: 'y'.repeat(22) }),
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
  const duringFuzz = intact;
  // After the storm, the stream must still flow. The relay handles its port's datagrams in order, so
  // once these later ones are through, whatever the fuzzer sent has been relayed or dropped.
  await waitUntil('the stream flowing after the storm', () => intact >= duringFuzz + 100);
  streaming = false;
  await stream;

  t.equal(broker.process.exitCode, null, 'the broker is still running');
  t.same((await call(broker.url, 'GET', '/health')).body, { status: 'healthy' });
  t.same(foreign, [], 'the viewer received nothing but what the agent sent');
  t.ok(duringFuzz > 0, `the stream got through during the fuzzing (${duringFuzz} datagrams)`);
  t.ok(intact > duringFuzz, `and after it (${intact - duringFuzz} more)`);
  t.same(
    agent.received.items.map((d) => d.data.subarray(0, 40).toString('hex')),
    [],
    'the agent received nothing from the fuzzer',
  );
  const stats = (await call<SessionStats>(broker.api, 'GET', `/sessions/${session.id}/stats`, { token })).body.relay!;
  const legit = stats.sealed_forwarded + stats.handshakes_accepted + 2; // + the hello and confirm
  const refused = (
    [
      'dropped_malformed',
      'dropped_unknown_source',
      'dropped_not_allowed',
      'dropped_clear',
      'dropped_wrong_viewer',
      'handshakes_no_proof',
      'handshakes_bad_proof',
      'handshakes_wrong_code',
      'handshakes_throttled',
      'tickets_refused',
      'tickets_replayed',
      'confirms_refused',
    ] as const
  ).reduce((sum, name) => sum + stats[name], 0);
  t.equal(refused, stats.datagrams_in - legit, 'every fuzz datagram that reached the broker was dropped and counted');
  t.equal(stats.viewers_pinned, 1, 'no fuzz datagram became a viewer');
  t.equal(stats.handshakes_accepted, 1, 'no mutated handshake took the agent over');
  t.equal(stats.input_forwarded + stats.frames_chunks_forwarded, 0, 'nothing in clear was forwarded');
  t.comment(`relay counters: ${JSON.stringify(stats)}`);
});
