// Requests per second of the broker's hottest endpoints against a real `rac serve` process, next
// to a bare node:http server answering a fixed JSON body (the ceiling on this machine, same run).
import autocannon from 'autocannon';
import { createServer } from 'node:http';
import { BENCH_PASSWORD, api, logIn, startBroker } from './helpers.js';

const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = 20;

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
// BENCH_DATABASE_URL=postgres://…: the same load on PostgreSQL (an empty database).
const { child, url } = await startBroker({ name: 'api', udpPorts: '40000-49999', databaseUrl: process.env.BENCH_DATABASE_URL });
try {
  const { access_token: admin } = await logIn(url);
  await api(url, 'POST', '/api/users', { email: 'bench@example.com', password: BENCH_PASSWORD, max_sessions: 10000 }, admin);
  const { access_token: tech } = await logIn(url, 'bench@example.com');
  const session = await api(url, 'POST', '/api/sessions', {}, tech);

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
