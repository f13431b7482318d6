// The Openctrol agent's banner names the audio backend only when a sound server answers; with
// none it says so (and /audio answers 503), instead of announcing "audio: pulseaudio".
import t from 'tap';
import { startAgentProcess } from './helpers/agent-process.js';
import { startPulseAudio } from './helpers/pulseaudio.js';

t.test('no sound server: the banner says audio is not answering, and /audio/status is 503', async (t) => {
  const agent = await startAgentProcess({ env: { PULSE_SERVER: 'unix:/nonexistent/rac-test-pulse', DISPLAY: '' } });
  t.teardown(() => agent.stop());
  t.notMatch(agent.stderr(), /^ {2}audio: pulseaudio$/m, 'no claim that pulseaudio works');
  t.match(agent.stderr(), /^ {2}audio: not answering: no sound server \(.+\); \/audio answers 503 until pulseaudio runs$/m);
  const status = await fetch(`${agent.url}/api/v1/audio/status`, { headers: { 'x-openctrol-key': agent.key } });
  t.equal(status.status, 503, 'which is what the API then answers');
});

t.test('a running sound server: the banner names the backend', async (t) => {
  const pulse = await startPulseAudio();
  t.teardown(() => pulse.stop());
  const agent = await startAgentProcess({ env: { PULSE_SERVER: pulse.env.PULSE_SERVER, DISPLAY: '' } });
  t.teardown(() => agent.stop());
  t.match(agent.stderr(), /^ {2}audio: pulseaudio$/m);
});
