// The session's cryptographic core (src/protocol/crypto/, docs/security.md): the key exchange as
// both sides and a man in the middle play it, the formulas of the spec recomputed independently
// here, and every way a sealed datagram can be refused, replayed, reordered or rekeyed.
import { createHash, createHmac, createPublicKey, diffieHellman, hkdfSync } from 'node:crypto';
import t from 'tap';
import {
  type ControlMessage,
  type EphemeralKeyPair,
  Opener,
  type PairKeys,
  PREVIOUS_EPOCH_GRACE_MS,
  REKEY_AFTER_MS,
  Sealer,
  type Transcript,
  agentHandshakeProof,
  chunkFrame,
  decodeDatagram,
  decodeKey,
  derivePairKeys,
  encodeControl,
  encodeKey,
  encodeKeyboard,
  encodeMouse,
  encodeSealedHeader,
  generateEphemeralKeyPair,
  keyCommitment,
  matchesCommitment,
  newAgentSecret,
  pairChannels,
  verifyAgentHandshakeProof,
} from '../src/protocol/index.js';

const CODE = '482916573';
const SESSION_ID = 41;
const VIEWER_ID = 3;
const KEY = Buffer.alloc(32, 7);

const transcriptOf = (agent: Uint8Array, viewer: Uint8Array): Transcript => ({
  sessionCode: CODE,
  sessionId: SESSION_ID,
  viewerId: VIEWER_ID,
  agentPublicKey: agent,
  viewerPublicKey: viewer,
});

/** An honest exchange: both sides' keys, and the key pairs that made them. */
function exchange(): { agentPair: EphemeralKeyPair; viewerPair: EphemeralKeyPair; agent: PairKeys; viewer: PairKeys } {
  const agentPair = generateEphemeralKeyPair();
  const viewerPair = generateEphemeralKeyPair();
  const transcript = transcriptOf(agentPair.publicKey, viewerPair.publicKey);
  return {
    agentPair,
    viewerPair,
    agent: derivePairKeys(agentPair, viewerPair.publicKey, transcript),
    viewer: derivePairKeys(viewerPair, agentPair.publicKey, transcript),
  };
}

type Received = { ok: true; value: Buffer } | { ok: false; code: string };

/** What a receiver does with bytes off the wire: decode, and open only a sealed datagram. */
function receive(opener: Opener, bytes: Uint8Array): Received {
  const decoded = decodeDatagram(bytes);
  if (!decoded.ok) return { ok: false, code: `decode ${decoded.error.code}` };
  if (decoded.packet.type !== 'sealed') return { ok: false, code: `not sealed: ${decoded.packet.type}` };
  const opened = opener.open(decoded.packet);
  return opened.ok ? opened : { ok: false, code: opened.error.code };
}

const codeOf = (r: Received): string => (r.ok ? 'opened' : r.code);
const refusals = (o: Opener): number => o.stats.replayed + o.stats.forged + o.stats.wrongPair + o.stats.unknownEpoch;
const mouse = (x: number): Buffer => encodeMouse({ x, y: 2, button: 1, state: 1 });

/** A viewer → agent channel on a fixed key, with a clock the test moves. */
function channel(sealerOptions: { rekeyAfterDatagrams?: bigint; rekeyAfterMs?: number } = {}) {
  const clock = { now: 1_000_000 };
  const now = () => clock.now;
  const sealer = new Sealer({ key: KEY, toAgent: true, viewerId: VIEWER_ID, now, ...sealerOptions });
  const opener = new Opener({ key: KEY, toAgent: true, viewerId: VIEWER_ID, now });
  return { clock, sealer, opener };
}

t.test('both sides derive the same keys and security code, exactly as docs/security.md writes them', async (t) => {
  const { agentPair, viewerPair, agent, viewer } = exchange();
  t.same(agent, viewer);
  t.match(agent.sas, /^\d{3} \d{3}$/);
  t.notOk(agent.agentToViewer.equals(agent.viewerToAgent), 'each direction has its own key');

  const A = agentPair.publicKey;
  const V = viewerPair.publicKey;
  const header = Buffer.alloc(14);
  header.writeUInt32BE(CODE.length, 0);
  header.writeBigUInt64BE(BigInt(SESSION_ID), 4);
  header.writeUInt16BE(VIEWER_ID, 12);
  const th = createHash('sha256')
    .update(Buffer.concat([Buffer.from('rac session v1'), header.subarray(0, 4), Buffer.from(CODE), header.subarray(4), A, V]))
    .digest();
  const viewerPublic = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: V.toString('base64url') }, format: 'jwk' });
  const shared = diffieHellman({ privateKey: agentPair.privateKey, publicKey: viewerPublic });
  const okm = Buffer.from(hkdfSync('sha256', shared, th, 'rac keys v1', 64));
  const sas = createHash('sha256').update('rac sas v1').update(th).digest().readUInt32BE(0) % 1_000_000;
  t.same(agent.transcriptHash, th);
  t.same(agent.agentToViewer, okm.subarray(0, 32));
  t.same(agent.viewerToAgent, okm.subarray(32));
  t.equal(agent.sas.replace(' ', ''), String(sas).padStart(6, '0'));
});

t.test('a man in the middle with a key pair toward each side: the two people see different codes', async (t) => {
  const agentPair = generateEphemeralKeyPair();
  const viewerPair = generateEphemeralKeyPair();
  const towardAgent = generateEphemeralKeyPair(); // posing as the viewer
  const towardViewer = generateEphemeralKeyPair(); // posing as the agent
  const agentSide = derivePairKeys(agentPair, towardAgent.publicKey, transcriptOf(agentPair.publicKey, towardAgent.publicKey));
  const viewerSide = derivePairKeys(viewerPair, towardViewer.publicKey, transcriptOf(towardViewer.publicKey, viewerPair.publicKey));
  t.not(agentSide.sas, viewerSide.sas);
  t.notSame(agentSide.transcriptHash, viewerSide.transcriptHash);
  // The middle can open what each side seals, which is why the codes must be compared.
  const middle = derivePairKeys(towardAgent, agentPair.publicKey, transcriptOf(agentPair.publicKey, towardAgent.publicKey));
  t.same(middle.agentToViewer, agentSide.agentToViewer);
});

t.test('the same exchange in another session, for another viewer or code gives other keys', async (t) => {
  const a = generateEphemeralKeyPair();
  const v = generateEphemeralKeyPair();
  const base = transcriptOf(a.publicKey, v.publicKey);
  const keys = derivePairKeys(a, v.publicKey, base);
  for (const change of [{ sessionId: SESSION_ID + 1 }, { viewerId: VIEWER_ID + 1 }, { sessionCode: '482916574' }]) {
    const other = derivePairKeys(a, v.publicKey, { ...base, ...change });
    t.notSame(other.agentToViewer, keys.agentToViewer, JSON.stringify(change));
    t.notSame(other.transcriptHash, keys.transcriptHash);
  }
});

t.test('commitment: the agent detects a viewer key other than the committed one', async (t) => {
  const viewerPair = generateEphemeralKeyPair();
  const commitment = keyCommitment(viewerPair.publicKey); // key_commit, before any agent key
  t.equal(commitment.length, 43);
  t.equal(commitment, encodeKey(createHash('sha256').update(viewerPair.publicKey).digest()));
  t.ok(matchesCommitment(viewerPair.publicKey, commitment), 'the revealed key matches');
  const substituted = generateEphemeralKeyPair().publicKey;
  t.notOk(matchesCommitment(substituted, commitment), 'a substituted key does not');
  t.notOk(matchesCommitment(viewerPair.publicKey, 'not a commitment'), 'a malformed commitment matches nothing');
  t.notOk(matchesCommitment(viewerPair.publicKey, keyCommitment(substituted)));
});

t.test('low-order peer keys (all-zero shared secret) are refused with a clear error', async (t) => {
  const own = generateEphemeralKeyPair();
  const lowOrder = [
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0100000000000000000000000000000000000000000000000000000000000000',
    'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
    '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  ];
  for (const hex of lowOrder) {
    const peer = Buffer.from(hex, 'hex');
    t.throws(() => derivePairKeys(own, peer, transcriptOf(peer, own.publicKey)), /low-order X25519 point/, hex);
  }
  const peer = generateEphemeralKeyPair().publicKey;
  t.throws(() => derivePairKeys(own, peer.subarray(0, 31), transcriptOf(peer, own.publicKey)), /31 bytes/);
  t.throws(() => derivePairKeys(own, peer, transcriptOf(peer, peer)), /transcript must carry/);
});

t.test('keys travel as 43 characters of canonical base64url; anything else decodes to undefined', async (t) => {
  const key = generateEphemeralKeyPair().publicKey;
  t.equal(key.length, 32);
  const text = encodeKey(key);
  t.match(text, /^[A-Za-z0-9_-]{43}$/);
  t.same(decodeKey(text), key);
  const last = text.at(-1)!;
  const nonCanonical = text.slice(0, 42) + String.fromCharCode(last.charCodeAt(0) ^ 1);
  const garbage = [
    '',
    'abc',
    `${text}=`,
    `${text}A`,
    text.slice(1),
    `${text.slice(0, 42)}+`,
    `${text.slice(0, 42)}/`,
    ' '.repeat(43),
    'é'.repeat(43),
  ];
  for (const g of [...garbage, nonCanonical]) t.equal(decodeKey(g), undefined, JSON.stringify(g));
  for (const g of [undefined, null, 43, {}, key]) t.equal(decodeKey(g as unknown as string), undefined, String(g));
});

t.test('agent handshake proof: verifies for its secret, code and timestamp only', async (t) => {
  const secret = newAgentSecret();
  t.equal(decodeKey(secret)?.length, 32);
  t.not(secret, newAgentSecret());
  const timestamp = 1_764_420_000_123;
  const proof = agentHandshakeProof(secret, CODE, timestamp);
  const byHand = createHmac('sha256', decodeKey(secret)!).update(`rac agent handshake v1${CODE}${timestamp}`).digest('base64url');
  t.equal(proof, byHand, 'HMAC-SHA256(secret, label ‖ code ‖ decimal timestamp), as docs/security.md says');
  t.ok(verifyAgentHandshakeProof(secret, CODE, timestamp, proof));
  t.notOk(verifyAgentHandshakeProof(secret, '482916574', timestamp, proof), 'another code');
  t.notOk(verifyAgentHandshakeProof(secret, CODE, timestamp + 1, proof), 'another timestamp');
  t.notOk(verifyAgentHandshakeProof(newAgentSecret(), CODE, timestamp, proof), 'another secret');
  for (const bad of ['', 'x', proof.slice(1), `${proof}A`]) t.notOk(verifyAgentHandshakeProof(secret, CODE, timestamp, bad), bad);
  t.notOk(verifyAgentHandshakeProof('not a secret', CODE, timestamp, proof), 'a malformed secret: false, no throw');
  t.notOk(verifyAgentHandshakeProof(secret, CODE, timestamp + 0.5, proof), 'a fractional timestamp: false, no throw');
  t.notOk(verifyAgentHandshakeProof(secret, undefined as unknown as string, timestamp, proof), 'no code: false, no throw');
  t.throws(() => agentHandshakeProof('not a secret', CODE, timestamp), /agent_welcome/);
  t.throws(() => agentHandshakeProof(secret, CODE, Number.NaN), RangeError);
});

t.test('seal → open round trip for every inner datagram type, both directions', async (t) => {
  const { agent, viewer } = exchange();
  const agentSide = pairChannels('agent', agent, VIEWER_ID);
  const viewerSide = pairChannels('viewer', viewer, VIEWER_ID);
  const controls: ControlMessage[] = [
    { type: 'screen', width: 1920, height: 1080 },
    { type: 'request_keyframe' },
    { type: 'set_quality', quality: 70, fps: 15 },
    { type: 'select_monitor', monitor_id: 'DP-1' },
    { type: 'disconnect', reason: 'stopped' },
  ];
  const jpeg = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31) & 0xff));
  const toViewer = [...chunkFrame(jpeg, 9n, { maxDatagramBytes: 1172 }), ...controls.map(encodeControl)];
  const toAgent = [mouse(100), encodeKeyboard({ vk: 0x41, state: 1 }), ...controls.map(encodeControl)];
  for (const [inner, from, to] of [
    ...toViewer.map((d) => [d, agentSide, viewerSide] as const),
    ...toAgent.map((d) => [d, viewerSide, agentSide] as const),
  ]) {
    const sealed = from.sealer.seal(inner);
    t.equal(sealed.length, inner.length + 28);
    t.equal(sealed[0], from === agentSide ? 5 : 6);
    t.notOk(sealed.subarray(12, 12 + inner.length).equals(inner), 'the inner datagram is not in clear');
    const opened = receive(to.opener, sealed);
    if (!opened.ok) {
      t.fail(`refused: ${opened.code}`);
      continue;
    }
    t.same(opened.value, inner);
    t.same(decodeDatagram(opened.value), decodeDatagram(inner));
  }
  t.equal(viewerSide.opener.stats.opened, toViewer.length);
  t.equal(agentSide.opener.stats.opened, toAgent.length);
  t.throws(() => agentSide.sealer.seal(Buffer.alloc(0)), RangeError, 'an empty inner datagram is never sealed');
});

t.test('flipping any single byte of a sealed datagram, header or body, is refused and counted', async (t) => {
  const { sealer, opener } = channel();
  const sealed = sealer.seal(encodeControl({ type: 'set_quality', quality: 70, fps: 15 }));
  const seen = new Set<string>();
  for (let i = 0; i < sealed.length; i++) {
    for (const flip of [0x01, 0x03, 0x80, 0xff]) {
      const mutated = Buffer.from(sealed);
      mutated[i]! ^= flip;
      const before = refusals(opener);
      const result = receive(opener, mutated);
      t.notOk(result.ok, `byte ${i} ^ ${flip}`);
      seen.add(codeOf(result));
      // Only the type byte can turn it into something that is not a sealed datagram at all.
      if (i > 0) t.equal(refusals(opener), before + 1, `byte ${i} ^ ${flip} counted`);
    }
  }
  // Type 6 ^ 3 is type 5 (the other direction); other type bytes do not decode as sealed at all.
  t.same([...seen].sort(), ['BAD_TAG', 'UNKNOWN_EPOCH', 'WRONG_PAIR', 'decode BAD_TYPE']);
  t.equal(opener.stats.opened, 0);
  t.equal(codeOf(receive(opener, sealed)), 'opened', 'the untouched datagram still opens');
});

t.test('a datagram of another pair or the other direction is refused as WRONG_PAIR', async (t) => {
  const { agent, viewer } = exchange();
  const agentSide = pairChannels('agent', agent, VIEWER_ID);
  const viewerSide = pairChannels('viewer', viewer, VIEWER_ID);
  const ownDatagram = agentSide.sealer.seal(mouse(1));
  t.equal(codeOf(receive(agentSide.opener, ownDatagram)), 'WRONG_PAIR', 'reflected back to its sender');
  const otherViewer = pairChannels('viewer', viewer, VIEWER_ID + 1);
  t.equal(codeOf(receive(agentSide.opener, otherViewer.sealer.seal(mouse(1)))), 'WRONG_PAIR', 'sealed for viewer 4');
  t.equal(agentSide.opener.stats.wrongPair, 2);
  t.equal(codeOf(receive(agentSide.opener, viewerSide.sealer.seal(mouse(1)))), 'opened');
});

t.test('a replayed datagram is refused and counted', async (t) => {
  const { sealer, opener } = channel();
  const first = sealer.seal(mouse(1));
  const second = sealer.seal(mouse(2));
  t.equal(codeOf(receive(opener, first)), 'opened');
  t.equal(codeOf(receive(opener, second)), 'opened');
  t.equal(codeOf(receive(opener, first)), 'REPLAYED');
  t.equal(codeOf(receive(opener, second)), 'REPLAYED');
  t.equal(opener.stats.replayed, 2);
  t.equal(opener.stats.opened, 2);
});

t.test('a forged datagram burns no counter: the genuine one with that counter still opens', async (t) => {
  const { sealer, opener } = channel();
  const genuine = sealer.seal(mouse(1));
  const forged = Buffer.concat([genuine.subarray(0, 12), Buffer.alloc(genuine.length - 12, 0xaa)]);
  t.equal(codeOf(receive(opener, forged)), 'BAD_TAG');
  t.equal(codeOf(receive(opener, genuine)), 'opened');
});

t.test('reordering inside the 4096-counter window is accepted, beyond it refused', async (t) => {
  const { sealer, opener } = channel();
  const datagrams = Array.from({ length: 4098 }, (_, i) => sealer.seal(mouse(i)));
  const shuffled = datagrams.slice(4000).reverse();
  for (const d of shuffled) if (!receive(opener, d).ok) t.fail('refused inside the window');
  t.equal(opener.stats.opened, 98, 'counters 4097 down to 4000, newest first');
  t.equal(codeOf(receive(opener, datagrams[1]!)), 'REPLAYED', 'counter 1 is 4096 behind 4097: outside');
  t.equal(codeOf(receive(opener, datagrams[0]!)), 'REPLAYED');
  t.equal(codeOf(receive(opener, datagrams[2]!)), 'opened', 'counter 2 is the oldest inside');
  t.equal(opener.stats.replayed, 2);
});

t.test('rekey by count: epochs advance, counters restart, everything opens in order', async (t) => {
  const { sealer, opener } = channel({ rekeyAfterDatagrams: 3n });
  const sealed = Array.from({ length: 10 }, (_, i) => sealer.seal(mouse(i)));
  const headers = sealed.map((d) => [d[3], d.readBigUInt64LE(4)]);
  t.same(headers, [
    [0, 0n],
    [0, 1n],
    [0, 2n],
    [1, 0n],
    [1, 1n],
    [1, 2n],
    [2, 0n],
    [2, 1n],
    [2, 2n],
    [3, 0n],
  ]);
  t.equal(sealer.epoch, 3);
  t.equal(sealer.sealed, 10);
  for (const [i, d] of sealed.entries()) t.same(receive(opener, d), { ok: true, value: mouse(i) });
  t.not(sealed[0]!.subarray(12).toString('hex'), sealed[3]!.subarray(12).toString('hex'), 'same counter, new key');
});

t.test('rekey by time: after an hour the next datagram is sealed under the next epoch', async (t) => {
  const { clock, sealer, opener } = channel();
  const early = sealer.seal(mouse(1));
  clock.now += REKEY_AFTER_MS - 1;
  const stillEpoch0 = sealer.seal(mouse(2));
  clock.now += 1;
  const epoch1 = sealer.seal(mouse(3));
  t.same([early[3], stillEpoch0[3], epoch1[3]], [0, 0, 1]);
  t.equal(epoch1.readBigUInt64LE(4), 0n, 'the counter restarts');
  for (const d of [early, stillEpoch0, epoch1]) t.equal(codeOf(receive(opener, d)), 'opened');
});

t.test('the previous epoch opens within the grace period and is refused after it', async (t) => {
  const { clock, sealer, opener } = channel({ rekeyAfterDatagrams: 3n });
  const epoch0 = [sealer.seal(mouse(0)), sealer.seal(mouse(1)), sealer.seal(mouse(2))];
  const epoch1 = sealer.seal(mouse(3));
  t.equal(codeOf(receive(opener, epoch1)), 'opened', 'the receiver moves to epoch 1');
  t.equal(codeOf(receive(opener, epoch0[0]!)), 'opened', 'late epoch-0 datagram, within grace');
  t.equal(codeOf(receive(opener, epoch0[0]!)), 'REPLAYED', 'the previous epoch keeps its own window');
  clock.now += PREVIOUS_EPOCH_GRACE_MS - 1;
  t.equal(codeOf(receive(opener, epoch0[1]!)), 'opened', 'still within grace');
  clock.now += 1;
  t.equal(codeOf(receive(opener, epoch0[2]!)), 'UNKNOWN_EPOCH', 'grace is over: the key is forgotten');
  t.equal(opener.stats.unknownEpoch, 1);
});

t.test('an epoch two ahead is refused; a forged next-epoch datagram changes nothing', async (t) => {
  const { sealer, opener } = channel({ rekeyAfterDatagrams: 1n });
  const [e0, e1, e2] = [sealer.seal(mouse(0)), sealer.seal(mouse(1)), sealer.seal(mouse(2))];
  t.equal(codeOf(receive(opener, e2!)), 'UNKNOWN_EPOCH');
  const forgedNext = Buffer.concat([encodeSealedHeader({ toAgent: true, viewerId: VIEWER_ID, epoch: 1, counter: 0n }), Buffer.alloc(20)]);
  t.equal(codeOf(receive(opener, forgedNext)), 'BAD_TAG');
  t.equal(codeOf(receive(opener, e0!)), 'opened', 'still at epoch 0');
  t.equal(codeOf(receive(opener, e1!)), 'opened');
  t.equal(codeOf(receive(opener, e2!)), 'opened');
});

t.test('the uint8 epoch wraps: 300 rekeys in a row still open in order', async (t) => {
  const { sealer, opener } = channel({ rekeyAfterDatagrams: 1n });
  let refused = 0;
  for (let i = 0; i < 300; i++) if (!receive(opener, sealer.seal(mouse(i))).ok) refused++;
  t.equal(refused, 0);
  t.equal(sealer.epoch, 299 & 0xff);
  t.equal(opener.stats.opened, 300);
});
