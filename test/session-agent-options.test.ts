// No question without a terminal, --view-only injecting nothing, and clear messages and exit
// codes for unknown, closed and unreachable sessions and malformed options.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { VK } from '../src/protocol/index.js';
import { call, login, startBrokerProcess } from './helpers/broker-process.js';
import { connectViewer, createSession, startAgent } from './helpers/session-viewer.js';
import { startCatTerminal, startXvfb } from './helpers/xvfb.js';

const execFileAsync = promisify(execFile);

t.test('no terminal, view-only, bad codes', async (t) => {
  const xvfb = await startXvfb();
  t.teardown(() => xvfb.stop());
  await xvfb.paint([{ x: 0, y: 0, width: 1920, height: 1080, color: '#3366cc' }]);
  const broker = await startBrokerProcess();
  t.teardown(() => broker.stop());
  const token = await login(broker.api);

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
    // A noisy picture, so a frame needs more than one 60000-byte chunk.
    const picture = join(mkdtempSync(join(tmpdir(), 'rac-noise-')), 'noise.png');
    await execFileAsync('convert', ['-size', '1920x1080', 'plasma:fractal', picture]);
    await xvfb.run('display', ['-window', 'root', picture]).catch(() => undefined);
    const cat = await startCatTerminal(xvfb);
    t.teardown(() => cat.stop());
    await xvfb.run('xdotool', ['mousemove', '700', '600']);
    const agent = startAgent(
      ['--code', session.session_code, '--server', broker.url, '--yes', '--view-only', '--chunk-size', '60000'],
      xvfb.env,
    );
    t.teardown(() => agent.stop('SIGKILL'));
    await agent.waitFor(/waiting for your IT contact/);
    const viewer = await connectViewer(broker.url, session.session_code, token);
    t.teardown(() => viewer.close());
    await agent.waitFor(/can see this computer \(view only\)\. Security code \d{3} \d{3}\. Press Ctrl-C to stop sharing\./);
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

    // Sealed: the 60021-byte type-1 datagram plus the seal's 12-byte header and 16-byte tag.
    const sizes = viewer.datagrams.filter((d) => d[0] === 5).map((d) => d.length);
    t.ok(
      sizes.every((n) => n <= 60049),
      `--chunk-size 60000: datagrams of at most 60049 bytes (largest ${Math.max(...sizes)})`,
    );
    t.ok(sizes.includes(60049), 'full chunks carry exactly 60000 JPEG bytes, as the reference client sends them');
    t.ok(
      viewer.frames.some((f) => f.chunks > 1),
      `multi-chunk frames reassemble (${viewer.frames.map((f) => f.chunks)})`,
    );
    t.equal(await agent.stop('SIGTERM'), 0);
    t.match(agent.stderr(), new RegExp(`input: 0 mouse, 0 keys, ${input.length} ignored`));
  });

  await t.test('--code serves the Openctrol API alongside, and goes on without it when it cannot', async (t) => {
    const config = mkdtempSync(join(tmpdir(), 'rac-agent-config-'));
    const session = await createSession(broker.api, token);
    const api = ['--openctrol-host', '127.0.0.1', '--openctrol-port', '0', '--config-dir', config];
    const agent = startAgent(['--code', session.session_code, '--server', broker.url, '--yes', ...api], xvfb.env, { openctrol: true });
    t.teardown(() => agent.stop('SIGKILL'));
    const [, url] = await agent.waitFor(/Openctrol API listening on (http:\/\/127\.0\.0\.1:\d+)/);
    t.equal((await fetch(`${url}/api/v1/health`)).status, 200, 'the API answers');
    const viewer = await connectViewer(broker.url, session.session_code, token);
    t.teardown(() => viewer.close());
    await viewer.nextFrame();
    t.equal(await agent.stop('SIGINT'), 0);
    await t.rejects(fetch(`${url}/api/v1/health`), 'the API stopped with the session');

    // Port taken (say, by the always-on agent): the session still works.
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    t.teardown(() => blocker.close());
    const busy = String((blocker.address() as { port: number }).port);
    const second = await createSession(broker.api, token);
    const agent2 = startAgent(
      [
        '--code',
        second.session_code,
        '--server',
        broker.url,
        '--yes',
        '--openctrol-host',
        '127.0.0.1',
        '--openctrol-port',
        busy,
        '--config-dir',
        config,
      ],
      xvfb.env,
      { openctrol: true },
    );
    t.teardown(() => agent2.stop('SIGKILL'));
    await agent2.waitFor(/rac agent: the Openctrol API is not served \(.*\); the session goes on without it/);
    const viewer2 = await connectViewer(broker.url, second.session_code, token);
    t.teardown(() => viewer2.close());
    t.ok((await viewer2.nextFrame()).jpeg.length > 0, 'frames flow');
    t.equal(await agent2.stop('SIGINT'), 0);
  });

  await t.test('unknown, closed and unreachable sessions get a clear message', async (t) => {
    const closedSession = await createSession(broker.api, token);
    await call(broker.api, 'DELETE', `/sessions/${closedSession.id}`, { token });
    const live = await createSession(broker.api, token);
    const { DISPLAY: _display, ...noDisplay } = xvfb.env;
    // All at once: each is a process that ends by itself.
    const cases = [
      {
        name: 'unknown code',
        args: ['--code', '123 456 789', '--server', broker.url, '--yes'],
        env: xvfb.env,
        exit: 4,
        message: /rac: no session with code 123456789 on http:\/\/127\.0\.0\.1:\d+: check the code your IT contact gave you/,
      },
      {
        name: 'closed session',
        args: ['--code', closedSession.session_code, '--server', broker.url, '--yes'],
        env: xvfb.env,
        exit: 1,
        message: /rac: session \d{9} has been closed: ask your IT contact for a new code/,
      },
      {
        name: 'unreachable broker',
        args: ['--code', '123456789', '--server', 'http://127.0.0.1:9', '--yes'],
        env: xvfb.env,
        exit: 1,
        message: /rac: cannot reach the broker at http:\/\/127\.0\.0\.1:9: connection refused/,
      },
      {
        name: 'no desktop',
        args: ['--code', live.session_code, '--server', broker.url, '--yes'],
        env: noDisplay,
        exit: 1,
        message: /rac: cannot share the screen: DISPLAY is not set/,
      },
      {
        name: 'malformed code',
        args: ['--code', '12345', '--server', broker.url, '--yes'],
        env: xvfb.env,
        exit: 2,
        message: /--code: expected the 9-digit session code, got "12345"/,
      },
      {
        name: 'no server',
        args: ['--code', '123456789', '--yes'],
        env: { ...xvfb.env, RAC_SERVER: '' },
        exit: 2,
        message: /--server is required \(or set RAC_SERVER\)/,
      },
    ];
    const agents = cases.map((c) => startAgent(c.args, c.env));
    for (const [i, c] of cases.entries()) {
      t.equal(await agents[i]!.exited, c.exit, `${c.name}: exit ${c.exit}`);
      t.match(agents[i]!.stderr(), c.message, `${c.name}: says why`);
    }
    t.equal(
      (await call(broker.api, 'GET', `/sessions/${live.session_code}/info`)).body.status,
      'pending',
      'no desktop: found out before connecting',
    );
  });
});
