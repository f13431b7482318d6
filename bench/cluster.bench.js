// Issue 17's load: sessions spread over two `rac serve` nodes on one PostgreSQL database, beside the
// same load carried by one node, in the same run. Each session has a pinned agent socket sending
// frames of BENCH_FRAME_KB as 1200-byte sealed datagrams (opaque bodies: the relay routes by the
// header and never decrypts) at BENCH_FPS to a pinned viewer socket, through the real protocol
// (agent WebSocket → agent_secret → UDP handshake; viewer WebSocket → udp_ticket → hello/confirm).
// Printed: offered and delivered datagrams/s, delivery %, each node's CPU, the database's CPU and
// transactions/s. The full issue-17 load (200 × 15 fps × 100 KB ≈ 300 MB/s) is beyond a 2-core box:
// the defaults are smaller, and the table says what was offered.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { encodeSealedHeader } from '../dist/protocol/index.js';
import { DATAGRAM_BYTES, HEADER_BYTES, api, cpuSeconds, logIn, pinSession, sleep, startBroker, unpin, until } from './helpers.js';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 40);
const FPS = Number(process.env.BENCH_FPS ?? 15);
const FRAME_KB = Number(process.env.BENCH_FRAME_KB ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
/** The first body byte tells a load datagram from a pinning probe: only the load is counted. */
const LOAD_MARK = 1;
const PER_FRAME = Math.ceil((FRAME_KB * 1000) / DATAGRAM_BYTES);
const STARTUP_MS = 60_000;

/** Every process this bench started, stopped on any exit (a bench must leave nothing running). */
const children = new Set();
const tempDirs = new Set();
function cleanUp() {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
// Time-bounded: two runs of SECONDS plus start-up; past that something hangs.
setTimeout(
  () => {
    process.stderr.write('cluster bench: out of time, stopping\n');
    process.exit(1);
  },
  2 * SECONDS * 1000 + 4 * STARTUP_MS,
).unref();

// ---- PostgreSQL (the recipe of test/helpers/postgres.ts) ----

function postgresBinDir() {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error('PostgreSQL is not installed: run `apt-get install postgresql`');
  return join(root, newest, 'bin');
}

const asServerUser = (command) => (process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ...command] : command);
const idOf = (flag) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function startPostgres() {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'rac-bench-pg-'));
  if (process.getuid?.() === 0) chownSync(dir, idOf('-u'), idOf('-g'));
  const data = join(dir, 'data');
  const [cmd, ...args] = asServerUser([join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', 'rac', '--no-sync', '-E', 'UTF8']);
  const init = spawnSync(cmd, args, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed:\n${init.stderr}`);
  const port = await freePort();
  const postgres = [join(bin, 'postgres'), '-D', data, '-p', String(port), '-k', dir];
  const settings = ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'max_connections=200'];
  // The server dies with the bench, however it ends: the shell stops it when its stdin (our pipe)
  // closes, then removes the cluster's directory (not before: the server writes there until it exits).
  const script = `dir=$1; shift; "$@" & server=$!; cat >/dev/null; kill -INT $server; wait $server; rm -rf "$dir"`;
  const command = asServerUser(['sh', '-c', script, 'postgres-for-bench', dir, ...postgres, ...settings]);
  const server = spawn(command[0], command.slice(1), { stdio: ['pipe', 'ignore', 'ignore'] });
  const url = (db = 'postgres') => `postgres://rac@127.0.0.1:${port}/${db}`;
  await until(async () => {
    const client = new pg.Client({ connectionString: url() });
    try {
      await client.connect();
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }, 'PostgreSQL to accept connections');
  return { url, data, server };
}

async function query(url, sql) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

// ---- CPU from /proc ----

/** The postmaster (its reaped backends included) and its live children. */
function postgresCpuSeconds(data) {
  const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let total = cpuSeconds(postmaster, true);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmaster) total += cpuSeconds(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

/**
 * Datagrams dropped on a full receive buffer by the UDP sockets bound to `ports`, from the kernel's
 * tables (`/proc/net/udp`; the relay's dual-stack sockets are in `udp6`). Another process's socket
 * on the same port number in the other table would count too.
 */
function receiveDrops(ports, tables) {
  let drops = 0;
  const rows = (file) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(1) : []);
  for (const line of tables.flatMap((t) => rows(`/proc/net/${t}`))) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 13) continue;
    if (ports.has(parseInt(fields[1].split(':')[1], 16))) drops += Number(fields[fields.length - 1]);
  }
  return drops;
}

async function transactions(url) {
  const [row] = await query(url, 'SELECT sum(xact_commit + xact_rollback)::bigint AS n FROM pg_stat_database');
  return Number(row.n);
}

// ---- rac serve nodes ----

async function startNode(databaseUrl, nodeId, udpPorts) {
  const node = await startBroker({ name: nodeId, udpPorts, databaseUrl, args: ['--node-id', nodeId] });
  children.add(node.child);
  tempDirs.add(node.dataDir);
  return { ...node, nodeId };
}

/** A login on the first node (valid on every node: the key is shared) allowed SESSIONS live sessions. */
async function logInForSessions(url) {
  const login = await logIn(url);
  await api(url, 'PATCH', `/api/users/${login.user.id}`, { max_sessions: SESSIONS + 10 }, login.access_token);
  return login.access_token;
}

/** One pinned agent/viewer pair per session, with its counters. */
async function pinPair(node, token) {
  return { ...(await pinSession(node.url, token)), node: node.nodeId, received: 0, sent: 0, sendErrors: 0 };
}

// ---- the load ----

/** Each session sends a whole frame every 1/FPS s, the sessions' frames spread over the interval. */
async function offerLoad(pairs) {
  for (const p of pairs) {
    p.viewer.on('message', (m) => {
      if (m[0] === 5 && m[HEADER_BYTES] === LOAD_MARK) p.received++;
    });
  }
  let unsent = 0;
  const interval = 1000 / FPS;
  const start = performance.now();
  const frames = Math.round(SECONDS * FPS);
  const next = pairs.map((_, i) => ({ frame: 0, due: start + (i / pairs.length) * interval }));
  while (next.some((n) => n.frame < frames)) {
    const now = performance.now();
    pairs.forEach((p, i) => {
      const n = next[i];
      if (n.frame >= frames || n.due > now) return;
      for (let d = 0; d < PER_FRAME; d++, p.sent++) {
        // A buffer per datagram: a send the kernel cannot take at once is queued by reference.
        const datagram = Buffer.alloc(DATAGRAM_BYTES);
        encodeSealedHeader({ toAgent: false, viewerId: p.viewerId, epoch: 0, counter: BigInt(p.sent + 1) }).copy(datagram, 0);
        datagram[HEADER_BYTES] = LOAD_MARK;
        unsent++;
        p.agent.send(datagram, p.port, '127.0.0.1', (err) => {
          unsent--;
          if (err) p.sendErrors++;
        });
      }
      n.frame++;
      n.due += interval;
    });
    await sleep(Math.max(0, Math.min(...next.map((n) => n.due)) - performance.now()));
  }
  const elapsed = (performance.now() - start) / 1000;
  // Sends still queued in this process are not lost: wait for them (a lagging bench shows in its
  // CPU column), then for the last frames in flight.
  const lag = unsent;
  await until(async () => unsent === 0, 'the queued sends to leave');
  // Datagrams still in the viewers' buffers are late, not lost: read until 500 ms bring nothing new.
  const total = () => pairs.reduce((a, p) => a + p.received, 0);
  let seen = -1;
  await until(async () => {
    const now = total();
    const quiet = now === seen;
    seen = now;
    if (!quiet) await sleep(500);
    return quiet;
  }, 'the last datagrams to arrive');
  return { elapsed, lag };
}

/** Starts the nodes, spreads SESSIONS over them, offers the load and measures; stops the nodes. */
async function measure(cluster, nodeIds) {
  const databaseUrl = cluster.url(`rac_${nodeIds.length}_nodes`);
  await query(cluster.url(), `CREATE DATABASE rac_${nodeIds.length}_nodes`);
  const nodes = [];
  // One after the other: the first node makes the shared keys the others read.
  for (const [i, id] of nodeIds.entries()) {
    const first = 47000 + i * 1000;
    nodes.push(await startNode(databaseUrl, id, `${first}-${first + SESSIONS + 20}`));
  }
  try {
    const token = await logInForSessions(nodes[0].url);
    const pairs = [];
    for (let s = 0; s < SESSIONS; s++) pairs.push(await pinPair(nodes[s % nodes.length], token));
    const cpuBefore = nodes.map((n) => cpuSeconds(n.child.pid));
    const dbCpuBefore = postgresCpuSeconds(cluster.data);
    const txBefore = await transactions(cluster.url());
    const benchBefore = process.cpuUsage();
    const relayPorts = new Set(pairs.map((p) => p.port));
    const viewerPorts = new Set(pairs.map((p) => p.viewer.address().port));
    const dropsBefore = [receiveDrops(relayPorts, ['udp', 'udp6']), receiveDrops(viewerPorts, ['udp'])];
    const { elapsed, lag } = await offerLoad(pairs);
    // The bench sends and receives every datagram itself: when it is saturated, loss is its own.
    const benchUsage = process.cpuUsage(benchBefore);
    const benchCpu = (benchUsage.user + benchUsage.system) / 1e6 / elapsed;
    const cpu = nodes.map((n, i) => (cpuSeconds(n.child.pid) - cpuBefore[i]) / elapsed);
    const drops = [receiveDrops(relayPorts, ['udp', 'udp6']) - dropsBefore[0], receiveDrops(viewerPorts, ['udp']) - dropsBefore[1]];
    const dbCpu = (postgresCpuSeconds(cluster.data) - dbCpuBefore) / elapsed;
    const tx = (await transactions(cluster.url())) - txBefore;
    for (const pair of pairs) unpin(pair);
    const sent = pairs.reduce((a, p) => a + p.sent, 0);
    const received = pairs.reduce((a, p) => a + p.received, 0);
    const sendErrors = pairs.reduce((a, p) => a + p.sendErrors, 0);
    const perNode = nodes.map((n) => {
      const own = pairs.filter((p) => p.node === n.nodeId);
      const ownSent = own.reduce((a, p) => a + p.sent, 0);
      return { sessions: own.length, delivered: ownSent && own.reduce((a, p) => a + p.received, 0) / ownSent };
    });
    return { nodes, perNode, sent, received, sendErrors, elapsed, lag, drops, cpu, dbCpu, benchCpu, txPerSecond: tx / elapsed };
  } finally {
    for (const n of nodes) {
      const exited = new Promise((r) => (n.child.exitCode === null ? n.child.once('exit', r) : r()));
      n.child.kill('SIGTERM');
      await exited;
    }
  }
}

function row(label, r) {
  const pct = (x) => `${(x * 100).toFixed(1)}%`;
  const nodes = r.nodes
    .map((n, i) => `${n.nodeId}: ${r.perNode[i].sessions} sess, ${pct(r.perNode[i].delivered)} delivered, ${pct(r.cpu[i])} CPU`)
    .join('; ');
  return [
    label.padEnd(10),
    String(Math.round(r.sent / r.elapsed)).padStart(9),
    String(Math.round(r.received / r.elapsed)).padStart(11),
    `${((r.received / r.sent) * 100).toFixed(2)}%`.padStart(9),
    pct(r.dbCpu).padStart(7),
    r.txPerSecond.toFixed(1).padStart(6),
    pct(r.benchCpu).padStart(10),
    `${r.drops[0]}/${r.drops[1]}`.padStart(15),
    String(r.sendErrors).padStart(11),
    ` ${nodes}${r.lag ? ` (the bench lagged: ${r.lag} sends still queued at the end)` : ''}`,
  ].join(' |');
}

const pgCluster = await startPostgres();
const mbps = (SESSIONS * FPS * PER_FRAME * DATAGRAM_BYTES) / 1e6;
process.stderr.write(`${SESSIONS} sessions × ${FPS} fps × ${FRAME_KB} KB (${PER_FRAME} datagrams/frame), ${SECONDS} s per run\n`);
const two = await measure(pgCluster, ['n1', 'n2']);
const one = await measure(pgCluster, ['n1']);
console.log(
  `${SESSIONS} sessions × ${FPS} fps × ${FRAME_KB} KB frames (${PER_FRAME} × ${DATAGRAM_BYTES} B datagrams) ≈ ${mbps.toFixed(1)} MB/s offered, ` +
    `${SECONDS} s per run, loopback, ${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()} cores; CPU in % of one core; ` +
    `issue 17 asks ≥ 99.5% delivered at 200 sessions`,
);
console.log(
  `${'nodes'.padEnd(10)} |${'sent dg/s'.padStart(10)} |${'delivered/s'.padStart(12)} |${'delivered'.padStart(10)} |${'db CPU'.padStart(8)} |${'db tx/s'.padStart(7)} |${'bench CPU'.padStart(11)} |${'drops relay/view'.padStart(15)} |${'send errors'.padStart(11)} | per node`,
);
console.log(row('two nodes', two));
console.log(row('one node', one));
// Ends the PostgreSQL pipe and waits for the server to stop and remove its directory.
pgCluster.server.stdin.end();
await new Promise((r) => (pgCluster.server.exitCode === null ? pgCluster.server.once('exit', r) : r()));
