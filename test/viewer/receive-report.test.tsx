// The viewer's side of adaptive quality: once a second it seals a timestamped keepalive and a
// receive report to the agent (frames whole and lost, bytes, decode time, the round trip from the
// agent's echoes), never in clear; it shows the agent's stream_settings on the status line; and
// the viewer-mode keys pin quality and fps or hand them back. The agent is played by a relay peer
// (test/helpers/relay-peer.ts) over real sockets.
import t, { type Test } from 'tap';
import { render } from 'ink-testing-library';
import { SessionConnection } from '../../src/viewer-tty/session-connection.js';
import { ReceiveReporter } from '../../src/viewer-tty/receive-report.js';
import { qualityKeyAction } from '../../src/viewer-tty/quality-keys.js';
import { StatusLine } from '../../src/viewer-tty/components/StatusLine.js';
import { type ControlMessage, type ReceiveReport, encodeControl, encodeFrameChunk } from '../../src/protocol/index.js';
import { PEER_TOKEN, type RelayPeer, type RelayPeerOptions, startRelayPeer } from '../helpers/relay-peer.js';

async function connect(t: Test, options: RelayPeerOptions = {}) {
  const peer = await startRelayPeer(options);
  t.teardown(() => peer.close());
  const conn = new SessionConnection({
    webSocketUrl: `${peer.url.replace('http', 'ws')}/ws/session/${peer.code}`,
    token: PEER_TOKEN,
    keepaliveMs: 100,
    helloRetryMs: 200,
    reconnectBaseMs: 20,
    events: {},
  });
  t.teardown(() => conn.close());
  conn.start();
  await peer.waitFor('the UDP address pinned', () => conn.state === 'connected');
  if ((options.agent ?? 'sealed') === 'sealed') await peer.waitFor('keys agreed', () => peer.sas() !== undefined);
  return { peer, conn };
}

const controls = (peer: RelayPeer, type: string) =>
  peer.received.flatMap((p) => (p.type === 'control' && p.message.type === type ? [{ ...p.message, sealed: p.sealed }] : []));
const reports = (peer: RelayPeer) => controls(peer, 'receive_report') as (ReceiveReport & { sealed: boolean })[];
const toViewer = (peer: RelayPeer, message: ControlMessage) => peer.sendRaw(peer.seal(encodeControl(message)));

t.test('sealed reports count whole and lost frames; the echo of a keepalive gives the round trip', async (t) => {
  const { peer, conn } = await connect(t);
  // Frame 1 loses its second chunk; frame 2 arrives whole and supersedes it: one whole, one lost.
  const half = Buffer.from('first half');
  peer.sendRaw(peer.seal(encodeFrameChunk({ frameId: 1n, chunkIndex: 0, totalChunks: 2, totalSize: 2 * half.length, data: half })));
  peer.sendFrame(Buffer.from('a whole picture'));
  await peer.waitFor('a report with the lost frame', () => reports(peer).some((r) => r.lost === 1));
  const report = reports(peer).find((r) => r.lost === 1)!;
  t.equal(report.frames, 1, 'one frame whole');
  t.ok(report.bytes > 0 && report.interval_ms > 0, `bytes ${report.bytes} over ${report.interval_ms} ms`);
  t.ok(
    reports(peer).every((r) => r.sealed),
    'every report was sealed',
  );

  const stamped = controls(peer, 'keepalive').filter((k) => 't' in k && k.sealed) as { t: number }[];
  t.ok(stamped.length > 0, 'timestamped keepalives go to the agent sealed');
  t.notOk(
    reports(peer).some((r) => r.rtt_ms !== undefined),
    'no round trip before an echo',
  );
  toViewer(peer, { type: 'keepalive', t: stamped.at(-1)!.t });
  await peer.waitFor('a report with a round trip', () => reports(peer).some((r) => r.rtt_ms !== undefined));
  const rtt = reports(peer).find((r) => r.rtt_ms !== undefined)!.rtt_ms!;
  t.ok(rtt >= 0 && rtt < 5000, `round trip ${rtt} ms`);
  conn.frameDecoded(12);
  await peer.waitFor('a report with the decode time', () => reports(peer).some((r) => r.decode_ms === 12));
});

t.test("the agent's stream settings reach the stats; pins and auto go to the agent sealed", async (t) => {
  const { peer, conn } = await connect(t);
  t.equal(conn.stats().settings, undefined, 'nothing to show before the agent says');
  toViewer(peer, { type: 'stream_settings', quality: 45, fps: 8, auto: true });
  await peer.waitFor('the settings', () => conn.stats().settings !== undefined);
  t.same(conn.stats().settings, { quality: 45, fps: 8, auto: true });
  conn.setQuality(35, 8);
  conn.autoQuality();
  await peer.waitFor('the pin and the auto', () => controls(peer, 'auto_quality').length === 1);
  t.same(controls(peer, 'set_quality'), [{ type: 'set_quality', quality: 35, fps: 8, sealed: true }]);
  t.same(controls(peer, 'auto_quality'), [{ type: 'auto_quality', sealed: true }]);
});

t.test('a reference client gets no reports: feedback is never sent in clear', async (t) => {
  const { peer, conn } = await connect(t, { agent: 'clear', allowUnencrypted: true });
  peer.sendFrame(Buffer.from('clear picture'));
  await peer.waitFor('the clear agent recognised', () => conn.stats().framesShown === 1);
  conn.autoQuality();
  // Two report intervals pass: the viewer's clear relay keepalives (every 100 ms here) mark the time.
  const before = controls(peer, 'keepalive').length;
  await peer.waitFor('two seconds of keepalives', () => controls(peer, 'keepalive').length >= before + 20);
  t.same(reports(peer), [], 'no receive report');
  t.same(controls(peer, 'auto_quality'), [], 'no auto_quality');
  t.notOk(
    controls(peer, 'keepalive').some((k) => 't' in k),
    'no timestamped keepalive',
  );
});

t.test('ReceiveReporter: windows, loss from the reassembler count, smoothed round trip', async (t) => {
  let now = 1000;
  let dropped = 5;
  const reporter = new ReceiveReporter(
    () => dropped,
    () => now,
  );
  reporter.frame();
  reporter.frame();
  reporter.bytes(3000);
  reporter.decoded(10);
  reporter.decoded(20);
  dropped = 6;
  now = 2000;
  t.same(reporter.take(), { type: 'receive_report', interval_ms: 1000, frames: 2, lost: 1, bytes: 3000, decode_ms: 15 });
  now = 2500;
  t.same(reporter.take(), { type: 'receive_report', interval_ms: 500, frames: 0, lost: 0, bytes: 0 }, 'a fresh window');
  reporter.echo(2400);
  t.equal(reporter.rttMs, 100, 'the first sample as it is');
  reporter.echo(2500 - 300);
  t.equal(reporter.rttMs, 150, 'then a quarter of each new sample');
  reporter.echo(now + 10);
  reporter.echo(now - 120_000);
  t.equal(reporter.rttMs, 150, 'echoes from the future or far past are ignored');
});

t.test('viewer-mode keys: [ ] quality, { } fps, a auto; the status line says the values', async (t) => {
  const current = { quality: 60, fps: 15, auto: true };
  t.same(qualityKeyAction('[', current), { kind: 'pin', quality: 50, fps: 15 });
  t.same(qualityKeyAction(']', current), { kind: 'pin', quality: 70, fps: 15 });
  t.same(qualityKeyAction('{', current), { kind: 'pin', quality: 60, fps: 13 });
  t.same(qualityKeyAction('}', current), { kind: 'pin', quality: 60, fps: 17 });
  t.same(qualityKeyAction('a', undefined), { kind: 'auto' });
  t.same(qualityKeyAction('[', { quality: 5, fps: 1, auto: false }), { kind: 'pin', quality: 1, fps: 1 }, 'never under 1');
  t.same(qualityKeyAction(']', { quality: 95, fps: 60, auto: false }), { kind: 'pin', quality: 100, fps: 60 });
  t.equal(qualityKeyAction('[', undefined), undefined, 'nothing to start from before the agent said its values');
  t.equal(qualityKeyAction('+', current), undefined, 'zoom keys stay zoom keys');

  const stats = { fps: 7.5, kbps: 300, frameLoss: 0, latencyMs: 20, framesShown: 10 };
  const line = (settings?: typeof current) => {
    const props = { code: '482916573', status: 'active', link: 'connected' as const, hasPicture: true, control: 'remote' as const };
    const r = render(<StatusLine {...props} escapeKey="Ctrl-]" stats={{ ...stats, settings }} />);
    const frame = r.lastFrame() ?? '';
    r.unmount();
    return frame;
  };
  t.match(line(current), 'q60 ≤15 fps auto');
  t.match(line({ quality: 35, fps: 5, auto: false }), 'q35 ≤5 fps pinned');
  t.notMatch(line(), '≤', 'nothing before the agent says');
});

t.test('the report names the newest update received whole: a full frame, or every rectangle of one', async (t) => {
  const reporter = new ReceiveReporter(() => 0);
  t.notOk('last_frame' in reporter.take(), 'nothing arrived yet: no last_frame');
  const updates = reporter.updates;
  updates.frame(100n);
  t.equal(reporter.take().last_frame, '100', 'a full frame');
  updates.rect(101n, 0, 2);
  t.equal(updates.newest, 100n, 'half an update is not whole');
  updates.rect(102n, 0, 1);
  t.equal(updates.newest, 102n, 'a one-rectangle update is');
  updates.rect(101n, 1, 2);
  t.equal(updates.newest, 102n, 'an older update completing later does not go back');
  updates.rect(103n, 1, 2);
  updates.rect(103n, 1, 2);
  t.equal(updates.newest, 102n, 'the same rectangle twice is still one');
  updates.rect(103n, 0, 2);
  t.equal(reporter.take().last_frame, '103', 'all rectangles, in any order');
  updates.frame(99n);
  t.equal(updates.newest, 103n, 'an older full frame does not go back either');
  const big = 2n ** 63n - 1n;
  updates.frame(big);
  t.equal(reporter.take().last_frame, big.toString(), '64-bit ids survive as decimal');
  updates.reset();
  t.notOk('last_frame' in reporter.take(), 'a new agent: nothing received from it yet');
  updates.rect(50n, 0, 1);
  t.equal(updates.newest, 50n, "then the new agent's ids count, even if lower");
});
