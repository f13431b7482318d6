// The tunnel WebSocket (/ws/session/{code}/tunnel) against a real `rac serve`: the IT side is
// src/client/tunnel.ts, the customer's agent a WebSocket-level double (helpers/tunnel-agent.ts).
// Bytes pass unchanged and in order both ways, a slow end holds the broker's memory down, each
// refusal has its status or close code, and every revocation closes the streams it concerns.
import './helpers/quiet-home.js';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import t, { type Test } from 'tap';
import { WebSocket } from 'ws';
import type { Session, User } from '../src/protocol/broker-api.js';
import { CloseCode } from '../src/protocol/close-codes.js';
import { verifyTunnelToken } from '../src/protocol/tunnel-token.js';
import { type Tunnel, TunnelError, openTunnel } from '../src/client/tunnel.js';
import { openBrokerDatabase } from './helpers/broker-database.js';
import { call, login, startBrokerProcess } from './helpers/broker-process.js';
import { waitUntil } from './helpers/patience.js';
import { eventually } from './helpers/smtp-setup.js';
import { type Json, nextOf, openSignal, sleep } from './helpers/session-peers.js';
import { HOST_KEY_GRACE_MS, MAX_TUNNELS_PER_SESSION } from '../src/broker/tunnel-relay.js';
import {
  type TunnelAgent,
  type TunnelAgentOptions,
  dialAgentEnd,
  ed25519HostKeyLine,
  joinTunnelAgent,
  tunnelWsUrl,
} from './helpers/tunnel-agent.js';

const broker = await startBrokerProcess();
t.teardown(() => broker.stop());
const admin = await login(broker.api);
const userIds = new Map<string, number>();
const newUser = async (email: string, body: Json = {}) => {
  const created = await call<User>(broker.api, 'POST', '/users', { token: admin, body: { email, password: `${email}-password`, ...body } });
  userIds.set(email, created.body.id);
  return login(broker.api, email, `${email}-password`);
};
const tech = await newUser('tina@example.com', { full_name: 'Tina Tech' });
const otherTech = await newUser('otto@example.com', { full_name: 'Otto Other' });

async function newSession(t: Test, owner = tech): Promise<Session> {
  const session = (await call<Session>(broker.api, 'POST', '/sessions', { token: owner, body: { customer_name: 'Carl' } })).body;
  t.teardown(() => call(broker.api, 'DELETE', `/sessions/${session.id}`, { token: admin }));
  return session;
}

async function agentFor(t: Test, session: Session, options: TunnelAgentOptions = {}): Promise<TunnelAgent> {
  const agent = await joinTunnelAgent(broker.url, session.session_code, options);
  t.teardown(() => agent.close());
  return agent;
}

async function tunnel(t: Test, session: Session, token = tech): Promise<Tunnel> {
  const opened = await openTunnel({ brokerUrl: broker.url, token, code: session.session_code });
  t.teardown(() => opened.stream.destroy());
  return opened;
}

/** Why openTunnel failed: the HTTP status of a refused upgrade, or the close code. */
async function refusalOf(opening: Promise<Tunnel>): Promise<{ status?: number; closeCode?: number; message: string }> {
  try {
    const opened = await opening;
    opened.stream.destroy();
    return { message: 'opened' };
  } catch (err) {
    if (!(err instanceof TunnelError)) throw err;
    return { status: err.status, closeCode: err.closeCode, message: err.message };
  }
}

/** Reads exactly `size` bytes from a stream. */
function readBytes(stream: Duplex, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let have = 0;
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      have += chunk.length;
      if (have < size) return;
      stream.off('data', onData);
      stream.pause();
      const all = Buffer.concat(chunks);
      if (have > size) stream.unshift(all.subarray(size));
      resolve(all.subarray(0, size));
    };
    stream.on('data', onData);
    stream.resume();
    stream.once('error', reject);
    stream.once('end', () => have < size && reject(new Error(`the stream ended after ${have} of ${size} bytes`)));
  });
}

const streamClosed = (stream: Duplex) => new Promise<void>((resolve) => (stream.closed ? resolve() : stream.once('close', resolve)));
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

t.test('tunnel_ready carries the host key, the user and a stream token only the agent can check', async (t) => {
  const session = await newSession(t);
  const agent = await agentFor(t, session);
  const opened = await tunnel(t, session);
  const open = await agent.opens.next();
  t.match(open, { type: 'tunnel_open', stream_id: opened.streamId, email: 'tina@example.com', full_name: 'Tina Tech' });
  t.equal(opened.hostKey, agent.hostKey, "the agent's host key, as it told the broker");
  t.equal(opened.username, 'tina@example.com');
  t.equal(opened.password, open.token, 'the password is the stream token the agent was given');
  const checked = verifyTunnelToken(opened.password, agent.secret, { sessionId: session.id, streamId: opened.streamId, now: Date.now() });
  t.match(checked, { ok: true, claims: { email: 'tina@example.com', fullName: 'Tina Tech', streamId: opened.streamId } });
  t.match(verifyTunnelToken(opened.password, agent.secret, { sessionId: session.id, streamId: opened.streamId + 1, now: Date.now() }), {
    ok: false,
    reason: 'wrong_stream',
  });
});

t.test('bytes pass unchanged both ways, small and large messages alike', async (t) => {
  const session = await newSession(t);
  await agentFor(t, session);
  const { stream } = await tunnel(t, session);
  const pieces = [Buffer.from('SSH-2.0-OpenSSH_9.6\r\n'), randomBytes(1), randomBytes(65_536), Buffer.alloc(3, 0), randomBytes(300_000)];
  for (const piece of pieces) stream.write(piece);
  const total = Buffer.concat(pieces);
  t.ok((await readBytes(stream, total.length)).equals(total), `${total.length} bytes came back identical and in order`);
});

t.test('10 MB through a tunnel arrive whole', async (t) => {
  const session = await newSession(t);
  await agentFor(t, session);
  const { stream } = await tunnel(t, session);
  const data = randomBytes(10 * 1024 * 1024);
  const back = readBytes(stream, data.length);
  for (let at = 0; at < data.length; at += 64 * 1024) stream.write(data.subarray(at, at + 64 * 1024));
  t.equal(sha256(await back), sha256(data));
});

/** The broker's resident memory (VmRSS), in bytes. */
const brokerRss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${broker.process.pid}/status`, 'utf8'))![1]) * 1024;

/** Resolves once `count()` has stopped changing for a whole `quietMs` (polled). */
async function settled(count: () => number, quietMs: number): Promise<number> {
  let last = count();
  let since = Date.now();
  await waitUntil(
    'the count to settle',
    () => {
      const now = count();
      if (now !== last) [last, since] = [now, Date.now()];
      return Date.now() - since >= quietMs;
    },
    100,
  );
  return last;
}

t.test('a reader that stops holds the writer back: the broker does not buffer what it cannot pass on', async (t) => {
  const session = await newSession(t);
  const agent = await agentFor(t, session, { answer: 'dial' });
  const { stream } = await tunnel(t, session);
  const end = await agent.streams.next();
  end.ws.pause(); // the customer's side stops reading
  const rssBefore = brokerRss();
  const total = 96 * 1024 * 1024;
  const chunk = randomBytes(256 * 1024);
  let accepted = 0;
  for (let sent = 0; sent < total; sent += chunk.length) stream.write(chunk, () => (accepted += chunk.length));
  const stalled = await settled(() => accepted, 2000);
  const grown = brokerRss() - rssBefore;
  t.ok(stalled < total, `the IT side's writes stall (${(stalled / 2 ** 20).toFixed(1)} of 96 MB left the client)`);
  t.ok(grown < 24 * 2 ** 20, `the broker's memory grew by ${(grown / 2 ** 20).toFixed(1)} MB, not by what was pushed at it`);

  let received = 0;
  const hash = createHash('sha256');
  const expected = createHash('sha256');
  for (let sent = 0; sent < total; sent += chunk.length) expected.update(chunk);
  const all = new Promise<void>((resolve) =>
    end.ws.on('message', (data: Buffer) => {
      hash.update(data);
      received += data.length;
      if (received >= total) resolve();
    }),
  );
  end.ws.resume();
  await all;
  t.equal(received, total, 'once the reader reads again, everything arrives');
  t.equal(hash.digest('hex'), expected.digest('hex'), 'unchanged and in order');
});

t.test('several streams of one session stay apart', async (t) => {
  const session = await newSession(t);
  await agentFor(t, session);
  const tunnels = await Promise.all([tunnel(t, session), tunnel(t, session), tunnel(t, session, admin)]);
  t.equal(new Set(tunnels.map((x) => x.streamId)).size, 3, 'each stream has its own id');
  const payloads = tunnels.map(() => randomBytes(200_000));
  tunnels.forEach((x, i) => x.stream.write(payloads[i]));
  const echoes = await Promise.all(tunnels.map((x, i) => readBytes(x.stream, payloads[i]!.length)));
  echoes.forEach((echo, i) => t.ok(echo.equals(payloads[i]!), `stream ${tunnels[i]!.streamId} got its own bytes back`));
  tunnels[0]!.stream.destroy();
  await streamClosed(tunnels[0]!.stream);
  tunnels[1]!.stream.write('still here');
  t.equal(String(await readBytes(tunnels[1]!.stream, 10)), 'still here', 'closing one leaves the others open');
});

t.test('who may open a tunnel: HTTP statuses before the upgrade', async (t) => {
  const session = await newSession(t);
  const code = session.session_code;
  const open = (token: string, c = code) => refusalOf(openTunnel({ brokerUrl: broker.url, token, code: c }));
  t.match(await open('not-a-token'), { status: 401 }, 'an invalid token');
  t.match(await open(tech, '000000001'), { status: 404 }, 'an unknown code');
  t.match(await open(otherTech), { status: 403 }, 'a tech who does not own the session (before any agent, so it leaks nothing)');
  t.match(await open(tech), { status: 409, message: /agent is not connected/ }, 'no agent connected');
  const agent = await agentFor(t, session);
  t.match(await open(otherTech), { status: 403 }, 'a tech who does not own the session');
  t.equal((await open(admin)).message, 'opened', 'an admin may');
  agent.close();
  await call(broker.api, 'DELETE', `/sessions/${session.id}`, { token: tech });
  t.match(await open(tech), { status: 410 }, 'a closed session');

  const anonymous = new WebSocket(tunnelWsUrl(broker.url, code));
  const status = await new Promise((resolve) => anonymous.once('unexpected-response', (_req, res) => resolve(res.statusCode)));
  t.equal(status, 401, 'no credentials at all');
});

t.test("the agent's end: only with the session's agent secret, only for a waiting stream", async (t) => {
  const session = await newSession(t);
  const agent = await agentFor(t, session, { answer: 'ignore' });
  const opening = openTunnel({ brokerUrl: broker.url, token: tech, code: session.session_code });
  const open = await agent.opens.next();
  const status = (streamId: number | string, secret: string) =>
    dialAgentEnd(broker.url, session.session_code, streamId, secret).then(
      (ws) => (ws.close(), 101),
      (err: { status?: number }) => err.status,
    );
  t.equal(await status(open.stream_id, randomBytes(32).toString('base64url')), 403, 'another secret');
  t.equal(await status(open.stream_id + 1, agent.secret), 404, 'a stream nobody opened');
  t.equal(await status('x', agent.secret), 404, 'not a stream id');
  const end = await dialAgentEnd(broker.url, session.session_code, open.stream_id, agent.secret);
  t.teardown(() => end.terminate());
  const opened = await opening;
  t.teardown(() => opened.stream.destroy());
  t.equal(opened.streamId, open.stream_id);
  t.equal(await status(open.stream_id, agent.secret), 404, 'a stream already joined cannot be taken over');
});

t.test('4403 when the customer did not allow a terminal', async (t) => {
  const declined = await newSession(t);
  await agentFor(t, declined, { answer: { refuse: 'declined' } });
  t.match(await refusalOf(openTunnel({ brokerUrl: broker.url, token: tech, code: declined.session_code })), {
    closeCode: CloseCode.SHELL_NOT_ALLOWED,
    message: /did not allow/,
  });

  const noShell = await newSession(t);
  const agent = await agentFor(t, noShell, { hostKey: null });
  t.match(await refusalOf(openTunnel({ brokerUrl: broker.url, token: tech, code: noShell.session_code })), {
    closeCode: CloseCode.SHELL_NOT_ALLOWED,
    message: /started without --allow-shell/,
  });
  t.equal(agent.opens.items.length, 0, 'an agent that offered no host key is not even asked');
});

/** The IT side's tunnel WebSocket, raw, once the broker has taken it (its upgrade is done). */
async function itSocket(t: Test, session: Session, token = tech) {
  const ws = new WebSocket(tunnelWsUrl(broker.url, session.session_code), { headers: { authorization: `Bearer ${token}` } });
  t.teardown(() => ws.terminate());
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  const firstMessage = new Promise<Json>((resolve) => ws.once('message', (data) => resolve(JSON.parse(String(data)) as Json)));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, closed, firstMessage };
}

t.test("a tunnel asked for in the moment before the agent's host key came waits for it, then opens", async (t) => {
  const session = await newSession(t);
  const agent = await agentFor(t, session, { hostKey: null });
  // The agent has been welcomed but has not offered its host key yet: the IT side connects now.
  const it = await itSocket(t, session);

  const hostKey = ed25519HostKeyLine();
  agent.signal.send({ type: 'agent_host_key', public_key: hostKey });
  const ready = (await Promise.race([it.firstMessage, it.closed])) as Json;
  t.match(ready, { type: 'tunnel_ready', host_key: hostKey, username: 'tina@example.com' }, 'the tunnel opened with the key that came');
  const end = await agent.streams.next((s) => s.open.stream_id === ready.stream_id);
  t.equal(end.ws.readyState, WebSocket.OPEN, "the agent's end is joined to it");
});

t.test('an agent that leaves while a tunnel waits for its host key: the tunnel says it is not connected', async (t) => {
  const session = await newSession(t);
  const agent = await agentFor(t, session, { hostKey: null });
  const it = await itSocket(t, session);
  agent.close();
  t.match(await it.closed, { code: CloseCode.AGENT_NO_ANSWER, reason: /not connected/ });
});

t.test('an agent that said as it joined that it allows no shell: a tunnel is refused at once', async (t) => {
  const session = await newSession(t);
  const agent = await agentFor(t, session, { hostKey: null, shell: 'not-allowed' });
  const it = await itSocket(t, session);
  // A key sent now would open a tunnel still waiting for one (as above): this one waits for nothing.
  agent.signal.send({ type: 'agent_host_key', public_key: ed25519HostKeyLine() });
  const answer = await Promise.race([it.closed, it.firstMessage]);
  t.match(answer, { code: CloseCode.SHELL_NOT_ALLOWED, reason: /started without --allow-shell/ }, 'refused, not opened with that key');
  t.equal(agent.opens.items.length, 0, 'the agent is not asked');
});

t.test('an agent that said as it joined that it allows a shell is waited for beyond the grace', async (t) => {
  const session = await newSession(t);
  const agent = await agentFor(t, session, { hostKey: null, shell: 'allowed' });
  const it = await itSocket(t, session);
  // The scenario, not a wait: an agent slower with its key than the grace a silent agent gets.
  await sleep(HOST_KEY_GRACE_MS + 500);
  const hostKey = ed25519HostKeyLine();
  agent.signal.send({ type: 'agent_host_key', public_key: hostKey });
  const ready = (await Promise.race([it.firstMessage, it.closed])) as Json;
  t.match(ready, { type: 'tunnel_ready', host_key: hostKey }, 'the tunnel opened with the key that came');
});

t.test("a disabled user's tunnel that waits for the agent's host key is closed at once", async (t) => {
  const wendy = await newUser('wendy@example.com', { full_name: 'Wendy' });
  const session = await newSession(t, wendy);
  const agent = await agentFor(t, session, { hostKey: null, shell: 'allowed' });
  const it = await itSocket(t, session, wendy);
  await call(broker.api, 'PATCH', `/users/${userIds.get('wendy@example.com')}`, { token: admin, body: { is_active: false } });
  t.same(await it.closed, { code: CloseCode.NOT_AUTHENTICATED, reason: 'Your login is no longer valid: log in again' });
  t.equal(agent.opens.items.length, 0, 'the agent was not asked for her stream');
});

t.test("a user disabled in the database: the sweep's read of connected users covers a tunnel waiting for the host key", async (t) => {
  const vera = await newUser('vera@example.com', { full_name: 'Vera' });
  const session = await newSession(t, vera);
  await agentFor(t, session, { hostKey: null, shell: 'allowed' });
  const it = await itSocket(t, session, vera);
  // Not through the API (which tells the broker): only the sweep's reading of connected users sees it.
  const db = await openBrokerDatabase(broker);
  t.teardown(() => db.close());
  await db.run('UPDATE users SET is_active = ? WHERE id = ?', [0, userIds.get('vera@example.com')!]);
  t.same(await it.closed, { code: CloseCode.NOT_AUTHENTICATED, reason: 'Your login is no longer valid: log in again' });
});

t.test('IT sides waiting for the host key count toward the tunnel limit', async (t) => {
  const session = await newSession(t);
  const agent = await agentFor(t, session, { hostKey: null, shell: 'allowed' });
  const waiting = await Promise.all(Array.from({ length: MAX_TUNNELS_PER_SESSION }, () => itSocket(t, session)));
  const oneMore = () => refusalOf(openTunnel({ brokerUrl: broker.url, token: tech, code: session.session_code }));
  t.match(
    await oneMore(),
    { status: 429, message: new RegExp(`already has ${MAX_TUNNELS_PER_SESSION} tunnels`) },
    'one more is refused before its upgrade',
  );
  t.equal(agent.opens.items.length, 0, 'the agent has not been asked for any yet');

  agent.signal.send({ type: 'agent_host_key', public_key: ed25519HostKeyLine() });
  const answers = (await Promise.all(waiting.map((it) => Promise.race([it.firstMessage, it.closed])))) as Json[];
  t.equal(answers.filter((a) => a.type === 'tunnel_ready').length, MAX_TUNNELS_PER_SESSION, 'the key came: every waiting one opens');
  t.match(await oneMore(), { status: 429 }, 'open now, they count the same');
});

t.test('an IT side waiting for the host key keeps the session from being closed as idle', async (t) => {
  const own = await startBrokerProcess({ args: ['--idle-timeout', '2s', '--agent-timeout', '1s'] });
  t.teardown(() => own.stop());
  const token = await login(own.api);
  const newOwnSession = async () => (await call<Session>(own.api, 'POST', '/sessions', { token, body: {} })).body;
  const session = await newOwnSession();
  const agent = await joinTunnelAgent(own.url, session.session_code, { hostKey: null, shell: 'allowed' });
  t.teardown(() => agent.close());
  const it = new WebSocket(tunnelWsUrl(own.url, session.session_code), { headers: { authorization: `Bearer ${token}` } });
  t.teardown(() => it.terminate());
  const itClosed = new Promise<number>((resolve) => it.once('close', (code) => resolve(code)));
  await new Promise((resolve, reject) => {
    it.once('open', resolve);
    it.once('error', reject);
  });
  // A twin made after it, with an agent and nothing else: once the sweep has closed the twin, this
  // session has been idle as long, and only the IT side waiting for the key can have kept it open.
  const twin = await newOwnSession();
  const twinAgent = await openSignal(own.url, twin.session_code);
  t.teardown(() => twinAgent.ws.close());
  await nextOf(twinAgent, 'agent_welcome');
  t.same(await nextOf(twinAgent, 'disconnect'), { type: 'disconnect' }, 'the twin closed as idle');
  t.equal((await call(own.api, 'GET', `/sessions/${session.session_code}/info`)).status, 200, 'the waiting IT side keeps it open');
  t.equal(await itClosed, CloseCode.AGENT_NO_ANSWER, 'no key came: the IT side gives up');
  t.same(await nextOf(agent.signal, 'disconnect'), { type: 'disconnect' }, 'then the session is closed as idle');
});

t.test('4408 when the agent never dials back', async (t) => {
  const session = await newSession(t);
  await agentFor(t, session, { answer: 'ignore' });
  t.match(await refusalOf(openTunnel({ brokerUrl: broker.url, token: tech, code: session.session_code })), {
    closeCode: CloseCode.AGENT_NO_ANSWER,
    message: /did not answer/,
  });
});

/** An open tunnel and the agent's end of it. */
async function openPair(t: Test, session: Session, agent: TunnelAgent, token = tech) {
  const it = await tunnel(t, session, token);
  const end = await agent.streams.next((s) => s.open.stream_id === it.streamId);
  return { it, end };
}

t.test("a disabled user's open tunnel is closed at once, and nothing passes after", async (t) => {
  const dora = await newUser('dora@example.com', { full_name: 'Dora' });
  const session = await newSession(t, dora);
  const agent = await agentFor(t, session, { answer: 'dial' });
  const { it, end } = await openPair(t, session, agent, dora);
  const seen: Buffer[] = [];
  it.stream.on('data', (chunk: Buffer) => seen.push(chunk));
  await call(broker.api, 'PATCH', `/users/${userIds.get('dora@example.com')}`, { token: admin, body: { is_active: false } });
  end.ws.send(Buffer.from('after the cut'));
  t.same(await end.closed, { code: CloseCode.NOT_AUTHENTICATED, reason: 'Your login is no longer valid: log in again' });
  await streamClosed(it.stream);
  t.same(seen, [], 'no byte the agent sent after the PATCH reached her');
});

t.test('a changed password (revoked tokens) and a demotion close tunnels too', async (t) => {
  const session = await newSession(t);
  const agent = await agentFor(t, session, { answer: 'dial' });
  const ada = await newUser('ada@example.com', { role: 'admin' });
  const pat = await newUser('pat@example.com', { role: 'admin' });
  const asAda = await openPair(t, session, agent, ada);
  const asPat = await openPair(t, session, agent, pat);
  await call(broker.api, 'PATCH', `/users/${userIds.get('ada@example.com')}`, { token: admin, body: { role: 'tech' } });
  t.same(await asAda.end.closed, { code: CloseCode.FORBIDDEN, reason: 'You may no longer open this session' }, 'demoted: 4003');
  t.match(await asAda.it.closed, { code: CloseCode.FORBIDDEN }, 'the IT side hears the same code');
  await call(broker.api, 'PATCH', `/users/${userIds.get('pat@example.com')}`, { token: admin, body: { password: 'a-new-password-1' } });
  t.same(await asPat.end.closed, { code: CloseCode.NOT_AUTHENTICATED, reason: 'Your login is no longer valid: log in again' });
  t.match(await asPat.it.closed, { code: CloseCode.NOT_AUTHENTICATED });
});

t.test('closing the session, or the agent leaving, closes its tunnels', async (t) => {
  const freshTech = await newUser('fred@example.com');
  const session = await newSession(t, freshTech);
  const agent = await agentFor(t, session, { answer: 'dial' });
  const first = await openPair(t, session, agent, freshTech);
  const second = await openPair(t, session, agent, freshTech);
  await call(broker.api, 'DELETE', `/sessions/${session.id}`, { token: freshTech });
  for (const pair of [first, second]) {
    t.same(await pair.end.closed, { code: CloseCode.NORMAL, reason: 'Session closed' });
    t.match(await pair.it.closed, { code: CloseCode.NORMAL });
  }

  const other = await newSession(t, freshTech);
  const leaving = await agentFor(t, other, { answer: 'dial' });
  const pair = await openPair(t, other, leaving, freshTech);
  leaving.signal.ws.close();
  t.same(await pair.end.closed, { code: CloseCode.NORMAL, reason: "The customer's agent left" });
  t.match(await pair.it.closed, { code: CloseCode.NORMAL });
});

t.test('either end closing closes the other', async (t) => {
  const session = await newSession(t);
  const agent = await agentFor(t, session, { answer: 'dial' });
  const fromIt = await openPair(t, session, agent);
  fromIt.it.stream.end();
  t.match(await fromIt.end.closed, { code: CloseCode.NORMAL });
  const fromAgent = await openPair(t, session, agent);
  fromAgent.end.ws.close();
  t.match(await fromAgent.it.closed, { code: CloseCode.NORMAL, reason: 'The other end of the tunnel closed' });
});

t.test("a tunnel's audit entry names the client's address, as the trusted proxy gave it", async (t) => {
  const proxied = await startBrokerProcess({ args: ['--trust-proxy', '127.0.0.1'] });
  t.teardown(() => proxied.stop());
  const token = await login(proxied.api);
  const session = (await call<Session>(proxied.api, 'POST', '/sessions', { token, body: {} })).body;
  const agent = await joinTunnelAgent(proxied.url, session.session_code);
  t.teardown(() => agent.close());
  const ws = new WebSocket(tunnelWsUrl(proxied.url, session.session_code), {
    headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': '203.0.113.9' },
  });
  t.teardown(() => ws.terminate());
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  // The agent dials its end of the stream; waiting for it keeps the teardown from racing that dial.
  await agent.streams.next();
  const entries = await eventually(async () => {
    const page = await call<{ entries: Json[] }>(proxied.api, 'GET', '/audit?action=session.tunnel_open', { token });
    return page.body.entries.length > 0 ? page.body.entries : undefined;
  }, 'the tunnel_open audit entry');
  t.match(entries[0], { action: 'session.tunnel_open', address: '203.0.113.9' });
});
