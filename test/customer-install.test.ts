// The customer's install, end to end, as the mail tells it: `rac session create --json` gives the
// command; the test runs exactly that line with `sh -c` in an empty directory, with an empty npm
// cache and a fresh HOME. npm installs rac from the broker's /download URL (its dependencies from
// the registry), the agent joins on Xvfb and a viewer receives frames.
//
// Slow on purpose: a real npm install with native builds (better-sqlite3 compiles from source here,
// its prebuilt binaries cannot be downloaded on this machine). It takes 2–20 minutes, depending on
// the load and the network, hence the long timeout.
//
// Two things are added to the command, neither of which a customer needs:
//   --yes            answers the consent question (the test has no terminal to type "y" into);
//   --no-openctrol   the Home Assistant API would want port 44325, which parallel tests may hold.
// And one to the environment: npm_config_nodedir=/usr lets node-gyp build against the installed
// Node headers, because this machine cannot download them (a customer's machine can).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { call, login, startBrokerProcess } from './helpers/broker-process.js';
import { loggedInEnv, rac } from './helpers/cli.js';
import { connectViewer } from './helpers/session-viewer.js';
import { startXvfb } from './helpers/xvfb.js';

const INSTALL_MS = 40 * 60_000;
t.setTimeout(INSTALL_MS + 5 * 60_000);

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Every key of npm's cache index: the URLs it fetched. */
function cachedUrls(cache: string): string[] {
  const index = join(cache, '_cacache', 'index-v5');
  const keys: string[] = [];
  for (const file of readdirSync(index, { recursive: true, withFileTypes: true })) {
    if (!file.isFile()) continue;
    for (const line of readFileSync(join(file.parentPath, file.name), 'utf8').split('\n')) {
      const json = line.slice(line.indexOf('\t') + 1);
      if (json.startsWith('{')) keys.push((JSON.parse(json) as { key: string }).key);
    }
  }
  return keys;
}

/** Resolves when `text()` matches, rejects when the process exits first or after `ms`. */
function waitForOutput(child: ChildProcess, text: () => string, pattern: RegExp, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${ms} ms:\n${text().slice(-3000)}`)), ms);
    const check = () => {
      if (!pattern.test(text())) return;
      clearTimeout(timer);
      child.stderr!.off('data', check);
      resolve();
    };
    child.stderr!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the customer's command exited (${code}) before ${pattern}:\n${text().slice(-3000)}`));
    });
    check();
  });
}

t.test("the customer runs the broker's command: rac comes from the broker, the session streams", async (t) => {
  const xvfb = await startXvfb();
  t.teardown(() => xvfb.stop());
  const broker = await startBrokerProcess();
  t.teardown(() => broker.stop());

  const created = await rac(['session', 'create', '--customer-name', 'Carla', '--json'], { env: await loggedInEnv(broker.url) });
  t.equal(created.code, 0, created.stderr);
  const session = JSON.parse(created.stdout);
  const command = session.customer_command as string;
  t.equal(
    command,
    `npx --yes ${broker.url}/download/rac-${version}.tgz agent --code ${session.session_code} --server ${broker.url}`,
    'the command installs the broker’s own package',
  );
  const page = await fetch(`${broker.url}/join/${session.session_code}`);
  const html = await page.text();
  t.ok(html.includes(command), 'the join page shows the same command');
  t.notMatch(html, /<script/i, 'and has no script');

  const home = mkdtempSync(join(tmpdir(), 'rac-customer-home-'));
  const cache = mkdtempSync(join(tmpdir(), 'rac-customer-npm-'));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, DISPLAY: xvfb.display };
  Object.assign(env, { npm_config_cache: cache, npm_config_nodedir: '/usr', npm_config_update_notifier: 'false' });
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  const customer = spawn('sh', ['-c', `${command} --yes --no-openctrol`], {
    cwd: home,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  customer.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  customer.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  t.teardown(() => {
    if (customer.exitCode === null) process.kill(-customer.pid!, 'SIGKILL');
  });

  await waitForOutput(customer, () => output, /waiting for your IT contact/, INSTALL_MS);
  const urls = cachedUrls(cache);
  t.ok(
    urls.some((url) => url.includes(`${broker.url}/download/rac-${version}.tgz`)),
    'npm fetched rac from the broker',
  );
  t.notOk(
    urls.some((url) => /registry\.npmjs\.org\/rac(\/|$)/.test(url)),
    'and never asked the registry for a package named rac',
  );
  t.ok(
    urls.some((url) => url.includes('registry.npmjs.org/ws')),
    'while the dependencies came from the registry',
  );
  t.notMatch(output, /EBADENGINE/, 'no dependency of the installed package wants a newer Node than ours');

  const viewer = await connectViewer(broker.url, session.session_code, await login(broker.api));
  t.teardown(() => viewer.close());
  await waitForOutput(customer, () => output, /Connected: .* can see and control this computer/, 120_000);
  const frame = await viewer.nextFrame(60_000);
  t.equal(frame.jpeg.subarray(0, 2).toString('hex'), 'ffd8', 'the viewer receives a frame from the installed agent');
  const info = await call(broker.api, 'GET', `/sessions/${session.session_code}/info`);
  t.equal(info.body.status, 'active', 'the session is active');
});
