// What `rac serve --check` checks before a start (or after a change): the data dir and its secret
// files, the HTTP port and the UDP range, the TLS pair, the stored SMTP settings. Each check is
// one line saying what it found and, when it failed, what to do. Nothing is created or changed.
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { lockHolder } from './data-dir-lock.js';
import { SQLITE_FILE } from './sql/sqlite-database.js';
import { type TlsFiles, TlsFilesError, describeCertificate, loadTlsFiles } from './tls-files.js';
import type { PortRange } from './udp-port-pool.js';

export interface CheckResult {
  ok: boolean;
  /** "data dir /var/lib/rac: exists, mode 700" or, when failed, what is wrong and what to do. */
  line: string;
}

const pass = (line: string): CheckResult => ({ ok: true, line });
const fail = (line: string): CheckResult => ({ ok: false, line });
const octal = (mode: number) => (mode & 0o777).toString(8);

/** Files of the data dir that hold secrets (password hashes, signing and encryption keys). */
export const SECRET_FILES = [SQLITE_FILE, `${SQLITE_FILE}-wal`, 'jwt-secret.key', 'smtp-secret.key'];

export function checkDataDir(dataDir: string): CheckResult {
  const stat = statSync(dataDir, { throwIfNoEntry: false });
  if (!stat) {
    let parent = dirname(dataDir);
    while (!existsSync(parent)) parent = dirname(parent);
    if (writable(parent)) return pass(`data dir ${dataDir}: does not exist yet; rac serve creates it (mode 700)`);
    return fail(
      `data dir ${dataDir}: cannot be created, ${parent} is not writable: create it (mkdir -m 700) owned by the user of rac serve`,
    );
  }
  if (!stat.isDirectory()) return fail(`data dir ${dataDir}: is not a directory: pass a directory to --data-dir`);
  const owner = ownerProblem(stat.uid);
  if (owner) return fail(`data dir ${dataDir}: ${owner}: chown it to the user that runs rac serve`);
  if (!writable(dataDir)) return fail(`data dir ${dataDir}: not writable: chmod 700 ${dataDir}`);
  if (stat.mode & 0o077) return fail(`data dir ${dataDir}: mode ${octal(stat.mode)} lets other users in: chmod 700 ${dataDir}`);
  return pass(`data dir ${dataDir}: exists, owned by this user, mode ${octal(stat.mode)}`);
}

export function checkSecretFiles(dataDir: string): CheckResult {
  const present = SECRET_FILES.map((name) => ({ name, stat: statSync(join(dataDir, name), { throwIfNoEntry: false }) })).filter(
    (file) => file.stat !== undefined,
  );
  if (present.length === 0) return pass('secret files: none yet (rac serve creates them with mode 600)');
  for (const { name, stat } of present) {
    const file = join(dataDir, name);
    const owner = ownerProblem(stat!.uid);
    if (owner) return fail(`secret file ${file}: ${owner}: chown it to the user that runs rac serve`);
    if (stat!.mode & 0o077) return fail(`secret file ${file}: mode ${octal(stat!.mode)} lets other users read it: chmod 600 ${file}`);
  }
  return pass(`secret files: ${present.map((f) => f.name).join(', ')} have mode 600`);
}

export function checkNotRunning(dataDir: string): CheckResult {
  const holder = existsSync(dataDir) ? lockHolder(dataDir) : null;
  if (holder === null) return pass(`data dir lock: no rac serve is using ${dataDir}`);
  return fail(
    `data dir lock: rac serve (pid ${holder}) is running on ${dataDir}: its ports count as taken below; stop it to check a new start`,
  );
}

export async function checkHttpPort(host: string, port: number): Promise<CheckResult> {
  if (port === 0) return pass(`HTTP port: 0, any free port is taken at start`);
  const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    const server = createServer();
    server.once('error', resolve);
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(null)));
  });
  if (!error) return pass(`HTTP port ${host}:${port}: free`);
  return fail(`HTTP port ${host}:${port}: ${portProblem(error, port, '--port')}`);
}

export async function checkUdpPorts(host: string, range: PortRange): Promise<CheckResult> {
  const taken: string[] = [];
  for (let port = range.first; port <= range.last; port++) {
    const error = await bindUdp(host, port);
    if (error) taken.push(`${port} (${error.code === 'EADDRINUSE' ? 'in use' : error.code})`);
  }
  const size = range.last - range.first + 1;
  const span = `${range.first}-${range.last}`;
  if (taken.length === 0) return pass(`UDP ports ${span}: all ${size} free`);
  const shown = taken.slice(0, 5).join(', ') + (taken.length > 5 ? ', …' : '');
  return fail(`UDP ports ${span}: ${taken.length} of ${size} cannot be bound: ${shown}: free them or choose another --udp-ports`);
}

function bindUdp(host: string, port: number): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', (err) => {
      socket.close();
      resolve(err);
    });
    socket.bind({ address: host, port, exclusive: true }, () => socket.close(() => resolve(null)));
  });
}

export function checkTls(tls: TlsFiles | undefined, publicUrl: string | undefined, now = new Date()): CheckResult[] {
  if (!tls) return [pass('TLS: not configured, plain HTTP (pass --tls-cert and --tls-key, or put a TLS proxy in front)')];
  let summary;
  try {
    summary = loadTlsFiles(tls).certificate;
  } catch (err) {
    if (err instanceof TlsFilesError) return [fail(`TLS: ${err.message}`)];
    throw err;
  }
  const results: CheckResult[] = [];
  const days = Math.floor((summary.validTo.getTime() - now.getTime()) / 86_400_000);
  if (days < 0) results.push(fail(`TLS certificate ${tls.certFile}: expired on ${summary.validTo.toISOString()}: renew it, then reload`));
  else results.push(pass(`TLS certificate: ${describeCertificate(summary)} (${days} days left${days < 14 ? ': renew it soon' : ''})`));
  const keyMode = statSync(tls.keyFile).mode;
  if (keyMode & 0o004)
    results.push(fail(`TLS key ${tls.keyFile}: mode ${octal(keyMode)} lets every user read it: chmod 600 (or 640, group rac)`));
  if (publicUrl?.startsWith('http:')) results.push(fail(`--public-url ${publicUrl}: the broker serves HTTPS: use https://`));
  return results;
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function ownerProblem(uid: number): string | undefined {
  const me = process.getuid?.();
  return me === undefined || me === uid ? undefined : `owned by uid ${uid}, not by this user (uid ${me})`;
}

function portProblem(error: NodeJS.ErrnoException, port: number, option: string): string {
  switch (error.code) {
    case 'EADDRINUSE':
      return `in use by another program: stop it or choose another ${option}`;
    case 'EACCES':
      return `ports below 1024 need root or CAP_NET_BIND_SERVICE (the unit of --print-systemd-unit grants it) or choose another ${option} than ${port}`;
    case 'EADDRNOTAVAIL':
      return 'that --host is not an address of this machine: pass one of its addresses (or 0.0.0.0)';
    default:
      return error.message;
  }
}

/** The raw key file of the data dir, without creating one (the check changes nothing). */
export function readSecretIfPresent(dataDir: string, name: string): Buffer | undefined {
  const file = join(dataDir, name);
  return existsSync(file) ? Buffer.from(readFileSync(file, 'utf8').trim(), 'base64') : undefined;
}
