// A throwaway PostgreSQL cluster for a test process: initdb under a temporary directory, the server
// on a free loopback port with trust authentication, one fresh database per broker. Debian's
// `postgresql` package provides the binaries (test/setup/prepare.js installs it).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';
import { PATIENCE_MS } from './patience.js';

export interface PostgresCluster {
  port: number;
  /** The temporary directory holding the cluster's data and socket. */
  dir: string;
  /** A connection URL to one database of the cluster (`postgres` when none is named). */
  url(database?: string): string;
  /** Creates an empty database with a fresh name and returns its URL. */
  createDatabase(): Promise<string>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

const SUPERUSER = 'rac';

/** The directory of the newest installed PostgreSQL's binaries (initdb and postgres are not on PATH on Debian). */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error('PostgreSQL is not installed: run `apt-get install postgresql` (npm test does it as root)');
  return join(root, newest, 'bin');
}

/** initdb and postgres refuse to run as root: as root, they run as the `postgres` user the package creates. */
const asServerUser = (command: string[]): string[] =>
  process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ...command] : command;

export async function startPostgres(): Promise<PostgresCluster> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'rac-pg-'));
  if (process.getuid?.() === 0) chownSync(dir, Number(idOf('-u')), Number(idOf('-g')));
  const data = join(dir, 'data');
  const [command, ...args] = asServerUser([join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', SUPERUSER, '--no-sync', '-E', 'UTF8']);
  const init = spawnSync(command!, args, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed:\n${init.stderr}`);
  const port = await freePort();
  const server = startServer(bin, data, dir, port);
  const url = (database = 'postgres') => `postgres://${SUPERUSER}@127.0.0.1:${port}/${database}`;
  await waitUntilAccepting(url(), server);
  return {
    port,
    dir,
    url,
    async createDatabase() {
      const name = `rac_${randomBytes(6).toString('hex')}`;
      const client = new pg.Client({ connectionString: url() });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    async stop() {
      if (server.exitCode === null) {
        server.ref(); // unref'd at start: the wait for its exit must keep the test process alive
        const exited = new Promise((resolve) => server.once('exit', resolve));
        server.stdin!.end();
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let shared: Promise<PostgresCluster> | undefined;

/** One cluster per test process, started on first use and stopped when the process exits. */
export function sharedPostgres(): Promise<PostgresCluster> {
  shared ??= startPostgres();
  return shared;
}

/**
 * The server runs under a shell that waits on its stdin: when the test process ends in any way
 * (even SIGKILL from a timeout), the pipe closes and the shell stops the server. No cluster outlives
 * its test.
 */
function startServer(bin: string, data: string, socketDir: string, port: number): ChildProcess {
  const postgres = [join(bin, 'postgres'), '-D', data, '-p', String(port), '-k', socketDir];
  const settings = ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'max_connections=200'];
  const script = `"$@" & server=$!; cat >/dev/null; kill -INT $server; wait $server`;
  const command = asServerUser(['sh', '-c', script, 'postgres-for-test', ...postgres, ...settings]);
  const child = spawn(command[0]!, command.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
  child.stderr!.setEncoding('utf8');
  let log = '';
  child.stderr!.on('data', (chunk: string) => (log = (log + chunk).slice(-4000)));
  Object.defineProperty(child, 'log', { get: () => log });
  // The server must not keep the test process alive: its end is what stops the server.
  child.unref();
  (child.stdin as unknown as { unref(): void }).unref();
  (child.stderr as unknown as { unref(): void }).unref();
  return child;
}

async function waitUntilAccepting(url: string, server: ChildProcess): Promise<void> {
  const deadline = Date.now() + PATIENCE_MS;
  for (;;) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      await client.end().catch(() => undefined);
      const log = (server as ChildProcess & { log: string }).log;
      if (server.exitCode !== null) throw new Error(`PostgreSQL exited before accepting connections:\n${log}`);
      if (Date.now() > deadline) throw new Error(`PostgreSQL did not accept connections in ${PATIENCE_MS} ms (${String(err)}):\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function idOf(flag: '-u' | '-g'): string {
  return spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim();
}
