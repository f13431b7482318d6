// What the cluster tests share: an agent and a viewer connected through one node, and one frame
// that must arrive whole, which shows the session's relay (on whichever node holds it) carries it.
import type { Test } from 'tap';
import type { BrokerProcess } from './broker-process.js';
import { startSealedAgent } from './sealed-agent.js';
import { connectViewer } from './session-viewer.js';
import { solidJpeg } from './test-picture.js';

const SCREEN = { width: 64, height: 64 };

/** Agent and viewer through `via`, on the port `session` names; one frame must arrive whole. */
export async function streamThrough(t: Test, via: BrokerProcess, session: { session_code: string; udp_port: number }, token: string) {
  const agent = await startSealedAgent(via.url, session, SCREEN);
  t.teardown(() => agent.close());
  const viewer = await connectViewer(via.url, session.session_code, token);
  t.teardown(() => viewer.close());
  await viewer.waitSealed();
  await viewer.waitControl('screen');
  const picture = solidJpeg([10, 200, 30]);
  const frame = viewer.nextFrame();
  await agent.sendFrame(picture);
  t.ok((await frame).jpeg.equals(picture), 'a frame went agent → relay → viewer');
  return { agent, viewer };
}
