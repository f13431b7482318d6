// What the benches share: `rac serve` on loopback, the JSON API, UDP sockets, and a session whose
// agent and viewer sockets the relay has pinned through the real protocol (agent WebSocket →
// agent_secret → UDP handshake; viewer WebSocket → udp_ticket → hello/confirm).
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { agentHandshakeProof, encodeControl, encodeHandshake, encodeSealedHeader } from '../dist/protocol/index.js';

export const RAC = fileURLToPath(new URL('../bin/rac.js', import.meta.url));
export const BENCH_PASSWORD = 'bench-password';
export const DATAGRAM_BYTES = 1200;
export const HEADER_BYTES = 12;
const STARTUP_MS = 60_000;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** user + sys seconds a process has used so far (with its reaped children's if `withReaped`); 0 once it is gone. */
export function cpuSeconds(pid, withReaped = false) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17.
    const ticks = Number(fields[11]) + Number(fields[12]) + (withReaped ? Number(fields[13]) + Number(fields[14]) : 0);
    return ticks / CLK_TCK;
  } catch {
    return 0;
  }
}

/** Polls `check` until it is true; throws after `ms`, naming what it waited for. */
export async function until(check, what, ms = STARTUP_MS) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`waited ${ms} ms for ${what}`);
    await sleep(100);
  }
}

/** `serve` on loopback at any free HTTP port, with its data dir, UDP range ("first-last") and database. */
export function serveArgs({ dataDir, udpPorts, databaseUrl, args = [] }) {
  const database = databaseUrl ? ['--database', databaseUrl] : [];
  return ['serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--udp-ports', udpPorts, ...database, ...args];
}

/** Starts `rac serve` in a fresh data dir (admin password BENCH_PASSWORD); resolves once it listens. */
export async function startBroker({ name, udpPorts, databaseUrl, args = [] }) {
  const dataDir = mkdtempSync(join(tmpdir(), `rac-bench-${name}-`));
  const child = spawn(process.execPath, [RAC, ...serveArgs({ dataDir, udpPorts, databaseUrl, args })], {
    env: { ...process.env, RAC_ADMIN_PASSWORD: BENCH_PASSWORD },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = await new Promise((resolve, reject) => {
    let err = '';
    const onData = (d) => {
      err = (err + d).slice(-4000);
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(err);
      if (!m) return;
      // From here on the log is drained unread: a reader that falls behind would hold the broker
      // up on a full pipe, and measure the bench rather than the broker.
      child.stderr.off('data', onData);
      child.stderr.resume();
      resolve(`http://127.0.0.1:${m[1]}`);
    };
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`rac serve (${name}) exited ${code}: ${err}`)));
  });
  return { child, url, dataDir };
}

/** One JSON request to the broker; throws on a non-2xx answer. */
export async function api(url, method, path, body, token) {
  const response = await fetch(url + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: body && JSON.stringify(body),
  });
  const reply = await response.json();
  if (!response.ok) throw new Error(`${method} ${path} on ${url}: ${response.status} ${JSON.stringify(reply)}`);
  return reply;
}

/** Logs in; returns the broker's whole answer (access_token, user). */
export function logIn(url, email = 'admin@localhost', password = BENCH_PASSWORD) {
  return api(url, 'POST', '/api/auth/login', { email, password });
}

/** The JSON messages of a WebSocket: `next(type)` resolves with the next one of that type. */
function inbox(ws) {
  const pending = [];
  const waiters = [];
  ws.on('message', (m) => {
    const msg = JSON.parse(String(m));
    const i = waiters.findIndex((w) => w.type === msg.type);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(msg);
    else pending.push(msg);
  });
  return (type) => {
    const i = pending.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(pending.splice(i, 1)[0]);
    return new Promise((resolve) => waiters.push({ type, resolve }));
  };
}

/** A UDP socket on loopback with `bufferBytes` of send and receive buffer. */
export async function udp(bufferBytes = 4 << 20) {
  const socket = createSocket('udp4');
  await new Promise((r) => socket.bind(0, '127.0.0.1', r));
  socket.setRecvBufferSize(bufferBytes);
  socket.setSendBufferSize(bufferBytes);
  return socket;
}

const reply = (socket) => new Promise((resolve) => socket.once('message', (m) => resolve(JSON.parse(String(m.subarray(1))))));

/** Pins the viewer socket: hello with the ticket, confirm with the cookie the relay answers. */
async function pinViewer(viewer, ticket, port) {
  let next = reply(viewer);
  viewer.send(encodeControl({ type: 'viewer_hello', ticket }), port, '127.0.0.1');
  const { cookie } = await next;
  next = reply(viewer);
  viewer.send(encodeControl({ type: 'viewer_confirm', cookie }), port, '127.0.0.1');
  await next;
}

/** Sends the agent's handshake, then probes until the relay forwards a datagram to the viewer. */
async function pinAgent(agent, viewer, { session, secret, viewerId }) {
  const timestamp = Date.now();
  const agentProof = agentHandshakeProof(secret, session.session_code, timestamp);
  const hello = { session_code: session.session_code, screen_width: 1920, screen_height: 1080, timestamp, agent_proof: agentProof };
  agent.send(encodeHandshake(hello), session.udp_port, '127.0.0.1');
  // A zero body byte after the header: benches that mark their load tell a probe from it.
  const probe = Buffer.alloc(DATAGRAM_BYTES);
  encodeSealedHeader({ toAgent: false, viewerId, epoch: 0, counter: 0n }).copy(probe, 0);
  let arrived = false;
  const onProbe = (m) => (arrived ||= m[0] === 5);
  viewer.on('message', onProbe);
  await until(async () => {
    agent.send(probe, session.udp_port, '127.0.0.1');
    await sleep(50);
    return arrived;
  }, `session ${session.session_code}'s relay to pin the agent`);
  viewer.off('message', onProbe);
}

/** Creates a session on the broker at `url` and pins its agent and viewer sockets through the real handshakes. */
export async function pinSession(url, token, bufferBytes) {
  const session = await api(url, 'POST', '/api/sessions', {}, token);
  const wsUrl = `${url.replace('http', 'ws')}/ws/session/${session.session_code}`;
  const agentWs = new WebSocket(wsUrl);
  const { agent_secret: secret } = await inbox(agentWs)('agent_welcome');
  const viewerWs = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token}` } });
  const fromBroker = inbox(viewerWs);
  const viewerId = (await fromBroker('joined')).viewer_id;
  const { ticket } = await fromBroker('udp_ticket');
  const [agent, viewer] = [await udp(bufferBytes), await udp(bufferBytes)];
  await pinViewer(viewer, ticket, session.udp_port);
  await pinAgent(agent, viewer, { session, secret, viewerId });
  return { port: session.udp_port, viewerId, agent, viewer, sockets: [agentWs, viewerWs] };
}

/** Closes what pinSession opened. */
export function unpin(pair) {
  for (const ws of pair.sockets) ws.close();
  pair.agent.close();
  pair.viewer.close();
}
