// Adaptive quality end to end: a real `rac agent --code --yes` on Xvfb (a clock ticking in an xterm,
// so every capture differs), a real `rac serve`, and the viewer's real transport (SessionConnection)
// reaching the broker through a link that delays every datagram and, on cue, drops 20 % of them
// (test/helpers/lossy-link.ts). From the viewer's receive reports the agent lowers quality and
// frame rate under loss and raises them back to its --quality/--fps ceilings once the link is
// clean; a viewer's pin holds until it hands the values back.
import { spawn } from 'node:child_process';
import t from 'tap';
import { PATIENCE_MS } from './helpers/patience.js';
import { login, startBrokerProcess } from './helpers/broker-process.js';
import { startLossyLink } from './helpers/lossy-link.js';
import { wsUrl } from './helpers/session-peers.js';
import { createSession, startAgent } from './helpers/session-viewer.js';
import { startXvfb, waitFor } from './helpers/xvfb.js';
import type { StreamSettingsShown } from '../src/viewer-tty/link-stats.js';
import { SessionConnection } from '../src/viewer-tty/session-connection.js';

const CEILING = { quality: 70, fps: 12 };
/**
 * Reports come once a second; three clean ones in a row raise a step (5 quality, 2 fps), so from the
 * floors back to the ceilings takes at least 33 s on an idle machine, and on a loaded one a late
 * echo or a starved socket resets the run: three times the patience floor.
 */
const ADAPT_MS = 3 * PATIENCE_MS;

/**
 * Every stream_settings the viewer takes in, in order (its stats keep only the latest). On a loaded
 * machine the agent may cut before the test first looks, so "it started at the ceilings" is read here.
 */
function settingsHeard(viewer: SessionConnection): StreamSettingsShown[] {
  const heard: StreamSettingsShown[] = [];
  const stats = (viewer as unknown as { stream: { linkStats: { settings?: StreamSettingsShown } } }).stream.linkStats;
  let latest = stats.settings;
  Object.defineProperty(stats, 'settings', {
    get: () => latest,
    set: (value: StreamSettingsShown) => {
      latest = value;
      heard.push(value);
    },
  });
  return heard;
}

t.test('quality and fps follow the link: down under 20 % loss, back up when it is clean', async (t) => {
  const xvfb = await startXvfb();
  t.teardown(() => xvfb.stop());
  const clock = spawn('xterm', ['-geometry', '100x40+0+0', '-e', 'sh', '-c', 'while :; do date +%s.%N; sleep 0.03; done'], {
    env: xvfb.env,
    stdio: 'ignore',
  });
  t.teardown(() => void clock.kill('SIGKILL'));

  const broker = await startBrokerProcess();
  t.teardown(() => broker.stop());
  const token = await login(broker.api);
  const session = await createSession(broker.api, token);
  const link = await startLossyLink(broker.url);
  t.teardown(() => link.stop());
  link.delayMs = 20;

  const args = ['--code', session.session_code, '--server', broker.url, '--yes', '--max-width', '960'];
  const agent = startAgent([...args, '--quality', String(CEILING.quality), '--fps', String(CEILING.fps)], xvfb.env);
  t.teardown(() => agent.stop('SIGKILL'));
  await agent.waitFor(/waiting for your IT contact/);

  let frames = 0;
  const viewer = new SessionConnection({
    webSocketUrl: wsUrl(link.url, session.session_code),
    token,
    // Whole frames and, since the viewer asks for them, changed rectangles: both are pictures arriving.
    events: { frame: () => frames++, rect: () => frames++ },
  });
  t.teardown(() => viewer.close());
  const heard = settingsHeard(viewer);
  viewer.start();
  await agent.waitFor(/Connected: /);
  const settings = () => viewer.stats().settings;

  t.ok(await waitFor(() => settings() !== undefined && frames > 5, PATIENCE_MS), 'frames flow and the agent said its settings');
  t.same(heard[0], { ...CEILING, auto: true }, 'the agent starts at the ceilings');
  const atCeilings = () => settings()?.quality === CEILING.quality && settings()?.fps === CEILING.fps;
  // A loaded machine alone (late echoes, a starved socket) can make the agent cut: the loss must start
  // from the ceilings, or "went down under loss" would be true before a datagram was dropped.
  t.ok(await waitFor(atCeilings, ADAPT_MS), `before any loss the agent is at its ceilings: ${JSON.stringify(settings())}`);

  link.loss = 0.2;
  const lossAt = Date.now();
  const lowered = await waitFor(() => {
    const now = settings();
    return now !== undefined && now.quality <= CEILING.quality / 2 && now.fps <= CEILING.fps / 2;
  }, ADAPT_MS);
  t.ok(lowered, `under 20 % loss quality and fps went down: ${JSON.stringify(settings())}`);
  t.comment(`down to half the ceilings in ${((Date.now() - lossAt) / 1000).toFixed(1)} s`);
  t.ok(link.counts.dropped > 0, `the link dropped ${link.counts.dropped} datagrams`);
  t.equal(settings()?.auto, true, 'the agent steered; nobody pinned anything');

  link.loss = 0;
  const cleanAt = Date.now();
  const framesBefore = frames;
  const recovered = await waitFor(atCeilings, ADAPT_MS);
  t.ok(recovered, `on a clean link they came back to the ceilings: ${JSON.stringify(settings())}`);
  t.comment(`back to the ceilings in ${((Date.now() - cleanAt) / 1000).toFixed(1)} s`);
  t.ok(frames > framesBefore, 'frames kept coming');

  viewer.setQuality(35, 5);
  t.ok(await waitFor(() => settings()?.auto === false, PATIENCE_MS), 'set_quality pins');
  t.same(settings(), { quality: 35, fps: 5, auto: false });
  viewer.setQuality(100, 60);
  t.ok(await waitFor(() => settings()?.quality !== 35, PATIENCE_MS), 'a second pin replaces the first');
  t.same(settings(), { ...CEILING, auto: false }, 'a pin never goes above the ceilings');
  viewer.autoQuality();
  t.ok(await waitFor(() => settings()?.auto === true, PATIENCE_MS), 'auto_quality hands them back to the agent');
});
