// better-sqlite3 is an optional dependency: without it `rac serve` stops with one line saying what
// is missing and how to install it, and the rest of rac still runs. "Without it" is played by
// preloading test/fixtures/without-better-sqlite3.mjs, a resolution hook under which the package
// cannot be found, as on a machine where npm skipped it after its native build failed.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t from 'tap';
import { serveArgs } from './helpers/broker-process.js';
import { isolatedEnv, spawnRac } from './helpers/cli.js';

const hook = pathToFileURL(fileURLToPath(new URL('./fixtures/without-better-sqlite3.mjs', import.meta.url))).href;
const withoutSqlite = () => isolatedEnv({ NODE_OPTIONS: `--import=${hook}` });

t.test('rac serve without better-sqlite3: exit 1 and one line telling how to install it', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rac-no-sqlite-'));
  const result = await spawnRac(serveArgs({ dataDir }), { env: withoutSqlite() });
  t.equal(result.code, 1);
  t.equal(result.stdout, '', 'nothing on stdout');
  const lines = result.stderr.trimEnd().split('\n');
  t.equal(lines.length, 1, 'one line');
  t.match(lines[0], /^rac: better-sqlite3 is not installed, .*`npm install better-sqlite3`.*C\+\+ compiler/);
  t.same(readdirSync(dataDir), [], 'no database was created');
});

t.test('the rest of rac loads without better-sqlite3', async (t) => {
  for (const args of [['--version'], ['agent', '--help'], ['view', '--help'], ['serve', '--help']]) {
    const result = await spawnRac(args, { env: withoutSqlite() });
    t.equal(result.code, 0, `rac ${args.join(' ')}`);
    t.equal(result.stderr, '', `rac ${args.join(' ')}: no error`);
  }
});
