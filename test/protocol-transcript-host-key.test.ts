// The agent's SSH host key in the key exchange: when agent_key carries ssh_host_key, both sides
// bind it into the transcript, so the security code the two people compare also vouches for the
// key `rac shell` will trust. A host key swapped or dropped on the way gives another code; without
// the field the exchange is exactly the old one.
import t from 'tap';
import { ViewerKeys } from '../src/agent/session/viewer-keys.js';
import { AgentKeyExchange } from '../src/viewer-tty/agent-keys.js';
import { decodeKey, generateEphemeralKeyPair, derivePairKeys } from '../src/protocol/index.js';

const CODE = '123456789';
const IDS = { viewerId: 3, sessionId: 77 };
const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAn8x0g7P6U0VCP9rLmlHf1ke8gVh/A3Zo0rpzkGfx7q';
const OTHER_HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEuzNPhhihjkxOTtQD3EWW8xTuA1TBjADa3gv9Fey6pM';

/** One exchange: the agent's host key as sent, and as the viewer received it; both security codes. */
function exchange(agentHostKey: string | undefined, viewerSees: string | undefined): { agent: string; viewer: string; hostKey?: string } {
  const agent = new ViewerKeys(CODE, agentHostKey);
  const viewer = new AgentKeyExchange(CODE);
  const agentKey = agent.offer(IDS.viewerId, viewer.restart());
  const answer = viewer.answer(agentKey, IDS, viewerSees);
  if (!answer.ok) throw new Error(answer.reason);
  const done = agent.complete(IDS.viewerId, answer.viewerKey, IDS.sessionId);
  if (!done.ok) throw new Error(done.reason);
  return { agent: done.peer.sas, viewer: answer.channel.sas, hostKey: answer.channel.sshHostKey };
}

t.test('both sides agree when the host key arrives as sent', async (t) => {
  const r = exchange(HOST_KEY, HOST_KEY);
  t.equal(r.agent, r.viewer);
  t.equal(r.hostKey, HOST_KEY, 'the viewer keeps the host key the code covers');
  const old = exchange(undefined, undefined);
  t.equal(old.agent, old.viewer, 'without the field (older agents) the exchange still agrees');
});

t.test('a host key swapped or dropped on the way changes the security code', async (t) => {
  let swappedDiffers = 0;
  let droppedDiffers = 0;
  // One run could collide by chance (one in a million); twenty cannot all collide.
  for (let i = 0; i < 20; i++) {
    const swapped = exchange(HOST_KEY, OTHER_HOST_KEY);
    if (swapped.agent !== swapped.viewer) swappedDiffers++;
    const dropped = exchange(HOST_KEY, undefined);
    if (dropped.agent !== dropped.viewer) droppedDiffers++;
  }
  t.ok(swappedDiffers >= 19, `a swapped host key gave different codes ${swappedDiffers}/20 times`);
  t.ok(droppedDiffers >= 19, `a dropped host key gave different codes ${droppedDiffers}/20 times`);
});

t.test('the transcript hash covers the host key, and is unchanged without it', async (t) => {
  const a = generateEphemeralKeyPair();
  const v = generateEphemeralKeyPair();
  const base = { sessionCode: CODE, sessionId: 1, viewerId: 1, agentPublicKey: a.publicKey, viewerPublicKey: v.publicKey };
  const plain = derivePairKeys(a, v.publicKey, base);
  const withKey = derivePairKeys(a, v.publicKey, { ...base, sshHostKey: HOST_KEY });
  const fromViewer = derivePairKeys(v, decodeKey(a.publicKey.toString('base64url'))!, { ...base, sshHostKey: HOST_KEY });
  t.notSame(plain.transcriptHash, withKey.transcriptHash);
  t.same(withKey.transcriptHash, fromViewer.transcriptHash);
  t.same(plain.transcriptHash, derivePairKeys(a, v.publicKey, { ...base, sshHostKey: undefined }).transcriptHash);
});
