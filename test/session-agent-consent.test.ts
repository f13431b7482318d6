// The customer's consent, asked on a real terminal (script(1) gives the agent a pty): a refusal
// sends nothing, a yes starts the stream (and the IT member closing the session ends it), someone
// new joining is asked about again, Ctrl-C at the question stops.
import t from 'tap';
import { call, login, type SessionStats, startBrokerProcess } from './helpers/broker-process.js';
import { connectViewer, createSession, startAgent } from './helpers/session-viewer.js';
import { PATIENCE_MS } from './helpers/patience.js';
import { startXvfb, waitForAsync } from './helpers/xvfb.js';

t.test('consent on a terminal', async (t) => {
  const xvfb = await startXvfb();
  t.teardown(() => xvfb.stop());
  await xvfb.paint([{ x: 0, y: 0, width: 1920, height: 1080, color: '#3366cc' }]);
  const broker = await startBrokerProcess();
  t.teardown(() => broker.stop());
  const token = await login(broker.api);
  const stats = async (id: number) => (await call<SessionStats>(broker.api, 'GET', `/sessions/${id}/stats`, { token })).body.relay!;

  await t.test('a refused consent sends nothing', async (t) => {
    const session = await createSession(broker.api, token);
    const agent = startAgent(['--code', session.session_code, '--server', broker.url], xvfb.env, { viaPty: true });
    t.teardown(() => agent.stop('SIGKILL'));
    await agent.waitFor(/waiting for your IT contact/);
    const viewer = await connectViewer(broker.url, session.session_code, token);
    t.teardown(() => viewer.close());
    const asked = await agent.waitFor(
      /System Administrator \(admin@localhost\) wants to see and control this computer\.\s+Security code: (\d{3} \d{3})\. Ask them to read the code on their screen: if it is not the same, answer no\.\s+Allow\? \[y\/N\] /,
    );
    t.equal(await viewer.waitSealed(), asked[1], 'the consent prompt shows the security code the viewer derived');
    agent.process.stdin!.write('n\r');
    t.equal(await agent.exited, 1, 'exit 1');
    t.match(agent.stderr(), /You did not allow System Administrator \(admin@localhost\): nothing was shared\./);
    const relay = await stats(session.id);
    t.equal(relay.agent_pinned, false, 'the agent never pinned a UDP address');
    t.equal(relay.datagrams_in, 2, "the relay received only the viewer's hello and confirm");
    t.same(
      viewer.datagrams.map((d) => (JSON.parse(d.subarray(1).toString()) as { type: string }).type),
      ['viewer_ack', 'viewer_ready'],
      "the viewer got nothing but the relay's answers",
    );
  });

  await t.test('an allowed consent starts the stream', async (t) => {
    const session = await createSession(broker.api, token);
    const agent = startAgent(['--code', session.session_code, '--server', broker.url], xvfb.env, { viaPty: true });
    t.teardown(() => agent.stop('SIGKILL'));
    await agent.waitFor(/waiting for your IT contact/);
    const viewer = await connectViewer(broker.url, session.session_code, token);
    t.teardown(() => viewer.close());
    await agent.waitFor(/Allow\? \[y\/N\] /);
    t.equal(viewer.frames.length, 0, 'nothing before the answer');
    agent.process.stdin!.write('y\r');
    const frame = await viewer.nextFrame();
    t.ok(frame.jpeg.length > 0, 'a frame arrives');
    await agent.waitFor(/Connected: System Administrator \(admin@localhost\) can see and control this computer/);
    // The IT member's viewer leaves: the customer's terminal says so.
    await viewer.close();
    await agent.waitFor(/System Administrator \(admin@localhost\) left the session\. Nobody sees your screen now\./);
    // The IT member ends the session: the agent says so and exits 0.
    t.equal((await call(broker.api, 'DELETE', `/sessions/${session.id}`, { token })).status, 200);
    t.equal(await agent.exited, 0, 'a closed session ends the agent with 0');
    t.match(agent.stderr(), /Your IT contact ended the session\./);
  });

  await t.test('someone new joining pauses the stream and asks again; a refusal ends the session', async (t) => {
    const session = await createSession(broker.api, token);
    const created = await call(broker.api, 'POST', '/users', {
      token,
      body: { email: 'second@example.com', password: 'second-password', full_name: 'Second Admin', role: 'admin' },
    });
    t.equal(created.status, 200);
    const secondToken = await login(broker.api, 'second@example.com', 'second-password');
    const agent = startAgent(['--code', session.session_code, '--server', broker.url], xvfb.env, { viaPty: true });
    t.teardown(() => agent.stop('SIGKILL'));
    await agent.waitFor(/waiting for your IT contact/);
    const viewer = await connectViewer(broker.url, session.session_code, token);
    t.teardown(() => viewer.close());
    await agent.waitFor(/Allow\? \[y\/N\] /);
    agent.process.stdin!.write('y\r');
    await viewer.nextFrame();

    const second = await connectViewer(broker.url, session.session_code, secondToken);
    t.teardown(() => second.close());
    await agent.waitFor(/Second Admin \(second@example\.com\) wants to see and control this computer\.\s+Security code: \d{3} \d{3}\./);
    // While the question is open nothing new is captured: no frame arrives at either viewer.
    const framesBefore = viewer.frames.length + second.frames.length;
    const forwardedBefore = (await stats(session.id)).sealed_forwarded;
    await viewer.control({ type: 'request_keyframe' });
    // The relay has passed the request to the agent's socket, ahead of the answer typed below: a
    // stream that were not paused would answer it with a frame before the agent reads "n".
    t.ok(
      await waitForAsync(async () => (await stats(session.id)).sealed_forwarded > forwardedBefore, PATIENCE_MS),
      'the request reached the agent',
    );
    agent.process.stdin!.write('n\r');
    t.equal(await agent.exited, 1);
    t.equal(viewer.frames.length + second.frames.length, framesBefore, 'paused while asking');
    t.match(agent.stderr(), /You did not allow Second Admin \(second@example\.com\): nothing was shared\./);
  });

  await t.test('Ctrl-C at the question stops the agent', async (t) => {
    const session = await createSession(broker.api, token);
    const agent = startAgent(['--code', session.session_code, '--server', broker.url], xvfb.env, { viaPty: true });
    t.teardown(() => agent.stop('SIGKILL'));
    await agent.waitFor(/waiting for your IT contact/);
    const viewer = await connectViewer(broker.url, session.session_code, token);
    t.teardown(() => viewer.close());
    await agent.waitFor(/Allow\? \[y\/N\] /);
    agent.process.stdin!.write('\x03');
    t.equal(await agent.exited, 0);
    t.match(agent.stderr(), /Stopped\./);
    t.equal((await stats(session.id)).agent_pinned, false, 'nothing was shared');
  });
});
