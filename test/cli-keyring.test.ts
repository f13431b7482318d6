// rac login with a real OS credential store: a headless Secret Service (gnome-keyring on a private
// D-Bus). The token goes to the keyring, never to a file; logout removes it from the keyring.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startBrokerProcess } from './helpers/broker-process.js';
import { isolatedEnv, spawnCommand, spawnRac } from './helpers/cli.js';
import { startSecretService } from './helpers/secret-service.js';

const [broker, secrets] = await Promise.all([startBrokerProcess(), startSecretService()]);
t.teardown(() => Promise.all([broker.stop(), secrets.stop()]));

/** Reads the keyring entry directly, as another process would. */
const keyringEntry = async (env: NodeJS.ProcessEnv, account: string) => {
  const script = `import('@napi-rs/keyring').then(async ({ AsyncEntry }) => {
    const value = await new AsyncEntry('rac', ${JSON.stringify(account)}, { linux: { store: 'secret-service' } }).getPassword();
    process.stdout.write(JSON.stringify(value));
  })`;
  const result = await spawnCommand(process.execPath, ['-e', script], { env, cwd: process.cwd() });
  if (result.code !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout) as string | null;
};

t.test('login stores the token in the Secret Service; commands use it; logout removes it', async (t) => {
  const env = isolatedEnv({ DBUS_SESSION_BUS_ADDRESS: secrets.env.DBUS_SESSION_BUS_ADDRESS });
  const login = await spawnRac(['login', '--server', broker.url, '--email', ADMIN_EMAIL, '--password-stdin'], {
    env,
    stdin: ADMIN_PASSWORD,
  });
  t.equal(login.code, 0, login.stderr);
  t.equal(
    login.stderr,
    `Logged in to ${broker.url} as ${ADMIN_EMAIL} (admin); token stored in the system credential store (Secret Service).\n`,
  );

  const dir = join(env.XDG_CONFIG_HOME!, 'rac');
  t.notOk(existsSync(join(dir, 'token')), 'no token file');
  const config = readFileSync(join(dir, 'config.json'), 'utf8');
  t.same(JSON.parse(config), { server: broker.url, email: ADMIN_EMAIL, token_store: 'keyring' });
  const token = await keyringEntry(env, broker.url);
  t.match(token, /^ey/, 'the keyring holds the token');

  const created = await spawnRac(['session', 'create', '--customer-name', 'Keyring', '--json'], { env });
  t.equal(created.code, 0, created.stderr);
  t.equal(JSON.parse(created.stdout).customer_name, 'Keyring');

  const logout = await spawnRac(['logout'], { env });
  t.equal(logout.code, 0, logout.stderr);
  t.equal(await keyringEntry(env, broker.url), null, 'the keyring entry is gone');
  const after = await spawnRac(['session', 'list'], { env });
  t.equal(after.code, 3);
});

t.test('the same login without a session bus falls back to the 0600 file and says so', async (t) => {
  const env = isolatedEnv({ DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' });
  const login = await spawnRac(['login', '--server', broker.url, '--email', ADMIN_EMAIL, '--password-stdin'], {
    env,
    stdin: ADMIN_PASSWORD,
  });
  t.equal(login.code, 0, login.stderr);
  t.match(login.stderr, /^no system keyring; token stored in .+\/rac\/token \(mode 600\)\n/);
  t.notMatch(login.stderr, /DBus|D-Bus|\/nonexistent\/bus/, 'no D-Bus error text');
  t.ok(existsSync(join(env.XDG_CONFIG_HOME!, 'rac', 'token')));
  t.equal((await spawnRac(['session', 'list', '--json'], { env })).code, 0);
});
