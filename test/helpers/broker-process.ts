// Starts a real `rac serve` process on loopback for a test, with its own data dir and UDP range.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoginResponse, SessionStatus } from '../../src/protocol/broker-api.js';
import type { RelayCounters } from '../../src/broker/session-relay.js';
import { sharedPostgres } from './postgres.js';
import { spawnRac } from './rac-process.js';

export { RAC_BIN } from './rac-process.js';
export const ADMIN_EMAIL = 'admin@localhost';
export const ADMIN_PASSWORD = 'admin-password-for-tests';

export interface BrokerProcess {
  url: string;
  api: string;
  port: number;
  dataDir: string;
  udpPorts: { first: number; last: number };
  process: ChildProcess;
  /** The PostgreSQL database it runs on (RAC_TEST_DATABASE=postgres), else undefined: SQLite in the data dir. */
  databaseUrl: string | undefined;
  /** Everything the broker wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, then waits for exit; returns the exit code. */
  stop(): Promise<number | null>;
}

export interface BrokerProcessOptions {
  dataDir?: string;
  udpPorts?: { first: number; last: number };
  env?: NodeJS.ProcessEnv;
  args?: string[];
}

/** A random UDP range per broker, so parallel test files do not compete for ports. */
export function randomUdpRange(size = 40): { first: number; last: number } {
  const first = 20000 + Math.floor(Math.random() * 2000) * 10;
  return { first, last: first + size - 1 };
}

export interface ServeArgsOptions {
  dataDir: string;
  /** A random range unless given. */
  udpPorts?: { first: number; last: number };
  databaseUrl?: string;
  /** Further options, after the common ones. */
  args?: string[];
}

/** `serve` on loopback at any free HTTP port with its own data dir and UDP range: how every test runs a broker. */
export function serveArgs({ dataDir, udpPorts = randomUdpRange(), databaseUrl, args = [] }: ServeArgsOptions): string[] {
  return [
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--data-dir',
    dataDir,
    '--udp-ports',
    `${udpPorts.first}-${udpPorts.last}`,
    ...(databaseUrl ? ['--database', databaseUrl] : []),
    ...args,
  ];
}

/** The engine the suite runs brokers on: RAC_TEST_DATABASE=postgres for PostgreSQL, SQLite otherwise. */
export const TEST_DATABASE = process.env.RAC_TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite';
/** What session objects say about the relay: a broker on PostgreSQL (one of several nodes) names it. */
export const NAMED_RELAY: { relay_host?: string } = TEST_DATABASE === 'postgres' ? { relay_host: '127.0.0.1' } : {};

/** One database per data dir, so a broker restarted on the same data dir finds its data again. */
const databases = new Map<string, string>();

async function databaseFor(dataDir: string, args: string[] = []): Promise<string | undefined> {
  if (TEST_DATABASE !== 'postgres' || args.includes('--database')) return undefined;
  let url = databases.get(dataDir);
  if (!url) {
    url = await (await sharedPostgres()).createDatabase();
    databases.set(dataDir, url);
  }
  return url;
}

export async function startBrokerProcess(options: BrokerProcessOptions = {}): Promise<BrokerProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'rac-broker-'));
  const udpPorts = options.udpPorts ?? randomUdpRange();
  const databaseUrl = await databaseFor(dataDir, options.args);
  const rac = await spawnRac(
    serveArgs({ dataDir, udpPorts, databaseUrl, args: options.args }),
    { ...process.env, RAC_ADMIN_PASSWORD: ADMIN_PASSWORD, ...options.env },
    (stderr) => {
      const match = /listening on https?:\/\/[^:]+:(\d+)/.exec(stderr);
      return match ? Number(match[1]) : undefined;
    },
  );
  const port = rac.port;
  // With --tls-cert the broker says https://; its test certificates name 127.0.0.1.
  const url = `${/listening on https:/.test(rac.stderr()) ? 'https' : 'http'}://127.0.0.1:${port}`;
  return {
    url,
    api: `${url}/api`,
    port,
    dataDir,
    udpPorts,
    process: rac.process,
    databaseUrl,
    stderr: rac.stderr,
    stop: rac.stop,
  };
}

/** A parsed JSON object body whose shape a test does not spell out: fields read from it are `unknown`. */
export type JsonObject = Record<string, unknown>;

/** GET /sessions/{id}/stats: the relay's counters of a session (null when it has no live relay). */
export interface SessionStats {
  session_id: number;
  status: SessionStatus;
  relay: (RelayCounters & { agent_pinned: boolean; viewers_pinned: number }) | null;
}

export interface ApiResponse<T = JsonObject> {
  status: number;
  body: T;
  headers: Headers;
}

/** One JSON request; `body` is sent as JSON unless `raw` is given. */
export async function call<T = JsonObject>(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; raw?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | Buffer | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(base + path, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed as T, headers: response.headers };
}

export async function login(api: string, email = ADMIN_EMAIL, password = ADMIN_PASSWORD): Promise<string> {
  const res = await call<LoginResponse>(api, 'POST', '/auth/login', { body: { email, password } });
  if (res.status !== 200) throw new Error(`login as ${email} failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.access_token;
}
