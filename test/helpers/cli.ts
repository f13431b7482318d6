// Runs `rac` for CLI tests: in-process through run(argv, io) (fast, the GitHub-CLI way), or as a
// spawned `node bin/rac.js`. Each test gets an isolated HOME and XDG dirs.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { run } from '../../src/cli.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, RAC_BIN, randomUdpRange, serveArgs } from './broker-process.js';

// In-process commands reach the OS credential store of this process: point it at no D-Bus at all,
// so tests never touch a developer's real keyring and always exercise the file fallback.
process.env.DBUS_SESSION_BUS_ADDRESS = 'unix:path=/nonexistent/rac-test-no-bus';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A fresh HOME with XDG_CONFIG_HOME and XDG_DATA_HOME inside it, and no RAC_* variables. */
export function isolatedEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(tmpdir(), 'rac-cli-home-'));
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('RAC_')) delete env[name];
  return { ...env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_DATA_HOME: join(home, '.local', 'share'), ...extra };
}

export async function rac(args: string[], options: { env: NodeJS.ProcessEnv; stdin?: string }): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const stdin = Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]);
  const code = await run(['node', 'rac', ...args], { stdout, stderr, stdin, env: options.env });
  return { code, stdout: out, stderr: err };
}

/** `rac serve --check` in-process on loopback, with a fresh range of 8 UDP ports; `extra` options come last. */
export function serveCheck(dataDir: string, extra: string[] = [], env = isolatedEnv()): Promise<CliResult> {
  return rac(serveArgs({ dataDir, udpPorts: randomUdpRange(8), args: ['--check', ...extra] }), { env });
}

/** `node bin/rac.js ARGS` as a child process (uses the built dist/). */
export function spawnRac(args: string[], options: { env: NodeJS.ProcessEnv; stdin?: string }): Promise<CliResult> {
  return spawnCommand(process.execPath, [RAC_BIN, ...args], options);
}

export function spawnCommand(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; stdin?: string; cwd?: string },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    // A child that exits without reading its stdin makes the write fail with EPIPE: not an error here.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
  });
}

/** Logs in through `rac login --password-stdin` and returns the env it is stored under. */
export async function loggedInEnv(server: string, email = ADMIN_EMAIL, password = ADMIN_PASSWORD): Promise<NodeJS.ProcessEnv> {
  const env = isolatedEnv();
  const result = await rac(['login', '--server', server, '--email', email, '--password-stdin'], { env, stdin: `${password}\n` });
  if (result.code !== 0) throw new Error(`rac login as ${email} failed (${result.code}): ${result.stderr}`);
  return env;
}

/** The stderr of a failed command is one line (plus commander's usage hint for usage errors). */
export const firstLine = (text: string) => text.split('\n')[0] ?? '';
