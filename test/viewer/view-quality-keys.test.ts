// `rac view` in a real terminal (tmux) against a peer playing the broker and the sealed agent: the
// status line shows the quality and frame rate the agent says it streams with, and in viewer mode
// [ ] { } pin them (set_quality, sealed) from those values and a hands them back (auto_quality).
import t from 'tap';
import { RAC_BIN } from '../helpers/broker-process.js';
import { PEER_TOKEN, type RelayPeer, startRelayPeer } from '../helpers/relay-peer.js';
import { quadrantJpeg } from '../helpers/test-picture.js';
import { Tmux } from '../helpers/viewer-tmux.js';
import { encodeControl } from '../../src/protocol/index.js';

const sent = (peer: RelayPeer, type: string) =>
  peer.received.flatMap((p) => (p.type === 'control' && p.message.type === type ? [{ ...p.message, sealed: p.sealed }] : []));

t.test('the status line says quality and fps; viewer-mode keys pin them and hand them back', async (t) => {
  const peer = await startRelayPeer({ customerName: 'Ada' });
  t.teardown(() => peer.close());
  // Wide enough for the figures beside viewer mode's list of keys (narrower, the figures are cut first).
  const term = new Tmux(200, 30);
  t.teardown(() => term.kill());
  term.start(`${process.execPath} ${RAC_BIN} view ${peer.code} --graphics blocks; echo EXIT=$?; sleep 60`, {
    RAC_SERVER: peer.url,
    RAC_TOKEN: PEER_TOKEN,
    TERM: 'xterm-256color',
    XDG_CONFIG_HOME: '/nonexistent',
  });
  const jpeg = quadrantJpeg(320, 180);
  const streaming = setInterval(() => peer.sendFrame(jpeg), 100);
  t.teardown(() => clearInterval(streaming));
  const statusLine = () => term.capture(false).split('\n')[29] ?? '';
  await peer.waitFor('the status line figures', () => /fps/.test(statusLine()));

  const settings = (quality: number, fps: number, auto: boolean) =>
    peer.sendRaw(peer.seal(encodeControl({ type: 'stream_settings', quality, fps, auto })));
  settings(60, 15, true);
  await peer.waitFor('the settings on the status line', () => statusLine().includes('q60 ≤15 fps auto'));
  t.pass(`status line: ${statusLine().trim()}`);

  term.send('C-]');
  await peer.waitFor('viewer mode', () => statusLine().includes('Ctrl-] viewer'));
  term.send('[', true);
  await peer.waitFor('a pin one step lower', () => sent(peer, 'set_quality').length === 1);
  t.same(sent(peer, 'set_quality'), [{ type: 'set_quality', quality: 50, fps: 15, sealed: true }]);
  settings(50, 15, false);
  await peer.waitFor('pinned on the status line', () => statusLine().includes('q50 ≤15 fps pinned'));
  term.send('}', true);
  await peer.waitFor('a faster pin', () => sent(peer, 'set_quality').length === 2);
  t.same(sent(peer, 'set_quality')[1], { type: 'set_quality', quality: 50, fps: 17, sealed: true }, 'from the values in use');
  term.send('a', true);
  await peer.waitFor('back to automatic', () => sent(peer, 'auto_quality').length === 1);
  t.same(sent(peer, 'auto_quality'), [{ type: 'auto_quality', sealed: true }]);
  t.notOk(
    peer.received.some((p) => p.type === 'keyboard'),
    'in viewer mode the keys went to the viewer, not to the remote',
  );
  term.send('q', true);
  await peer.waitFor('the viewer left', () => term.capture(false).includes('EXIT=0'));
});
