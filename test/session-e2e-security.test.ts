// The attacks of docs/security.md played against the real processes: a real `rac serve`, a real
// `rac agent --code --yes` on Xvfb and a viewer played by the test. What crosses the network
// (captured with tcpdump) is sealed; tampered and replayed datagrams reach nothing at either end;
// a broker that substitutes keys shows the two people different security codes and sees no frame
// open at the viewer.
import t, { type Test } from 'tap';
import { type Packet, SEALED_HEADER_BYTES, VK, decodeDatagram, encodeKeyboard } from '../src/protocol/index.js';
import { type BrokerProcess, login, startBrokerProcess } from './helpers/broker-process.js';
import { startKeySwappingBroker } from './helpers/key-swapping-broker.js';
import {
  type AgentProcess,
  type TestSession,
  type TestViewer,
  connectViewer,
  createSession,
  startAgent,
} from './helpers/session-viewer.js';
import { type CapturedDatagram, captureUdpPort } from './helpers/udp-capture.js';
import { type Xvfb, startCatTerminal, startXvfb, waitFor } from './helpers/xvfb.js';

const ALLOWED = /Allowed without asking \(--yes\): System Administrator \(admin@localhost\), security code (\d{3} \d{3})/;
const SUMMARY_REFUSED = /(\d+) refused datagrams \(forged, replayed or not sealed\)/;
/** The relay's own messages, the only ones that travel in clear (besides the agent's handshake). */
const RELAY_CLEAR_CONTROLS = new Set(['viewer_hello', 'viewer_ack', 'viewer_confirm', 'viewer_ready', 'keepalive']);

interface LiveSession {
  session: TestSession;
  agent: AgentProcess;
  viewer: TestViewer;
  /** The security code the agent showed the customer. */
  agentCode: string;
}

/** A session, its agent (through `agentServer`, default the broker) and one viewer with keys agreed. */
async function startSession(t: Test, xvfb: Xvfb, broker: BrokerProcess, token: string, agentServer = broker.url): Promise<LiveSession> {
  const session = await createSession(broker.api, token);
  const agent = startAgent(['--code', session.session_code, '--server', agentServer, '--yes', '--max-width', '960'], xvfb.env);
  t.teardown(() => agent.stop('SIGKILL'));
  await agent.waitFor(/waiting for your IT contact/);
  const viewer = await connectViewer(broker.url, session.session_code, token);
  t.teardown(() => viewer.close());
  const agentCode = (await agent.waitFor(ALLOWED))[1]!;
  await viewer.waitSealed();
  return { session, agent, viewer, agentCode };
}

/** Ctrl-C for the agent; returns the refused count of its summary. */
async function stopAgent(t: Test, agent: AgentProcess): Promise<number> {
  agent.process.kill('SIGINT');
  t.equal(await agent.exited, 0, 'the agent exits 0 on Ctrl-C');
  const refused = SUMMARY_REFUSED.exec(agent.stderr());
  t.ok(refused, `a summary with the refused count: ${/^Sent .*$/m.exec(agent.stderr())?.[0]}`);
  return Number(refused?.[1]);
}

/** SHIFT+S E C R E T, then - 4 2: "SECRET-42" in an xterm with a US layout. */
const SECRET_KEYS: [number, 0 | 1][] = [
  [VK.SHIFT, 1],
  ...[VK.KEY_S, VK.KEY_E, VK.KEY_C, VK.KEY_R, VK.KEY_E, VK.KEY_T].flatMap((vk): [number, 0 | 1][] => [
    [vk, 1],
    [vk, 0],
  ]),
  [VK.SHIFT, 0],
  ...[VK.OEM_MINUS, VK.KEY_4, VK.KEY_2].flatMap((vk): [number, 0 | 1][] => [
    [vk, 1],
    [vk, 0],
  ]),
];
const SECRET_TEXT = 'SECRET-42';

const decoded = (payload: Buffer): Packet | undefined => {
  const result = decodeDatagram(payload);
  return result.ok ? result.packet : undefined;
};

/** Why a datagram must not cross the network as it did, or undefined when it may. */
function clearViolation(d: CapturedDatagram, agentPort: number): string | undefined {
  const packet = decoded(d.payload);
  const route = `${d.sourcePort}→${d.destinationPort}`;
  if (!packet) return `${route}: undecodable type ${d.payload[0]}`;
  if (packet.type === 'sealed') return undefined;
  if (packet.type === 'handshake') return d.sourcePort === agentPort ? undefined : `${route}: a handshake not from the agent`;
  if (packet.type === 'control' && packet.message.type !== 'unknown' && RELAY_CLEAR_CONTROLS.has(packet.message.type)) return undefined;
  return `${route}: clear ${packet.type}${packet.type === 'control' ? ` ${JSON.stringify(packet.message)}` : ''}`;
}

/** Sealed type (5 agent → viewer, 6 viewer → agent) of each datagram on one leg. */
const sealedTypes = (datagrams: CapturedDatagram[]) =>
  new Set(datagrams.filter((d) => d.payload[0] === 5 || d.payload[0] === 6).map((d) => d.payload[0]));

/** Some bytes of every JPEG the viewer reassembled: its start and a slice from its middle. */
function jpegSlices(viewer: TestViewer): Buffer[] {
  return viewer.frames.flatMap((frame) => {
    const middle = Math.floor(frame.jpeg.length / 2);
    return [frame.jpeg.subarray(0, 16), frame.jpeg.subarray(middle, middle + 16)];
  });
}

t.test('end-to-end sealing, attacked', async (t) => {
  const xvfb = await startXvfb();
  t.teardown(() => xvfb.stop());
  await xvfb.paint([{ x: 0, y: 0, width: 1920, height: 1080, color: '#3060c0' }]);
  const broker = await startBrokerProcess();
  t.teardown(() => broker.stop());
  const token = await login(broker.api);

  await t.test('what crosses the network is sealed, except the relay’s own messages', async (t) => {
    const session = await createSession(broker.api, token);
    const capture = await captureUdpPort(session.udp_port);
    t.teardown(() => capture.stop());
    const agent = startAgent(['--code', session.session_code, '--server', broker.url, '--yes', '--max-width', '960'], xvfb.env);
    t.teardown(() => agent.stop('SIGKILL'));
    await agent.waitFor(/waiting for your IT contact/);
    const viewer = await connectViewer(broker.url, session.session_code, token);
    t.teardown(() => viewer.close());
    const agentCode = (await agent.waitFor(ALLOWED))[1]!;
    t.equal(await viewer.waitSealed(), agentCode, 'honest broker: both people see the same security code');
    await viewer.nextFrame();

    // Typing into an xterm, so the secret is also on the screen that is streamed.
    const cat = await startCatTerminal(xvfb);
    t.teardown(() => cat.stop());
    for (const [vk, state] of SECRET_KEYS) await viewer.key(vk, state);
    t.ok(await waitFor(() => cat.read() === SECRET_TEXT, 10_000), `typed ${SECRET_TEXT}: the file has ${JSON.stringify(cat.read())}`);
    await xvfb.paint([{ x: 0, y: 0, width: 1920, height: 1080, color: '#c06030' }]);
    const framesBefore = viewer.frames.length;
    await viewer.nextFrame();
    await viewer.nextFrame();
    t.ok(viewer.frames.length >= framesBefore + 2, 'the changed screen was streamed');

    await stopAgent(t, agent);
    await viewer.waitControl('disconnect');
    const captured = await capture.stop();

    const viewerPort = viewer.udp.address().port;
    const fromRelay = (port: number) => captured.filter((d) => d.sourcePort === session.udp_port && d.destinationPort === port);
    const toRelay = (port: number) => captured.filter((d) => d.destinationPort === session.udp_port && d.sourcePort === port);
    const agentPort = captured.find((d) => d.destinationPort === session.udp_port && d.sourcePort !== viewerPort)?.sourcePort;
    t.ok(agentPort, 'the capture saw the agent');
    const legs = {
      agentToRelay: toRelay(agentPort!),
      relayToViewer: fromRelay(viewerPort),
      viewerToRelay: toRelay(viewerPort),
      relayToAgent: fromRelay(agentPort!),
    };
    t.ok(legs.relayToViewer.length >= 20, `the relay forwarded ${legs.relayToViewer.length} datagrams to the viewer`);
    t.ok(legs.relayToAgent.length >= SECRET_KEYS.length, `and ${legs.relayToAgent.length} to the agent`);
    t.equal(captured.length, Object.values(legs).flat().length, 'every captured datagram is between the relay and one of the two');

    const violations = captured.map((d) => clearViolation(d, agentPort!)).filter((v) => v !== undefined);
    t.same(violations, [], `all ${captured.length} datagrams are sealed or the relay's own clear messages`);
    t.notOk(
      captured.some((d) => [1, 2, 3].includes(d.payload[0]!)),
      'no clear frame chunk, mouse or key datagram',
    );
    t.same([...sealedTypes(legs.agentToRelay)], [5], 'the agent seals type 5');
    t.same([...sealedTypes(legs.relayToViewer)], [5], 'the viewer receives type 5');
    t.same([...sealedTypes(legs.viewerToRelay)], [6], 'the viewer seals type 6');
    t.same([...sealedTypes(legs.relayToAgent)], [6], 'the agent receives type 6');
    const sentByAgent = new Set(legs.agentToRelay.map((d) => d.payload.toString('hex')));
    t.ok(
      legs.relayToViewer.filter((d) => d.payload[0] === 5).every((d) => sentByAgent.has(d.payload.toString('hex'))),
      'the relay forwards the agent’s sealed datagrams unchanged and adds none',
    );

    // A bare FF D8 FF would turn up by chance in ciphertext; 16 real bytes of the picture would not.
    const slices = jpegSlices(viewer);
    t.ok(slices.length >= 6 && slices[0]!.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff])), 'the viewer reassembled JPEGs');
    t.notOk(
      captured.some((d) => slices.some((slice) => d.payload.includes(slice))),
      'no bytes of any JPEG the viewer saw are on the network',
    );
    const ticket = viewer.signals.find((m) => m.type === 'udp_ticket')!.ticket;
    const withTicket = captured.filter((d) => d.payload.includes(Buffer.from(ticket)));
    t.same(
      withTicket.map((d) => decoded(d.payload)),
      [{ type: 'control', message: { type: 'viewer_hello', ticket } }],
      'the ticket is only in the viewer’s own hello: the relay never repeats it',
    );
    t.notOk(
      captured.some((d) => d.payload.includes(Buffer.from(SECRET_TEXT))),
      `the typed ${SECRET_TEXT} is in no datagram`,
    );
  });

  await t.test('tampered and replayed datagrams reach nothing', async (t) => {
    const { agent, viewer } = await startSession(t, xvfb, broker, token);
    const cat = await startCatTerminal(xvfb);
    t.teardown(() => cat.stop());
    await viewer.nextFrame(); // streaming, so input is live

    const genuine = [encodeKeyboard({ vk: VK.KEY_Q, state: 1 }), encodeKeyboard({ vk: VK.KEY_Q, state: 0 })].map((inner) =>
      viewer.sealForAgent(inner),
    );
    // Header: key epoch, counter's low and high byte; body: first ciphertext byte, last tag byte.
    const flipped = genuine.flatMap((datagram) =>
      [3, 4, 11, 12, datagram.length - 1].map((offset) => {
        const copy = Buffer.from(datagram);
        copy[offset]! ^= 0x01;
        return copy;
      }),
    );
    const REPLAYS = 3;
    // Forgeries first: they must fail on their tag and must not use up the genuine counters.
    for (const datagram of flipped) await viewer.send(datagram);
    for (const datagram of genuine) await viewer.send(datagram);
    for (let i = 0; i < REPLAYS; i++) for (const datagram of genuine) await viewer.send(datagram);
    for (const datagram of flipped) await viewer.send(datagram);
    t.ok(await waitFor(() => cat.read().includes('q'), 10_000), 'the genuine key-down and key-up typed q');

    await t.test('at the viewer: altered frame datagrams do not open', async (t) => {
      const refusedBefore = viewer.refused();
      let altered = 0;
      // The network flips one byte of the next three sealed datagrams: ciphertext, tag, counter.
      viewer.tamperIncoming((datagram) => {
        if (datagram[0] !== 5 || altered >= 3) return datagram;
        const copy = Buffer.from(datagram);
        copy[[SEALED_HEADER_BYTES, datagram.length - 1, 11][altered]!]! ^= 0x01;
        altered++;
        return copy;
      });
      await viewer.control({ type: 'request_keyframe' });
      t.ok(await waitFor(() => altered === 3, 10_000), 'three sealed datagrams were altered on their way');
      viewer.tamperIncoming(undefined);
      t.equal(viewer.refused() - refusedBefore, 3, 'and the viewer refused each of them');
      await viewer.control({ type: 'request_keyframe' });
      await viewer.nextFrame();
      t.pass('genuine frames still open afterwards');
    });

    const refused = await stopAgent(t, agent);
    const attacks = flipped.length * 2 + REPLAYS * genuine.length;
    t.ok(refused >= attacks, `the agent refused ${refused} datagrams, at least the ${attacks} replayed or altered`);
    t.match(agent.stderr(), /input: 0 mouse, 2 keys,/, 'and acted on the two genuine keys only');
    // A key typed after the agent is gone: once it is in the file, nothing of the attack can follow.
    await xvfb.run('xdotool', ['key', 'z']);
    t.ok(await waitFor(() => cat.read().endsWith('z'), 10_000), 'the sentinel key arrived');
    t.equal(cat.read(), 'qz', 'the letter was typed exactly once');
  });

  await t.test('a broker in the middle: different security codes, nothing opens', async (t) => {
    const middle = await startKeySwappingBroker(broker.url);
    t.teardown(() => middle.stop());
    const { agent, viewer, agentCode } = await startSession(t, xvfb, broker, token, middle.url);
    t.ok(
      middle.swapped.commitments >= 1 && middle.swapped.viewerKeys >= 1 && middle.swapped.agentKeys >= 1,
      `the middle substituted its keys: ${JSON.stringify(middle.swapped)}`,
    );
    t.not(viewer.sas(), agentCode, `the customer sees ${agentCode}, the IT member ${viewer.sas()}`);
    t.ok(await waitFor(() => viewer.refused() >= 20, 10_000), `the agent streams, but ${viewer.refused()} sealed datagrams did not open`);
    t.equal(viewer.frames.length, 0, 'the viewer never reassembled a frame');
    t.notOk(
      viewer.controls.some((m) => m.type === 'screen'),
      'nor opened any of the agent’s control messages',
    );
    await stopAgent(t, agent);
  });
});
