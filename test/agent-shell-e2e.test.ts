// `rac agent --code --allow-shell` against a real `rac serve`: the agent keeps its SSH host key in
// its config directory (0600), prints the fingerprint, and sends the key line in agent_key, where
// the viewer binds it into the transcript: the security code on both sides is the same and the key
// the viewer holds is the one the customer was shown.
import './helpers/quiet-home.js';
import t from 'tap';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { login, startBrokerProcess } from './helpers/broker-process.js';
import { connectViewer, createSession, startAgent } from './helpers/session-viewer.js';
import { startXvfb } from './helpers/xvfb.js';
import { sshHostKeyFingerprint } from '../src/protocol/index.js';

t.test('the host key travels in agent_key and the security code covers it', async (t) => {
  const xvfb = await startXvfb();
  t.teardown(() => xvfb.stop());
  const broker = await startBrokerProcess();
  t.teardown(() => broker.stop());
  const token = await login(broker.api);
  const session = await createSession(broker.api, token);
  const config = mkdtempSync(join(tmpdir(), 'rac-agent-config-'));
  const env = { ...xvfb.env, XDG_CONFIG_HOME: config };
  const agent = startAgent(['--code', session.session_code, '--server', broker.url, '--allow-shell', '--yes'], env);
  t.teardown(() => agent.stop('SIGKILL'));
  const printed = (await agent.waitFor(/This computer's SSH key: (SHA256:[A-Za-z0-9+/]{43})/))[1];
  t.match(agent.stderr(), 'Terminal access is possible (--allow-shell); allowed without asking (--yes).', '--yes: no question promised');
  t.equal(statSync(join(config, 'rac', 'ssh_host_ed25519_key')).mode & 0o777, 0o600, 'the host key file is 0600');
  const viewer = await connectViewer(broker.url, session.session_code, token);
  t.teardown(() => viewer.close());
  const sas = await viewer.waitSealed();
  const agentSaid = (await agent.waitFor(/Allowed without asking \(--yes\): .*, security code (\d{3} \d{3})\./))[1];
  t.equal(agentSaid, sas, 'the customer and the IT member see the same security code');
  const agentKey = viewer.signals.find((m) => m.type === 'agent_key');
  const hostKey = agentKey?.type === 'agent_key' ? agentKey.ssh_host_key : undefined;
  t.ok(hostKey, 'agent_key carries the host key');
  t.equal(sshHostKeyFingerprint(hostKey ?? ''), printed, 'it is the key whose fingerprint the customer saw');
});
