// What `rac shell` and `rac cp` share: the login, a tunnel to the session's agent, an SSH client
// over it (host key checked against the one the broker announced), the fingerprint printed the
// first time, and every failure as one CliError line with rac(1)'s exit code.
import type { Client } from 'ssh2';
import { CredentialStore } from '../client/credentials.js';
import { rememberHostKey } from '../client/seen-host-keys.js';
import { HostKeyMismatchError, SshConnectError, connectSsh } from '../client/ssh-session.js';
import { TunnelError, openTunnel } from '../client/tunnel.js';
import { compactSessionCode, isSessionCode } from '../protocol/session-code.js';
import { sshHostKeyFingerprint } from '../protocol/ssh-host-key.js';
import { CliError, ExitCode, usageError } from './cli-error.js';
import type { CommandIo } from './io.js';
import { say } from './output.js';
import { tunnelCliError, tunnelTrust } from './tunnel.js';

export function sessionCodeArgument(text: string): string {
  const code = compactSessionCode(text);
  if (!isSessionCode(code)) throw usageError(`CODE: expected a 9-digit session code, got "${text}"`);
  return code;
}

/** Runs `work` with an SSH client on the session's agent; ends the client afterwards. */
export async function withSsh<T>(
  io: CommandIo,
  server: string | undefined,
  code: string,
  work: (client: Client) => Promise<T>,
): Promise<T> {
  const env = server ? { ...io.env, RAC_SERVER: server } : io.env;
  let login;
  try {
    login = await new CredentialStore(env).resolve();
  } catch (err) {
    // Loaded only here: the broker client it knows the errors of loads undici, which a copy never needs.
    throw (await import('./broker-call.js')).toCliError(err);
  }
  let client: Client;
  try {
    const tunnel = await openTunnel({ brokerUrl: login.server, token: login.token, code, tls: await tunnelTrust(login.caFile) });
    const fingerprint = sshHostKeyFingerprint(tunnel.hostKey) ?? 'unknown';
    if (rememberHostKey(io.env, fingerprint)) {
      say(io, `rac: the customer's computer (session ${code}) has SSH host key ${fingerprint}; its screen shows the same`);
    }
    client = await connectSsh(tunnel);
  } catch (err) {
    if (err instanceof TunnelError) throw tunnelCliError(err, login.email);
    if (err instanceof HostKeyMismatchError || err instanceof SshConnectError) throw new CliError(err.message, ExitCode.failure);
    throw err;
  }
  try {
    return await work(client);
  } finally {
    client.end();
  }
}
