// rac tunnel CODE: stdin and stdout become the SSH bytes of a tunnel to the customer's agent, so
// OpenSSH (ssh, sftp, scp, rsync -e ssh) can be the client: ssh -o ProxyCommand='rac tunnel %h'.
// With --print-host-key it prints the known_hosts line of the agent's host key and exits.
import { Command } from 'commander';
import type { Duplex } from 'node:stream';
import { CredentialStore } from '../client/credentials.js';
import { type Tunnel, TunnelError, openTunnel } from '../client/tunnel.js';
import { CloseCode } from '../protocol/close-codes.js';
import { compactSessionCode, isSessionCode } from '../protocol/session-code.js';
import { sshHostKeyFingerprint } from '../protocol/ssh-host-key.js';
import type { TlsTrust } from '../shared/tls-trust.js';
import { CliError, ExitCode, usageError } from './cli-error.js';
import type { CommandIo } from './io.js';
import { say } from './output.js';

export interface TunnelOptions {
  code: string;
  server?: string;
  printHostKey?: boolean;
  quiet?: boolean;
}

export function tunnelCommand(io: CommandIo): Command {
  return new Command('tunnel')
    .description("SSH to the customer's computer through the broker: stdin/stdout carry the SSH connection")
    .argument('<code>', 'the session (9 digits; spaces allowed)')
    .option('--server <url>', 'broker URL (default: RAC_SERVER or the one of `rac login`)')
    .option('--print-host-key', "print the agent's host key as a known_hosts line, then exit")
    .option('-q, --quiet', 'no status line on stderr')
    .addHelpText('after', "\nExample: ssh -o ProxyCommand='rac tunnel %h' -l YOUR-EMAIL 123456789 uname -a\nSee man rac-tunnel.")
    .action(async (code: string, opts: { server?: string; printHostKey?: boolean; quiet?: boolean }) => {
      await runTunnel({ code, ...opts }, io);
    });
}

export async function runTunnel(options: TunnelOptions, io: CommandIo): Promise<void> {
  const code = codeFromHost(options.code);
  if (!isSessionCode(code)) throw usageError(`CODE: expected a 9-digit session code, got "${options.code}"`);
  const env = options.server ? { ...io.env, RAC_SERVER: options.server } : io.env;
  let login;
  try {
    login = await new CredentialStore(env).resolve();
  } catch (err) {
    // Loaded only here: the broker client it knows the errors of loads undici, which a copy never needs.
    throw (await import('./broker-call.js')).toCliError(err);
  }
  let tunnel: Tunnel;
  try {
    tunnel = await openTunnel({ brokerUrl: login.server, token: login.token, code, tls: await tunnelTrust(login.caFile) });
  } catch (err) {
    throw err instanceof TunnelError ? tunnelCliError(err, login.email) : err;
  }
  if (options.printHostKey) {
    // Both names: OpenSSH looks a code up in known_hosts as the address it reads it as.
    const names = [code, hostOfCode(code)].filter(Boolean).join(',');
    io.stdout.write(`${names} ${tunnel.hostKey}\n`);
    tunnel.stream.destroy();
    return;
  }
  if (!options.quiet) {
    const fingerprint = sshHostKeyFingerprint(tunnel.hostKey) ?? 'unknown';
    say(io, `rac tunnel: session ${code}, host key ${fingerprint}; SSH user ${tunnel.username}`);
  }
  await bridge(tunnel.stream, io);
}

/**
 * The session code from the argument. OpenSSH reads a host name of digits alone as an IPv4 address
 * (inet_aton) and hands ProxyCommand's %h as a dotted quad: 123456789 arrives as 7.91.205.21. A code
 * with a leading zero is read in octal when its digits allow it (and is left alone when they do
 * not), so a quad below 10^8 can only come from such a code.
 */
export function codeFromHost(text: string): string {
  const quad = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text.trim());
  if (!quad) return compactSessionCode(text);
  const bytes = quad.slice(1).map(Number);
  if (bytes.some((b) => b > 255)) return text;
  const value = bytes.reduce((sum, b) => sum * 256 + b, 0);
  return value >= 10 ** 8 ? String(value) : `0${value.toString(8).padStart(8, '0')}`;
}

/** The dotted quad OpenSSH turns a code into (and looks up in known_hosts), if it does. */
export function hostOfCode(code: string): string | undefined {
  const value = code.startsWith('0') ? (/^[0-7]+$/.test(code) ? parseInt(code, 8) : undefined) : Number(code);
  if (value === undefined) return undefined;
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.');
}

/** Copies stdin into the tunnel and the tunnel to stdout until the tunnel ends. */
function bridge(stream: Duplex, io: CommandIo): Promise<void> {
  return new Promise((resolve) => {
    io.stdin.pipe(stream);
    stream.pipe(io.stdout, { end: false });
    // The other end closed (or stdin ended and took the tunnel with it): nothing more will come.
    stream.once('close', () => {
      io.stdin.unpipe(stream);
      // A pipe from ssh stays readable after the tunnel is gone: stop reading so the process can exit.
      (io.stdin as NodeJS.ReadStream).destroy?.();
      resolve();
    });
    stream.once('end', () => stream.destroy());
    stream.on('error', () => stream.destroy());
  });
}

/** The exit codes of rac(1): 3 refused (customer, login, rights), 4 not found or closed, 1 otherwise. */
export function tunnelCliError(err: TunnelError, email?: string): CliError {
  const who = email ? ` (logged in as ${email})` : '';
  if (err.closeCode === CloseCode.SHELL_NOT_ALLOWED) {
    return new CliError(`${err.message}: ask the customer to start rac agent with --allow-shell and to answer yes`, ExitCode.auth);
  }
  switch (err.status) {
    case 401:
      return new CliError(`${err.message}: run \`rac login\``, ExitCode.auth);
    case 403:
      return new CliError(`${err.message}${who}: the session belongs to another user; ask its owner or an admin`, ExitCode.auth);
    case 404:
      return new CliError(`${err.message}: check the code (\`rac session list\` shows your sessions)`, ExitCode.notFound);
    case 410:
      return new CliError(`${err.message}: create a new session with \`rac session create\``, ExitCode.notFound);
    default:
      return new CliError(err.message, ExitCode.failure);
  }
}

/** The login's CA file read (a CliError naming it if it cannot be), for an https broker signed by a private CA. */
export async function tunnelTrust(caFile: string | undefined): Promise<TlsTrust | undefined> {
  // Loaded only with a CA file: broker-call's error mapping loads undici, which a copy never needs.
  return caFile ? (await import('./broker-call.js')).trustOf(caFile) : undefined;
}
