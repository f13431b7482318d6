// Spawned `rac` in a real terminal (tmux): the password prompt echoes nothing; plus spawned
// checks of --help, usage errors and the exit code of the process itself.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ADMIN_EMAIL, ADMIN_PASSWORD, RAC_BIN, startBrokerProcess } from './helpers/broker-process.js';
import { isolatedEnv, loggedInEnv, spawnRac } from './helpers/cli.js';
import { startTmux } from './helpers/tmux.js';

const broker = await startBrokerProcess();
t.teardown(() => broker.stop());
const env = () => isolatedEnv({ DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' });
const rac = `${JSON.stringify(process.execPath)} ${JSON.stringify(RAC_BIN)}`;

t.test('login on a terminal prompts for the password without echoing it', async (t) => {
  const home = env();
  const pane = await startTmux(`${rac} login --server ${broker.url} --email ${ADMIN_EMAIL}`, home);
  t.teardown(() => pane.kill());
  await pane.waitFor(/Password for admin@localhost at http:\/\/127\.0\.0\.1:\d+: $/m, 'the prompt');
  await pane.type(`${ADMIN_PASSWORD}x`);
  await pane.send('BSpace'); // backspace erases the x
  await pane.send('Enter');
  const screen = await pane.waitFor(/\[exit \d+\]/, 'the end of rac login');
  t.match(screen, /Logged in to .* as admin@localhost \(admin\)/);
  t.match(screen, /\[exit 0\]/);
  t.notMatch(screen, ADMIN_PASSWORD, 'the password never appears on the screen');
  t.notMatch(screen, /\*{4}/, 'not even as stars');
  t.ok(existsSync(join(home.XDG_CONFIG_HOME!, 'rac', 'token')));
});

t.test('a wrong password typed at the prompt is exit 3; Ctrl-C cancels with exit 1', async (t) => {
  const pane = await startTmux(`${rac} login --server ${broker.url} --email ${ADMIN_EMAIL}`, env());
  t.teardown(() => pane.kill());
  await pane.waitFor(/Password for .*: $/m, 'the prompt');
  await pane.type('wrong-password');
  await pane.send('Enter');
  const screen = await pane.waitFor(/\[exit \d+\]/, 'the end');
  t.match(screen, /rac: Incorrect email or password\n\[exit 3\]/);

  const cancel = await startTmux(`${rac} login --server ${broker.url} --email ${ADMIN_EMAIL}`, env());
  t.teardown(() => cancel.kill());
  await cancel.waitFor(/Password for .*: $/m, 'the prompt');
  await cancel.send('C-c');
  t.match(await cancel.waitFor(/\[exit \d+\]/, 'the end'), /rac: cancelled\n\[exit 1\]/);
});

t.test('users add on a terminal asks twice; different answers are refused', async (t) => {
  const admin = await loggedInEnv(broker.url);
  const pane = await startTmux(`${rac} admin users add --email typed@example.com`, admin);
  t.teardown(() => pane.kill());
  await pane.waitFor(/Password for typed@example\.com: $/m, 'the first prompt');
  await pane.type('first-typed-password');
  await pane.send('Enter');
  await pane.waitFor(/\(again\): $/m, 'the second prompt');
  await pane.type('other-typed-password');
  await pane.send('Enter');
  const screen = await pane.waitFor(/\[exit \d+\]/, 'the end');
  t.match(screen, /rac: the two passwords differ\n\[exit 1\]/);
  t.notMatch(screen, /typed-password/);
});

t.test('spawned: --help is exit 0 on stdout, usage errors exit 2, the token file is 0600', async (t) => {
  const help = await spawnRac(['session', '--help'], { env: env() });
  t.equal(help.code, 0);
  t.match(help.stdout, /Usage: rac session \[options\] \[command\]/);
  t.match(help.stdout, /create \[options\]/);
  const usage = await spawnRac(['session', 'create', '--bogus'], { env: env() });
  t.equal(usage.code, 2);
  t.match(usage.stderr, /unknown option '--bogus'/);

  const home = env();
  const login = await spawnRac(['login', '--server', broker.url, '--email', ADMIN_EMAIL, '--password-stdin'], {
    env: home,
    stdin: `${ADMIN_PASSWORD}\n`,
  });
  t.equal(login.code, 0, login.stderr);
  t.equal(statSync(join(home.XDG_CONFIG_HOME!, 'rac', 'token')).mode & 0o777, 0o600);
  const notFound = await spawnRac(['session', 'close', '424242'], { env: home });
  t.equal(notFound.code, 4);
  t.equal(notFound.stderr, 'rac: Session not found\n');
  const unreachable = await spawnRac(['session', 'list'], { env: { ...home, RAC_SERVER: 'http://127.0.0.1:1', RAC_TOKEN: 'x' } });
  t.equal(unreachable.code, 1);
  t.match(unreachable.stderr, /cannot reach the broker at http:\/\/127\.0\.0\.1:1/);
});
