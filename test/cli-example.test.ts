// docs/examples/create-session.sh (the README's scripted example) runs exactly as written, with
// `rac` on the PATH, against a real broker: it prints only the code, and fails loudly.
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { Session } from '../src/protocol/broker-api.js';
import { RAC_BIN, call, login, startBrokerProcess } from './helpers/broker-process.js';
import { isolatedEnv, spawnCommand } from './helpers/cli.js';

const example = fileURLToPath(new URL('../docs/examples/create-session.sh', import.meta.url));
const broker = await startBrokerProcess();
t.teardown(() => broker.stop());

// `rac` as an installed package puts it on the PATH: a symlink to bin/rac.js.
const bin = join(mkdtempSync(join(tmpdir(), 'rac-example-')), 'bin');
mkdirSync(bin);
symlinkSync(RAC_BIN, join(bin, 'rac'));
const env = (extra: NodeJS.ProcessEnv) => isolatedEnv({ PATH: `${bin}:${process.env.PATH}`, ...extra });

t.test('prints exactly the code of a new session for that customer', async (t) => {
  const token = await login(broker.api);
  const result = await spawnCommand(example, ['Jane Doe'], { env: env({ RAC_SERVER: broker.url, RAC_TOKEN: token }) });
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stderr, '');
  t.match(result.stdout, /^\d{9}\n$/);
  const sessions = await call<Session[]>(broker.api, 'GET', '/sessions', { token });
  const session = sessions.body.find((s) => s.session_code === result.stdout.trim());
  t.match(session, { customer_name: 'Jane Doe', status: 'pending' });
});

t.test('with a bad token it prints no code and exits with rac status 3', async (t) => {
  const result = await spawnCommand(example, ['Jane Doe'], { env: env({ RAC_SERVER: broker.url, RAC_TOKEN: 'expired' }) });
  t.equal(result.code, 3);
  t.equal(result.stdout, '');
  t.match(result.stderr, /^rac: Invalid or expired token/);
});

t.test('the README shows this example exactly as it is tested', async (t) => {
  const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
  const script = readFileSync(example, 'utf8');
  t.ok(readme.includes('```sh\n' + script + '```'), 'README.md holds docs/examples/create-session.sh verbatim in a sh block');
});
