// The agent's wiring of the quality controller (src/agent/session/stream-quality.ts), with fake
// hooks and clock: keepalive echoes go back to the sender only, reports from a viewer the stream
// does not know are ignored, every change is applied once and told to every viewer, the send
// queue counts per viewer's window, and a reporting viewer that falls silent cuts.
import t from 'tap';
import type { ControlMessage } from '../src/protocol/index.js';
import { REPORT_SILENCE_MS, StreamQuality } from '../src/agent/session/stream-quality.js';
import type { QualitySettings } from '../src/agent/session/quality-controller.js';

function setUp() {
  let now = 0;
  const applied: QualitySettings[] = [];
  const sent: [number, ControlMessage][] = [];
  const sender = { ticks: 0, busyTicks: 0 };
  const quality = new StreamQuality(
    { quality: 60, fps: 15 },
    { apply: (s) => applied.push(s), send: (viewerId, message) => sent.push([viewerId, message]), sender: () => sender },
    () => now,
  );
  const report = (viewerId: number, lost: number) =>
    quality.onControl(viewerId, { type: 'receive_report', interval_ms: 1000, frames: 10, lost, bytes: 50_000 });
  return { quality, applied, sent, sender, report, advance: (ms: number) => (now += ms) };
}

t.test('a keepalive with a timestamp is echoed to its sender; one without is not', async (t) => {
  const { quality, sent } = setUp();
  t.ok(quality.onControl(3, { type: 'keepalive', t: 1234 }));
  t.ok(quality.onControl(3, { type: 'keepalive' }));
  t.same(sent, [[3, { type: 'keepalive', t: 1234 }]]);
  t.notOk(quality.onControl(3, { type: 'request_keyframe' }), 'other messages are not its business');
});

t.test('a lossy report cuts, applied once and told to every viewer', async (t) => {
  const { quality, applied, sent, report } = setUp();
  quality.addViewer(1);
  quality.addViewer(2);
  report(9, 5);
  t.same(applied, [], 'a viewer the stream does not know does not steer');
  report(1, 5);
  t.equal(applied.length, 1);
  t.ok(applied[0]!.quality < 60 && applied[0]!.fps < 15 && applied[0]!.auto, JSON.stringify(applied[0]));
  t.same(
    sent.map(([id, m]) => [id, m.type]),
    [
      [1, 'stream_settings'],
      [2, 'stream_settings'],
    ],
  );
  t.same(quality.settingsMessage(), { type: 'stream_settings', ...applied[0] });
});

t.test("the send queue is judged over each viewer's own window", async (t) => {
  const { quality, applied, sender, report } = setUp();
  quality.addViewer(1);
  report(1, 0); // opens viewer 1's window
  sender.ticks += 10;
  sender.busyTicks += 8;
  report(1, 0);
  t.equal(applied.length, 1, '8 of 10 ticks busy: a cut without any loss');
});

t.test('a reporting viewer that falls silent cuts; a viewer that never reported does not', async (t) => {
  const { quality, applied, report, advance } = setUp();
  quality.addViewer(1);
  quality.addViewer(2);
  advance(REPORT_SILENCE_MS * 2);
  quality.checkSilence();
  t.same(applied, [], 'nobody reported yet');
  report(1, 0);
  advance(REPORT_SILENCE_MS - 1);
  quality.checkSilence();
  t.same(applied, [], 'not silent for long enough');
  advance(1);
  quality.checkSilence();
  t.equal(applied.length, 1, 'silent for 3 s: cut');
  quality.removeViewer(1);
  advance(REPORT_SILENCE_MS);
  quality.checkSilence();
  t.equal(applied.length, 1, 'a viewer that left is not waited for');
});

t.test('set_quality pins, auto_quality hands back', async (t) => {
  const { quality, applied } = setUp();
  quality.addViewer(1);
  quality.onControl(1, { type: 'set_quality', quality: 30, fps: 90 });
  t.same(applied.at(-1), { quality: 30, fps: 15, auto: false });
  quality.onControl(1, { type: 'auto_quality' });
  t.same(applied.at(-1), { quality: 30, fps: 15, auto: true });
  quality.onControl(1, { type: 'auto_quality' });
  t.equal(applied.length, 2, 'nothing changed, nothing applied');
});
