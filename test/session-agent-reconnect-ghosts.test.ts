// The broker restarts while two viewers watch, and neither comes back: the restarted broker holds no
// viewer, and says so as it welcomes the resuming agent. The agent forgets both (it tells the
// customer once), so when a new viewer connects it seals frames to that viewer only: the relay
// counts no frame for a viewer it does not know (dropped_no_peer), where before every frame also
// went out sealed for the ghost.
import t from 'tap';
import { type SessionStats, call, login } from './helpers/broker-process.js';
import { type TestViewer, connectViewer, startAgentSession } from './helpers/session-viewer.js';
import type { Xvfb } from './helpers/xvfb.js';

/** The session's relay counters (they start at zero with each broker process). */
async function relayCounters(api: string, token: string, sessionId: number): Promise<NonNullable<SessionStats['relay']>> {
  const res = await call<SessionStats>(api, 'GET', `/sessions/${sessionId}/stats`, { token });
  if (res.status !== 200 || !res.body.relay) throw new Error(`GET /sessions/${sessionId}/stats: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.relay;
}

/** Changes the screen and waits until the viewer has the frame showing it. */
async function freshFrame(xvfb: Xvfb, viewer: TestViewer, color: string): Promise<void> {
  const frame = viewer.nextFrame();
  await xvfb.paint([{ x: 0, y: 0, width: 1920, height: 1080, color }]);
  await frame;
}

t.test('after a broker restart the agent forgets the viewers that did not come back', async (t) => {
  const { xvfb, broker: first, token, session, agent, restartBroker } = await startAgentSession(t);
  const ghosts = [await connectViewer(first.url, session.session_code, token), await connectViewer(first.url, session.session_code, token)];
  for (const ghost of ghosts) t.teardown(() => ghost.close());
  for (const ghost of ghosts) await ghost.nextFrame();

  t.equal(await first.stop(), 0, 'the first broker stops cleanly', { stderr: first.stderr() });
  // Both viewers are gone for good: they never reconnect to the restarted broker.
  for (const ghost of ghosts) await ghost.close();
  const second = await restartBroker();

  const said = await agent.waitFor(
    /.*are no longer connected: the connection ended while this computer was reconnecting to the broker\..*/,
  );
  t.match(said[0], /Nobody sees your screen now\./, 'the customer hears that nobody watches any more');
  t.equal(agent.stderr().split('no longer connected').length - 1, 1, 'said once, for both viewers');
  t.notMatch(agent.stderr(), /left the session/, 'nobody is said to have left the session');

  const secondToken = await login(second.api);
  const viewer = await connectViewer(second.url, session.session_code, secondToken);
  t.teardown(() => viewer.close());
  await freshFrame(xvfb, viewer, '#3366cc');
  // From here on the new viewer is pinned: any sealed datagram the relay cannot deliver is for a ghost.
  const before = await relayCounters(second.api, secondToken, session.id);
  await freshFrame(xvfb, viewer, '#33aa66');
  await freshFrame(xvfb, viewer, '#aa6633');
  const after = await relayCounters(second.api, secondToken, session.id);
  t.ok(after.sealed_forwarded > before.sealed_forwarded, 'frames reach the new viewer, sealed');
  t.equal(after.dropped_no_peer, before.dropped_no_peer, 'no datagram goes out for a viewer the broker does not hold');
  t.equal(viewer.refused(), 0, 'every datagram the new viewer got opens');
  t.equal((agent.stderr().match(/Allow\?/g) ?? []).length, 0, 'no question (--yes)');

  agent.process.kill('SIGINT');
  t.equal(await agent.exited, 0, 'Ctrl-C ends the agent cleanly');
});
