// The broker goes away mid-session (a restart): the agent does not exit, retries with backoff, and
// when the broker is back on the same address it reconnects and streams to the viewer again
// without asking the customer a second time.
import t from 'tap';
import { call } from './helpers/broker-process.js';
import { connectViewer, startAgentSession } from './helpers/session-viewer.js';

t.test('the agent survives a broker restart and resumes the stream', async (t) => {
  const { broker: first, token, session, agent, restartBroker } = await startAgentSession(t);
  const viewer = await connectViewer(first.url, session.session_code, token);
  t.teardown(() => viewer.close());
  await viewer.nextFrame();

  const stopped = await first.stop();
  t.equal(stopped, 0, 'the broker stops cleanly with an agent connected', { stderr: first.stderr() });
  await agent.waitFor(/The broker is restarting; reconnecting in 0\.5 s…/);
  await agent.waitFor(/cannot reach the broker at .*connection refused.*; reconnecting in \d+ s…/i);
  t.equal(agent.process.exitCode, null, 'the agent is still running');

  const second = await restartBroker();
  await agent.waitFor(/Reconnected to the broker\./);
  const again = await connectViewer(second.url, session.session_code, token);
  t.teardown(() => again.close());
  const frame = await again.nextFrame();
  t.ok(frame.jpeg.length > 0, 'frames reach a viewer of the restarted broker');
  t.equal((agent.stderr().match(/Allow\?/g) ?? []).length, 0, 'no second question');
  const info = await call(second.api, 'GET', `/sessions/${session.session_code}/info`);
  t.equal(info.body.status, 'active');

  agent.process.kill('SIGINT');
  t.equal(await agent.exited, 0);
});
