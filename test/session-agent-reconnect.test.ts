// The broker goes away mid-session (a restart): the agent does not exit, retries with backoff, and
// when the broker is back on the same address it reconnects and streams to the viewer again
// without asking the customer a second time.
import { createServer } from 'node:net';
import t from 'tap';
import { call, login, startBrokerProcess } from './helpers/broker-process.js';
import { connectViewer, createSession, startAgent } from './helpers/session-viewer.js';
import { startXvfb } from './helpers/xvfb.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

t.test('the agent survives a broker restart and resumes the stream', async (t) => {
  const xvfb = await startXvfb();
  t.teardown(() => xvfb.stop());
  await xvfb.paint([{ x: 0, y: 0, width: 1920, height: 1080, color: '#cc3366' }]);
  const port = await freePort();
  const first = await startBrokerProcess({ args: ['--port', String(port)] });
  t.teardown(() => first.stop());
  const token = await login(first.api);
  const session = await createSession(first.api, token);

  const agent = startAgent(['--code', session.session_code, '--server', first.url, '--yes', '--max-width', '640'], xvfb.env);
  t.teardown(() => agent.stop('SIGKILL'));
  const viewer = await connectViewer(first.url, session.session_code, token);
  t.teardown(() => viewer.close());
  await viewer.nextFrame();

  const stopped = await first.stop();
  t.equal(stopped, 0, 'the broker stops cleanly with an agent connected', { stderr: first.stderr() });
  await agent.waitFor(/The broker is restarting; reconnecting in 0\.5 s…/);
  await agent.waitFor(/cannot reach the broker at .*connection refused.*; reconnecting in \d+ s…/i);
  t.equal(agent.process.exitCode, null, 'the agent is still running');

  const second = await startBrokerProcess({ dataDir: first.dataDir, udpPorts: first.udpPorts, args: ['--port', String(port)] });
  t.teardown(() => second.stop());
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
