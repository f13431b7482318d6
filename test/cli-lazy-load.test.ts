// rac loads only the command it runs (src/cli.ts): `rac --version` loads no command, `rac cp` loads
// ssh2 but neither the REST client's undici nor the broker's database, while `rac --help` still
// lists every command. Checked on the built dist/ in a child process, through the packages in its
// module cache when the command is done.
import './helpers/quiet-home.js';
import t from 'tap';
import { pathToFileURL } from 'node:url';
import { isolatedEnv, spawnCommand } from './helpers/cli.js';

const CLI_URL = pathToFileURL(new URL('../dist/cli.js', import.meta.url).pathname).href;

/** Runs `rac ARGS` in a child node and returns its output and the npm packages it loaded. */
async function packagesLoadedBy(args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string; packages: string[] }> {
  const script = `
    import { createRequire } from 'node:module';
    const { run } = await import(${JSON.stringify(CLI_URL)});
    const io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
    process.exitCode = await run(['node', 'rac', ...JSON.parse(process.argv[1])], io);
    const names = Object.keys(createRequire(import.meta.url).cache).flatMap((path) => path.split('node_modules/').slice(1, 2));
    process.stdout.write('\\nLOADED ' + JSON.stringify([...new Set(names.map((rest) => rest.split('/')[0]))]) + '\\n');
  `;
  const result = await spawnCommand(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(args)], { env });
  const marker = /\nLOADED (.*)\n$/.exec(result.stdout);
  if (!marker) throw new Error(`no module list from rac ${args.join(' ')}: ${result.stderr}`);
  return { stdout: result.stdout.slice(0, marker.index), stderr: result.stderr, packages: JSON.parse(marker[1]!) as string[] };
}

t.test('rac --version loads no command', async (t) => {
  const { stdout, packages } = await packagesLoadedBy(['--version'], isolatedEnv());
  t.match(stdout, /^\d+\.\d+\.\d+/, 'prints the version');
  for (const name of ['ssh2', 'ws', 'undici', 'better-sqlite3', 'pg', 'pino']) t.notOk(packages.includes(name), `${name} is not loaded`);
});

t.test('rac cp loads the SSH client, not the REST client nor the broker', async (t) => {
  // A broker that is not there: the copy gets as far as dialling the tunnel, with all it needs loaded.
  const env = isolatedEnv({ RAC_SERVER: 'http://127.0.0.1:9', RAC_TOKEN: 'not-a-token' });
  const { stderr, packages } = await packagesLoadedBy(['cp', '/etc/hostname', '123456789:x'], env);
  t.match(stderr, /cannot reach the broker/, 'it tried the tunnel');
  t.ok(packages.includes('ssh2'), 'ssh2 is loaded');
  for (const name of ['undici', 'better-sqlite3', 'pg', 'pino']) t.notOk(packages.includes(name), `${name} is not loaded`);
});

t.test('rac --help still lists every command', async (t) => {
  const { stdout } = await packagesLoadedBy(['--help'], isolatedEnv());
  for (const command of ['serve', 'agent', 'view', 'login', 'logout', 'session', 'admin', 'completion', 'tunnel', 'shell', 'cp']) {
    t.match(stdout, new RegExp(`^\\s+${command}\\b`, 'm'), `lists ${command}`);
  }
});
