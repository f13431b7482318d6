// Where UDP goes when the broker's HTTP side is not its relay (several broker nodes behind one
// address, or --relay-host): the broker names the relay in the session lookup and in the viewer's
// UDP ticket, and the real agent and viewer send their datagrams there. Here the agent reaches the
// broker only through a proxy on 127.0.0.2, where nothing listens for UDP: frames reach the viewer
// only if the agent followed relay_host to 127.0.0.1.
import { createSocket } from 'node:dgram';
import t from 'tap';
import { decodeDatagram } from '../src/protocol/index.js';
import { UdpPin } from '../src/viewer-tty/udp-pin.js';
import { call, login, startBrokerProcess } from './helpers/broker-process.js';
import { startRelayProxy } from './helpers/relay-proxy.js';
import { connectViewer, createSession, startAgent } from './helpers/session-viewer.js';
import { startXvfb } from './helpers/xvfb.js';

t.test('a single broker without --relay-host names no relay: clients use the host they reached', async (t) => {
  const broker = await startBrokerProcess();
  t.teardown(() => broker.stop());
  const session = await createSession(broker.api, await login(broker.api));
  const info = await call(broker.api, 'GET', `/sessions/${session.session_code}/info`);
  t.equal(info.status, 200);
  t.notOk('relay_host' in info.body, 'no relay_host in the lookup');
  t.notOk('relay_host' in session, 'no relay_host in the session object');
});

t.test('the agent and the viewer send UDP to the relay the broker names', async (t) => {
  const xvfb = await startXvfb();
  t.teardown(() => xvfb.stop());
  await xvfb.paint([{ x: 0, y: 0, width: 1920, height: 1080, color: '#33aa66' }]);
  const broker = await startBrokerProcess({ args: ['--relay-host', '127.0.0.1'] });
  t.teardown(() => broker.stop());
  const proxy = await startRelayProxy(broker.url, { forwardHeaders: ['authorization'], listenHost: '127.0.0.2' });
  t.teardown(() => proxy.stop());
  const token = await login(broker.api);
  const session = await createSession(broker.api, token);

  const info = await call(`${proxy.url}/api`, 'GET', `/sessions/${session.session_code}/info`);
  t.match(info.body, { udp_port: session.udp_port, relay_host: '127.0.0.1' }, 'the lookup names the relay');

  const agent = startAgent(['--code', session.session_code, '--server', proxy.url, '--yes', '--max-width', '640'], xvfb.env);
  t.teardown(() => agent.stop('SIGKILL'));
  const viewer = await connectViewer(broker.url, session.session_code, token);
  t.teardown(() => viewer.close());
  const ticket = viewer.signals.find((message) => message.type === 'udp_ticket');
  t.match(ticket, { relay_host: '127.0.0.1' }, "the viewer's UDP ticket names the relay");
  const frame = await viewer.nextFrame();
  t.ok(frame.jpeg.length > 0, 'frames from an agent that reached the broker through 127.0.0.2 arrive');
});

t.test("the viewer's UDP pin says hello to the named relay, not the broker's host", async (t) => {
  const relay = createSocket('udp4');
  await new Promise<void>((resolve) => relay.bind(0, '127.0.0.1', () => resolve()));
  t.teardown(() => relay.close());
  const hello = new Promise<Buffer>((resolve) => relay.once('message', resolve));
  const pin = new UdpPin({
    host: '127.0.0.2',
    onDatagram: () => undefined,
    onPinned: () => undefined,
    requestTicket: () => undefined,
    onKeepalive: () => undefined,
    onSilence: () => undefined,
  });
  t.teardown(() => pin.close());
  t.equal(await pin.join(relay.address().port, 'ticket-1', '127.0.0.1'), undefined);
  const decoded = decodeDatagram(await hello);
  t.match(decoded, { ok: true, packet: { type: 'control', message: { type: 'viewer_hello', ticket: 'ticket-1' } } });
});
