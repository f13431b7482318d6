// Requests per second of the broker's hottest endpoints against a real `rac serve` process, next
// to a bare node:http server answering a fixed JSON body (the ceiling on this machine, same run).
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RAC = fileURLToPath(new URL('../bin/rac.js', import.meta.url));
const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = 20;

function startBroker() {
  const dataDir = mkdtempSync(join(tmpdir(), 'rac-bench-'));
  const child = spawn(
    process.execPath,
    [
      RAC,
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--udp-ports',
      '40000-49999',
      // BENCH_DATABASE_URL=postgres://…: the same load on PostgreSQL (an empty database).
      ...(process.env.BENCH_DATABASE_URL ? ['--database', process.env.BENCH_DATABASE_URL] : []),
    ],
    {
      env: { ...process.env, RAC_ADMIN_PASSWORD: 'bench-password' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  return new Promise((resolve, reject) => {
    let err = '';
    const onData = (d) => {
      err += d;
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(err);
      if (!m) return;
      // From here on the request log is drained unread: a reader that falls behind would hold the
      // broker up on a full pipe, and measure this bench rather than the broker.
      child.stderr.off('data', onData);
      child.stderr.resume();
      resolve({ child, url: `http://127.0.0.1:${m[1]}` });
    };
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`rac serve exited ${code}: ${err}`)));
  });
}

async function json(url, method, body, token) {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body && JSON.stringify(body),
  });
  return res.json();
}

function load(opts) {
  return new Promise((resolve, reject) => {
    autocannon({ connections: CONNECTIONS, ...(opts.amount ? {} : { duration: DURATION }), ...opts }, (err, result) =>
      err ? reject(err) : resolve(result),
    );
  });
}

const row = (name, r) =>
  console.log(
    `${name.padEnd(44)} ${String(Math.round(r.requests.average)).padStart(8)} req/s   p50 ${String(r.latency.p50).padStart(4)} ms   p99 ${String(r.latency.p99).padStart(4)} ms   non-2xx ${r.non2xx}`,
  );

const baseline = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"session_code":"482916573","udp_port":50001,"status":"pending"}');
});
await new Promise((r) => baseline.listen(0, '127.0.0.1', r));
const { child, url } = await startBroker();
try {
  const { access_token: admin } = await json(`${url}/api/auth/login`, 'POST', { email: 'admin@localhost', password: 'bench-password' });
  await json(`${url}/api/users`, 'POST', { email: 'bench@example.com', password: 'bench-password', max_sessions: 10000 }, admin);
  const { access_token: tech } = await json(`${url}/api/auth/login`, 'POST', { email: 'bench@example.com', password: 'bench-password' });
  const session = await json(`${url}/api/sessions`, 'POST', {}, tech);

  console.log(`${CONNECTIONS} connections, ${DURATION} s each, loopback, ${process.version}`);
  row('baseline: node:http fixed JSON', await load({ url: `http://127.0.0.1:${baseline.address().port}/` }));
  row('GET /api/sessions/{code}/info', await load({ url: `${url}/api/sessions/${session.session_code}/info` }));
  // An unknown code: a miss counted in the database (until the address is blocked, then answered from memory).
  row('GET /api/sessions/{unknown}/info (misses)', await load({ url: `${url}/api/sessions/000000000/info` }));
  // Each created session binds a UDP port: cap the count so the 10 000-port range holds them all.
  row(
    'POST /api/sessions (creates, binds a port)',
    await load({
      url: `${url}/api/sessions`,
      method: 'POST',
      headers: { authorization: `Bearer ${tech}`, 'content-type': 'application/json' },
      body: '{"customer_name":"Bench"}',
      amount: 5000,
    }),
  );
} finally {
  child.kill('SIGTERM');
  baseline.close();
}
