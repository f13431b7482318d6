// rac serve --tls-cert/--tls-key against real clients: HTTPS for the CLI (refused with a clear
// message without the private CA, accepted with --ca-file), WSS for the agent's and the viewer's
// WebSockets and for the tunnels of `rac shell` (both ends trust the CA file), and a SIGHUP that swaps the certificate while a session keeps streaming.
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import t from 'tap';
import { lookupSession, SignalLink } from '../src/agent/session/broker-link.js';
import { BrokerClient } from '../src/client/broker-client.js';
import { SessionConnection } from '../src/viewer-tty/session-connection.js';
import { loadTlsTrust, tlsConnectOptions } from '../src/shared/tls-trust.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startBrokerProcess } from './helpers/broker-process.js';
import { isolatedEnv, rac, spawnRac } from './helpers/cli.js';
import { PATIENCE_MS } from './helpers/patience.js';
import { startSealedAgent } from './helpers/sealed-agent.js';
import { connectViewer, startAgent } from './helpers/session-viewer.js';
import { startXvfb } from './helpers/xvfb.js';
import { helperSocketTls, makeServerCertificate, makeTestCa } from './helpers/test-certificates.js';
import { solidJpeg } from './helpers/test-picture.js';

const ca = makeTestCa();
const first = makeServerCertificate(ca, 'broker-first');
const second = makeServerCertificate(ca, 'broker-second');
// The files the broker is started with; the reload test writes the second pair over them.
const certFile = join(ca.dir, 'served.pem');
const keyFile = join(ca.dir, 'served.key');
copyFileSync(first.cert, certFile);
copyFileSync(first.key, keyFile);
const trust = loadTlsTrust(ca.caCert);
// The test's own WebSockets (the helpers' viewer and sealed agent) trust the test CA too.
Object.assign(helperSocketTls, tlsConnectOptions(trust));

const broker = await startBrokerProcess({ args: ['--tls-cert', certFile, '--tls-key', keyFile] });
t.teardown(() => broker.stop());

/** The SHA-256 fingerprint a new TLS connection to the broker is shown. */
function servedFingerprint(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: broker.port, ...tlsConnectOptions(trust) }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.once('error', reject);
  });
}

/** Resolves once the broker has written `text` to stderr. */
function untilBrokerSays(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rac serve never said "${text}":\n${broker.stderr()}`)), PATIENCE_MS);
    const check = () => {
      if (!broker.stderr().includes(text)) return;
      clearTimeout(timer);
      broker.process.stderr!.off('data', check);
      resolve();
    };
    broker.process.stderr!.on('data', check);
    check();
  });
}

const loginArgs = ['login', '--server', broker.url, '--email', ADMIN_EMAIL, '--password-stdin'];

t.test('the banner says https and names the certificate', async (t) => {
  t.match(broker.url, /^https:/);
  await untilBrokerSays('TLS certificate CN=broker-first');
  t.match(broker.stderr(), `SHA-256 ${first.fingerprint256} (SIGHUP reloads it)`);
  t.match(broker.stderr(), `Server listening at https://127.0.0.1:${broker.port}`);
  t.notMatch(broker.stderr(), 'listening at http://', 'no line says plain http');
});

t.test('without the private CA the CLI refuses the broker and says how to fix it', async (t) => {
  const env = isolatedEnv();
  const result = await rac(loginArgs, { env, stdin: `${ADMIN_PASSWORD}\n` });
  t.equal(result.code, 1);
  t.match(
    result.stderr,
    'rac: rac could not verify the certificate of 127.0.0.1: unable to verify the first certificate; pass --ca-file with your CA, see man rac-login',
  );
  t.notMatch(result.stderr, /Logged in/);
});

t.test('with --ca-file the login works and later commands reuse its CA', async (t) => {
  const env = isolatedEnv();
  const login = await rac([...loginArgs, '--ca-file', ca.caCert], { env, stdin: `${ADMIN_PASSWORD}\n` });
  t.equal(login.code, 0, login.stderr);
  const created = await spawnRac(['session', 'create', '--customer-name', 'Over TLS', '--json'], { env });
  t.equal(created.code, 0, created.stderr);
  const session = JSON.parse(created.stdout) as { session_code: string };
  t.match(session.session_code, /^\d{9}$/);
  const info = await rac(['session', 'info', session.session_code, '--json'], { env });
  t.equal(info.code, 0, info.stderr);
});

t.test('RAC_CA_FILE works like --ca-file, and a wrong CA file is named', async (t) => {
  const good = await rac(loginArgs, { env: isolatedEnv({ RAC_CA_FILE: ca.caCert }), stdin: `${ADMIN_PASSWORD}\n` });
  t.equal(good.code, 0, good.stderr);
  const otherCa = makeTestCa();
  const wrong = await rac([...loginArgs, '--ca-file', otherCa.caCert], { env: isolatedEnv(), stdin: `${ADMIN_PASSWORD}\n` });
  t.equal(wrong.code, 1);
  t.match(wrong.stderr, `${otherCa.caCert} does not hold the CA that signed it`);
  const missing = await rac([...loginArgs, '--ca-file', join(ca.dir, 'nope.pem')], { env: isolatedEnv(), stdin: `${ADMIN_PASSWORD}\n` });
  t.equal(missing.code, 2);
  t.match(missing.stderr, /cannot read the CA file .*nope\.pem: no such file/);
});

t.test("the customer's agent: refused without the CA, its lookup and WebSocket work over WSS with it", async (t) => {
  const client = new BrokerClient({ server: broker.url, tls: trust });
  t.teardown(() => client.close());
  const { access_token } = await client.login(ADMIN_EMAIL, ADMIN_PASSWORD);
  const session = await new BrokerClient({ server: broker.url, token: access_token, tls: trust }).createSession({});

  const refused = await spawnRac(['agent', '--code', session.session_code, '--server', broker.url, '--yes'], { env: isolatedEnv() });
  t.equal(refused.code, 1);
  t.match(refused.stderr, 'rac could not verify the certificate of 127.0.0.1');

  const lookup = await lookupSession(broker.url, session.session_code, trust);
  t.ok(lookup.ok, 'the lookup verifies the broker with the CA');
  const link = new SignalLink(broker.url, session.session_code, undefined, trust);
  t.teardown(() => link.close());
  const welcome = await new Promise<{ sessionId: number }>((resolve) => link.once('welcome', resolve));
  t.equal(welcome.sessionId, session.id, 'the agent WebSocket is welcomed over wss://');
});

t.test("rac shell over WSS: the login's CA file reaches the tunnel, and the agent's --ca-file its end", async (t) => {
  const xvfb = await startXvfb();
  t.teardown(() => xvfb.stop());
  const env = isolatedEnv();
  const login = await rac([...loginArgs, '--ca-file', ca.caCert], { env, stdin: `${ADMIN_PASSWORD}\n` });
  t.equal(login.code, 0, login.stderr);
  const created = await spawnRac(['session', 'create', '--json'], { env });
  const { session_code: code } = JSON.parse(created.stdout) as { session_code: string };
  const agentEnv = { ...xvfb.env, XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'rac-agent-config-')) };
  const agent = startAgent(['--code', code, '--server', broker.url, '--ca-file', ca.caCert, '--allow-shell', '--yes'], agentEnv);
  t.teardown(() => agent.stop('SIGKILL'));
  await agent.waitFor(/This computer's SSH key/);
  const shell = await spawnRac(['shell', code, '--', 'echo', 'over-tls'], { env });
  t.equal(shell.code, 0, shell.stderr);
  t.equal(shell.stdout, 'over-tls\n', "the command ran on the customer's side, through both TLS ends");
});

t.test("the viewer's connection (rac view's transport) streams over WSS with the CA, and ends without it", async (t) => {
  const client = new BrokerClient({ server: broker.url, tls: trust });
  t.teardown(() => client.close());
  const { access_token } = await client.login(ADMIN_EMAIL, ADMIN_PASSWORD);
  const session = await new BrokerClient({ server: broker.url, token: access_token, tls: trust }).createSession({});
  const agent = await startSealedAgent(broker.url, session, { width: 64, height: 64 });
  t.teardown(() => agent.close());

  const untrusted = await new Promise<string | undefined>((resolve) => {
    const connection = new SessionConnection({
      webSocketUrl: client.sessionWebSocketUrl(session.session_code),
      token: access_token,
      events: { state: (state, detail) => state === 'ended' && resolve(detail) },
    });
    t.teardown(() => connection.close());
    connection.start();
  });
  t.match(
    untrusted,
    'rac could not verify the certificate of 127.0.0.1: unable to verify the first certificate',
    'without the CA: ended, not retried',
  );

  const frames: Buffer[] = [];
  let sealed!: () => void;
  const keyed = new Promise<void>((resolve) => (sealed = resolve));
  let arrived!: () => void;
  const framed = new Promise<void>((resolve) => (arrived = resolve));
  const connection = new SessionConnection({
    webSocketUrl: client.sessionWebSocketUrl(session.session_code),
    token: access_token,
    tls: trust,
    events: {
      security: (security) => security.state === 'sealed' && sealed(),
      frame: (jpeg) => {
        frames.push(jpeg);
        arrived();
      },
    },
  });
  t.teardown(() => connection.close());
  connection.start();
  await Promise.all([keyed, agent.nextViewer()]);
  // The viewer's UDP address is pinned a round trip after the keys: the frame is sent again until one arrives.
  const picture = solidJpeg([200, 20, 90]);
  const resend = setInterval(() => void agent.sendFrame(picture), 250);
  await agent.sendFrame(picture);
  await framed.finally(() => clearInterval(resend));
  t.ok(frames[0]!.equals(picture), 'with the CA: keys agreed over wss:// and a frame arrives');
});

t.test('SIGHUP serves a new certificate to new connections while a session keeps streaming', async (t) => {
  const client = new BrokerClient({ server: broker.url, tls: trust });
  t.teardown(() => client.close());
  const { access_token } = await client.login(ADMIN_EMAIL, ADMIN_PASSWORD);
  const session = await new BrokerClient({ server: broker.url, token: access_token, tls: trust }).createSession({});
  const agent = await startSealedAgent(broker.url, session, { width: 64, height: 64 });
  t.teardown(() => agent.close());
  const viewer = await connectViewer(broker.url, session.session_code, access_token);
  t.teardown(() => viewer.close());
  await viewer.waitSealed();
  t.equal(await servedFingerprint(), first.fingerprint256, 'before: the first certificate');

  copyFileSync(second.cert, certFile);
  copyFileSync(second.key, keyFile);
  broker.process.kill('SIGHUP');
  await untilBrokerSays('now serving CN=broker-second');
  t.equal(await servedFingerprint(), second.fingerprint256, 'after: a new connection sees the second certificate');

  t.equal(viewer.ws.readyState, viewer.ws.OPEN, "the viewer's WebSocket (opened with the first certificate) is still open");
  const picture = solidJpeg([10, 200, 30]);
  const next = viewer.nextFrame();
  await agent.sendFrame(picture);
  t.ok((await next).jpeg.equals(picture), 'and the session still streams');

  // A broken pair is refused, and the certificate in use stays.
  writeFileSync(keyFile, 'not a key\n');
  broker.process.kill('SIGHUP');
  await untilBrokerSays('kept the previous certificate');
  t.match(broker.stderr(), `kept the previous certificate: ${keyFile} holds no readable private key`);
  t.equal(await servedFingerprint(), second.fingerprint256, 'new connections still get the second certificate');
  t.equal(broker.process.exitCode, null, 'the broker is still running');
});
