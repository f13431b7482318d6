// What the broker hands the customer before anything else: its own package at
// /download/rac-VERSION.tgz (built once, even for concurrent first requests) and /join/CODE.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startBrokerProcess } from './helpers/broker-process.js';

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const broker = await startBrokerProcess();
t.teardown(() => broker.stop());

t.test('concurrent first requests get the same tarball, built once, of the running version', async (t) => {
  const url = `${broker.url}/download/rac-${version}.tgz`;
  const responses = await Promise.all([1, 2, 3].map(() => fetch(url)));
  const bodies = await Promise.all(responses.map(async (r) => Buffer.from(await r.arrayBuffer())));
  for (const r of responses) {
    t.equal(r.status, 200);
    t.equal(r.headers.get('content-type'), 'application/gzip');
  }
  t.ok(
    bodies.every((b) => b.equals(bodies[0]!)),
    'the same bytes for everyone',
  );
  t.equal(broker.stderr().match(/built rac-[^ ]+\.tgz for customers/g)?.length, 1, 'npm pack ran once');
  t.same(readdirSync(join(broker.dataDir, 'download')), [`rac-${version}.tgz`], 'cached in the data dir, no scratch left');

  const file = join(tmpdir(), `rac-download-${process.pid}.tgz`);
  writeFileSync(file, bodies[0]!);
  const listing = execFileSync('tar', ['tzf', file], { encoding: 'utf8' }).split('\n');
  t.ok(listing.includes('package/bin/rac.js') && listing.includes('package/dist/cli.js'), 'a runnable package');
  t.notOk(
    listing.some((name) => name.startsWith('package/test/') || name.startsWith('package/src/')),
    'and only what it ships',
  );
  const packed = JSON.parse(execFileSync('tar', ['xzOf', file, 'package/package.json'], { encoding: 'utf8' })) as { version: string };
  t.equal(packed.version, version);

  const other = await fetch(`${broker.url}/download/rac-0.0.0-other.tgz`);
  t.equal(other.status, 404);
  t.match(await other.json(), { detail: `Not found: this broker hands out rac-${version}.tgz only` });
});

t.test('/join/CODE: plain HTML with the command for every system, the same for any nine digits', async (t) => {
  const page = async (code: string) => {
    const r = await fetch(`${broker.url}/join/${code}`);
    return { status: r.status, type: r.headers.get('content-type'), html: await r.text() };
  };
  const a = await page('123456789');
  t.equal(a.status, 200);
  t.equal(a.type, 'text/html; charset=utf-8');
  t.notMatch(a.html, /<script|javascript:|\son\w+=/i, 'no script of any kind');
  const command = `npx --yes ${broker.url}/download/rac-${version}.tgz agent --code 123456789 --server ${broker.url}`;
  t.equal(a.html.split(command).length - 1, 3, 'the command for Windows, macOS and Linux');
  t.match(a.html, /PowerShell/);
  t.match(a.html, /Terminal/);
  t.match(a.html, 'href="https://nodejs.org"', 'says Node.js is needed, and where to get it');
  t.match(a.html, /security code/);
  t.match(a.html, /Ctrl-C/);
  const b = await page('987654321');
  t.equal(b.html.replaceAll('987654321', '123456789'), a.html, 'no lookup: any code reads the same');
  t.equal((await page('12345')).status, 404, 'but only nine digits');
});
