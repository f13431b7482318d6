// The customer's safety: the consent question on a real terminal (script(1) gives the agent a
// pty), a refusal that sends nothing, no prompt without a terminal, --view-only injecting nothing,
// clear messages and exit codes for bad codes, and the IT member ending the session.
import t from 'tap';
import { VK } from '../src/protocol/index.js';
import { call, login, startBrokerProcess } from './helpers/broker-process.js';
import { connectViewer, createSession, startAgent } from './helpers/session-viewer.js';
import { startCatTerminal, startXvfb } from './helpers/xvfb.js';

t.test('consent, view-only and endings', async (t) => {
  const xvfb = await startXvfb();
  t.teardown(() => xvfb.stop());
  await xvfb.paint([{ x: 0, y: 0, width: 1920, height: 1080, color: '#3366cc' }]);
  const broker = await startBrokerProcess();
  t.teardown(() => broker.stop());
  const token = await login(broker.api);
  const stats = async (id: number) => (await call(broker.api, 'GET', `/sessions/${id}/stats`, { token })).body.relay;

  await t.test('a refused consent sends nothing', async (t) => {
    const session = await createSession(broker.api, token);
    const agent = startAgent(['--code', session.session_code, '--server', broker.url], xvfb.env, { viaPty: true });
    t.teardown(() => agent.stop('SIGKILL'));
    await agent.waitFor(/waiting for your IT contact/);
    const viewer = await connectViewer(broker.url, session.session_code, token);
    t.teardown(() => viewer.close());
    await agent.waitFor(/System Administrator \(admin@localhost\) wants to see and control this computer\. Allow\? \[y\/N\] /);
    agent.process.stdin!.write('n\r');
    t.equal(await agent.exited, 1, 'exit 1');
    t.match(agent.stderr(), /You did not allow System Administrator \(admin@localhost\): nothing was shared\./);
    const relay = await stats(session.id);
    t.equal(relay.agent_pinned, false, 'the agent never pinned a UDP address');
    t.equal(relay.datagrams_in, 1, "the relay received only the viewer's hello");
    t.same(viewer.datagrams.map((d) => d.subarray(1).toString()), ['{"type":"viewer_ack"}'], 'the viewer got nothing but its ack');
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
    await agent.waitFor(/Second Admin \(second@example\.com\) wants to see and control this computer\. Allow\? \[y\/N\] /);
    // While the question is open nothing new is captured: no frame arrives at either viewer.
    const framesBefore = viewer.frames.length + second.frames.length;
    await viewer.control({ type: 'request_keyframe' });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    t.equal(viewer.frames.length + second.frames.length, framesBefore, 'paused while asking');
    agent.process.stdin!.write('n\r');
    t.equal(await agent.exited, 1);
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

  await t.test('without a terminal and without --yes nothing is asked and nothing is shared', async (t) => {
    const session = await createSession(broker.api, token);
    const agent = startAgent(['--code', session.session_code, '--server', broker.url], xvfb.env);
    t.equal(await agent.exited, 2);
    t.match(agent.stderr(), /rac: cannot ask for your permission: stdin is not a terminal\. Run this in a terminal, or add --yes/);
    const info = await call(broker.api, 'GET', `/sessions/${session.session_code}/info`);
    t.equal(info.body.status, 'pending', 'the agent never connected');
  });

  await t.test('--view-only streams but injects nothing', async (t) => {
    const session = await createSession(broker.api, token);
    const cat = await startCatTerminal(xvfb);
    t.teardown(() => cat.stop());
    await xvfb.run('xdotool', ['mousemove', '700', '600']);
    const agent = startAgent(['--code', session.session_code, '--server', broker.url, '--yes', '--view-only', '--chunk-size', '60000'], xvfb.env);
    t.teardown(() => agent.stop('SIGKILL'));
    await agent.waitFor(/waiting for your IT contact/);
    const viewer = await connectViewer(broker.url, session.session_code, token);
    t.teardown(() => viewer.close());
    await agent.waitFor(/can see this computer \(view only\)\. Press Ctrl-C to stop sharing\./);
    await viewer.nextFrame();

    const input = [
      () => viewer.mouse(100, 100),
      () => viewer.mouse(100, 100, 1, 1),
      () => viewer.mouse(100, 100, 1, 0),
      () => viewer.key(VK.KEY_X, 1),
      () => viewer.key(VK.KEY_X, 0),
      () => viewer.key(VK.RETURN, 1),
      () => viewer.key(VK.RETURN, 0),
    ];
    for (const send of input) await send();
    // A frame asked for after the input proves the agent has read it.
    const after = viewer.nextFrame();
    await viewer.control({ type: 'request_keyframe' });
    await after;
    t.same(await xvfb.mouse(), { x: 700, y: 600 }, 'the pointer did not move');
    t.equal(cat.read(), '', 'no key arrived');

    const sizes = viewer.datagrams.filter((d) => d[0] === 1).map((d) => d.length);
    t.ok(sizes.every((n) => n <= 60021), `--chunk-size 60000: datagrams of at most 60021 bytes (largest ${Math.max(...sizes)})`);
    t.equal(await agent.stop('SIGTERM'), 0);
    t.match(agent.stderr(), new RegExp(`input: 0 mouse, 0 keys, ${input.length} ignored`));
  });

  await t.test('unknown, closed and unreachable sessions get a clear message', async (t) => {
    const unknown = startAgent(['--code', '123 456 789', '--server', broker.url, '--yes'], xvfb.env);
    t.equal(await unknown.exited, 4, 'unknown code: exit 4');
    t.match(unknown.stderr(), /rac: no session with code 123456789 on http:\/\/127\.0\.0\.1:\d+: check the code your IT contact gave you/);

    const session = await createSession(broker.api, token);
    await call(broker.api, 'DELETE', `/sessions/${session.id}`, { token });
    const closed = startAgent(['--code', session.session_code, '--server', broker.url, '--yes'], xvfb.env);
    t.equal(await closed.exited, 1, 'closed session: exit 1');
    t.match(closed.stderr(), /rac: session \d{9} has been closed: ask your IT contact for a new code/);

    const nobody = startAgent(['--code', '123456789', '--server', 'http://127.0.0.1:9', '--yes'], xvfb.env);
    t.equal(await nobody.exited, 1, 'unreachable broker: exit 1');
    t.match(nobody.stderr(), /rac: cannot reach the broker at http:\/\/127\.0\.0\.1:9: connection refused/);

    const bad = startAgent(['--code', '12345', '--server', broker.url, '--yes'], xvfb.env);
    t.equal(await bad.exited, 2, 'a malformed code is a usage error');
    t.match(bad.stderr(), /--code: expected the 9-digit session code, got "12345"/);

    const noServer = startAgent(['--code', '123456789', '--yes'], { ...xvfb.env, RAC_SERVER: '' });
    t.equal(await noServer.exited, 2);
    t.match(noServer.stderr(), /--server is required \(or set RAC_SERVER\)/);
  });
});
