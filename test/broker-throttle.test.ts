// The per-address throttles of a real broker: login misses and code guesses are counted per address
// and survive a restart; X-Forwarded-For names the address only from a trusted proxy. (Apart from
// broker-lifecycle.test.ts: each password miss is a real scrypt hash, so these take a while.)
import t from 'tap';
import { ADMIN_PASSWORD, call, startBrokerProcess } from './helpers/broker-process.js';
import { firstThrottled, statusCounts } from './helpers/login-attempts.js';

t.test('login and code lookup are throttled per address, across restarts', async (t) => {
  const first = await startBrokerProcess();
  const attempt = (email: string, password: string) => call(first.api, 'POST', '/auth/login', { body: { email, password } });
  // 10 misses lock the admin account (for 15 minutes); 20 more, each for another account, use up
  // the address's 30 a minute. They run at once: a miss is counted before its password is hashed.
  const accountMisses = await Promise.all(Array.from({ length: 10 }, (_, i) => attempt('admin@localhost', `wrong-${i}`)));
  t.same(new Set(accountMisses.map((r) => r.status)), new Set([401]));
  const addressMisses = Array.from({ length: 21 }, (_, i) => attempt(`nobody-${i}@example.com`, `wrong-${i}`));
  await firstThrottled(addressMisses);
  const blocked = await attempt('admin@localhost', ADMIN_PASSWORD);
  t.equal(blocked.status, 429, 'after 30 misses even the right password waits');
  t.ok(Number(blocked.headers.get('retry-after')) > 0, 'with Retry-After');
  t.match(blocked.body.detail, /^Too many failed attempts from this address: retry in \d+ s$/);
  t.same(statusCounts(await Promise.all(addressMisses)), { 401: 20, 429: 1 }, 'the 31st miss was refused unhashed');

  for (let i = 0; i < 30; i++) {
    t.equal((await call(first.api, 'GET', `/sessions/${String(100000000 + i)}/info`)).status, 404);
  }
  const codeBlocked = await call(first.api, 'GET', '/sessions/123456789/info');
  t.equal(codeBlocked.status, 429, 'guessing codes is throttled');
  t.ok(Number(codeBlocked.headers.get('retry-after')) > 0);
  await first.stop();

  const second = await startBrokerProcess({ dataDir: first.dataDir, udpPorts: first.udpPorts });
  t.teardown(() => second.stop());
  t.equal(
    (await call(second.api, 'POST', '/auth/login', { body: { email: 'admin@localhost', password: ADMIN_PASSWORD } })).status,
    429,
    'a restart does not reset the login throttle (the account stays locked)',
  );
  t.equal((await call(second.api, 'GET', '/sessions/123456789/info')).status, 429, 'nor the code throttle');
  t.equal((await call(second.api, 'GET', '/health')).status, 200, 'other routes are not throttled');
});

t.test('X-Forwarded-For counts only from a trusted proxy', async (t) => {
  // 31 wrong logins at once, each for another account (so only the per-address limit applies).
  const misses = (api: string, forwardedFor: (i: number) => string) =>
    Array.from({ length: 31 }, (_, i) =>
      call(api, 'POST', '/auth/login', {
        body: { email: `nobody-${i}@example.com`, password: 'wrong-password' },
        headers: { 'x-forwarded-for': forwardedFor(i) },
      }),
    );

  const direct = await startBrokerProcess();
  t.teardown(() => direct.stop());
  t.same(
    statusCounts(await Promise.all(misses(direct.api, (i) => `203.0.113.${i}`))),
    { 401: 30, 429: 1 },
    'without --trust-proxy a forged header does not dodge the throttle',
  );

  const proxied = await startBrokerProcess({ args: ['--trust-proxy', '127.0.0.1'] });
  t.teardown(() => proxied.stop());
  const fromOneClient = misses(proxied.api, () => '203.0.113.9');
  await firstThrottled(fromOneClient);
  const other = (address: string) =>
    call(proxied.api, 'POST', '/auth/login', {
      body: { email: 'someone-else@example.com', password: 'wrong-password' },
      headers: { 'x-forwarded-for': address },
    });
  t.equal((await other('203.0.113.9')).status, 429, 'behind a trusted proxy the client address is throttled');
  t.equal((await other('198.51.100.7')).status, 401, 'and other clients of the same proxy are not');
  t.same(statusCounts(await Promise.all(fromOneClient)), { 401: 30, 429: 1 });
});
