// The viewer's transport and display against a peer playing the broker and the agent over real
// sockets (test/helpers/relay-peer.ts): an agent that never answers `capabilities` still shows
// whole frames; one that answers gets rectangles composed onto the picture in order; an update
// whose base was lost, one that stays incomplete, or one that does not fit the picture is never
// applied and makes the display ask for a whole frame, which repairs the picture.
import t, { type Test } from 'tap';
import { chunkFrame } from '../../src/protocol/index.js';
import { encodeCapabilities } from '../../src/protocol/capabilities.js';
import { type EncodedRect, chunkRects } from '../../src/protocol/rect-datagram.js';
import { RemoteDisplay } from '../../src/viewer-tty/display/remote-display.js';
import { SessionConnection } from '../../src/viewer-tty/session-connection.js';
import { PEER_TOKEN, type RelayPeer, startRelayPeer } from '../helpers/relay-peer.js';
import { solidJpeg } from '../helpers/test-picture.js';

const RED = [255, 0, 0];
const GREEN = [0, 255, 0];
const BLUE = [0, 0, 255];
const WHITE = [255, 255, 255];

async function connect(t: Test) {
  const peer = await startRelayPeer();
  t.teardown(() => peer.close());
  const display = new RemoteDisplay({ changed: () => undefined, requestKeyframe: () => conn.requestKeyframe() });
  t.teardown(() => display.close());
  const conn = new SessionConnection({
    webSocketUrl: `${peer.url.replace('http', 'ws')}/ws/session/${peer.code}`,
    token: PEER_TOKEN,
    keepaliveMs: 100,
    helloRetryMs: 200,
    reconnectBaseMs: 20,
    events: {
      frame: (jpeg, frameId) => display.fullFrame(jpeg, frameId),
      rect: (rect) => display.rect(rect),
    },
  });
  t.teardown(() => conn.close());
  conn.start();
  await peer.waitFor('pinned and keyed', () => conn.state === 'connected' && peer.sas() !== undefined);
  return { peer, conn, display };
}

const sealedControls = (peer: RelayPeer, name: string) =>
  peer.received.filter((p) => p.sealed && p.type === 'control' && (p.message.type === 'unknown' ? p.message.name : p.message.type) === name)
    .length;

function pixel(display: RemoteDisplay, x: number, y: number): number[] {
  const picture = display.picture!;
  const i = (y * picture.width + x) * 3;
  return [...picture.data.subarray(i, i + 3)];
}
const near = (got: number[], want: number[]) => got.every((c, i) => Math.abs(c - want[i]!) <= 24);

/** A whole frame of our own id, sealed like the agent's. */
function sendFull(peer: RelayPeer, rgb: number[], frameId: bigint) {
  for (const d of chunkFrame(solidJpeg(rgb, 640, 360), frameId, { maxDatagramBytes: 1172 })) peer.sendRaw(peer.seal(d));
}

function sendRects(peer: RelayPeer, rects: EncodedRect[], frameId: bigint, base: bigint, skip?: number) {
  chunkRects(rects, frameId, base, 1172).forEach((d, i) => i !== skip && peer.sendRaw(peer.seal(d)));
}

const tile = (rgb: number[], x: number, y: number): EncodedRect => ({ x, y, width: 64, height: 64, jpeg: solidJpeg(rgb, 64, 64) });

t.test('an agent that never answers capabilities: whole frames, as before', async (t) => {
  const { peer, conn, display } = await connect(t);
  await peer.waitFor('the viewer asked for rectangles', () => sealedControls(peer, 'capabilities') > 0);
  peer.sendFrame(solidJpeg(RED, 640, 360));
  await peer.waitFor('the frame shown', () => display.picture !== undefined);
  t.ok(near(pixel(display, 320, 180), RED), 'the whole frame is the picture');
  t.notOk(conn.sendsRects, 'no rectangles expected from this agent');
});

t.test('rectangles are composed onto the picture; lost or misfit ones ask for a whole frame', async (t) => {
  const { peer, conn, display } = await connect(t);
  peer.sendRaw(peer.seal(encodeCapabilities(['rect'])));
  await peer.waitFor('the agent’s answer heard', () => conn.sendsRects);
  const asked = () => sealedControls(peer, 'request_keyframe');

  sendFull(peer, RED, 1000n);
  await peer.waitFor('the whole frame', () => display.frameId === 1000n);
  sendRects(peer, [tile(GREEN, 0, 0), tile(BLUE, 128, 64)], 1001n, 1000n);
  await peer.waitFor('the update applied', () => display.frameId === 1001n);
  t.ok(near(pixel(display, 30, 30), GREEN), 'first rectangle in place');
  t.ok(near(pixel(display, 160, 100), BLUE), 'second rectangle in place');
  t.ok(near(pixel(display, 300, 200), RED), 'the rest unchanged');

  await t.test('an update on top of a lost one', async (t) => {
    const before = asked();
    sendRects(peer, [tile(WHITE, 256, 128)], 1003n, 1002n);
    await peer.waitFor('a whole frame asked for', () => asked() > before);
    t.equal(display.frameId, 1001n, 'not applied');
    t.ok(near(pixel(display, 290, 160), RED), 'the picture is untouched');
    sendFull(peer, BLUE, 1004n);
    await peer.waitFor('the repair', () => display.frameId === 1004n);
    sendRects(peer, [tile(WHITE, 256, 128)], 1005n, 1004n);
    await peer.waitFor('updates apply again', () => display.frameId === 1005n);
    t.ok(near(pixel(display, 290, 160), WHITE), 'on top of the whole frame');
  });

  await t.test('an update with a rectangle missing', async (t) => {
    const before = asked();
    sendRects(peer, [tile(GREEN, 0, 0), tile(GREEN, 64, 0)], 1006n, 1005n, 1);
    await peer.waitFor('a whole frame asked for', () => asked() > before);
    t.equal(display.frameId, 1005n, 'not applied');
    t.ok(near(pixel(display, 30, 30), BLUE), 'not even the rectangle that arrived');
    sendFull(peer, RED, 1007n);
    await peer.waitFor('the repair', () => display.frameId === 1007n);
  });

  await t.test('a rectangle outside the picture', async (t) => {
    const before = asked();
    sendRects(peer, [tile(GREEN, 600, 0)], 1008n, 1007n);
    await peer.waitFor('a whole frame asked for', () => asked() > before);
    t.equal(display.frameId, 1007n, 'not applied');
    t.equal(display.picture!.width, 640, 'the picture keeps its size');
  });
});
