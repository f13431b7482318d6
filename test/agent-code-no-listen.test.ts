// `rac agent --code` (the customer's command) opens no listening port: with a real broker and a
// real agent on Xvfb streaming to a viewer, port 44325 stays closed and the agent process listens
// on nothing; --openctrol serves the Openctrol API there alongside the session.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { RAC_BIN, login, startBrokerProcess } from './helpers/broker-process.js';
import { connectViewer, createSession, startAgent } from './helpers/session-viewer.js';
import { startXvfb } from './helpers/xvfb.js';

const OPENCTROL_PORT = 44325;

/** Resolves with the error code of a TCP connect to 127.0.0.1:port ('connected' if it succeeded). */
const tryConnect = (port: number) =>
  new Promise<string>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });

/** The TCP ports a process listens on, as ss(8) sees them. */
async function listeningPorts(pid: number): Promise<string[]> {
  const { stdout } = await promisify(execFile)('ss', ['-ltnpH']);
  return stdout.split('\n').filter((line) => line.includes(`pid=${pid},`));
}

const xvfb = await startXvfb();
t.teardown(() => xvfb.stop());
await xvfb.paint([{ x: 0, y: 0, width: 1920, height: 1080, color: '#3366cc' }]);
const broker = await startBrokerProcess();
t.teardown(() => broker.stop());
const token = await login(broker.api);

t.test('rac agent --code … --yes: no listening port, 44325 refuses connections', async (t) => {
  t.equal(await tryConnect(OPENCTROL_PORT), 'ECONNREFUSED', 'nothing listens on 44325 before the agent starts');
  const session = await createSession(broker.api, token);
  const agent = spawn(process.execPath, [RAC_BIN, 'agent', '--code', session.session_code, '--server', broker.url, '--yes'], {
    env: xvfb.env,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  agent.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => agent.once('exit', resolve));
  t.teardown(() => agent.kill('SIGKILL'));

  const viewer = await connectViewer(broker.url, session.session_code, token);
  t.teardown(() => viewer.close());
  await viewer.nextFrame();
  t.pass('the session streams');
  t.equal(await tryConnect(OPENCTROL_PORT), 'ECONNREFUSED', 'a connect to 44325 is refused while the session runs');
  t.same(await listeningPorts(agent.pid!), [], 'the agent listens on no TCP port');
  t.notMatch(stderr, /Openctrol/, 'and says nothing about the Openctrol API');

  agent.kill('SIGINT');
  t.equal(await exited, 0, stderr);
});

t.test('rac agent --code … --yes --openctrol: the Openctrol API answers on 44325', async (t) => {
  const session = await createSession(broker.api, token);
  const config = mkdtempSync(join(tmpdir(), 'rac-agent-config-'));
  const agent = startAgent(
    ['--code', session.session_code, '--server', broker.url, '--yes', '--openctrol-host', '127.0.0.1', '--config-dir', config],
    xvfb.env,
    { openctrol: true },
  );
  t.teardown(() => agent.stop('SIGKILL'));
  await agent.waitFor(/Openctrol API listening on http:\/\/127\.0\.0\.1:44325/);
  t.equal((await fetch(`http://127.0.0.1:${OPENCTROL_PORT}/api/v1/health`)).status, 200, 'the API answers');
  t.equal(await agent.stop('SIGINT'), 0);
  t.equal(await tryConnect(OPENCTROL_PORT), 'ECONNREFUSED', 'and stops with the session');
});
