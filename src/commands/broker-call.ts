// Runs a command's broker calls: builds the client from the stored login (or RAC_SERVER/RAC_TOKEN),
// closes it afterwards, and turns every client error into one CliError line with the exit code
// of rac(1) (3 with the command that fixes it, 4 for not found, 1 otherwise).
import { BrokerApiError, BrokerCertificateError, BrokerClient, BrokerUnreachableError } from '../client/broker-client.js';
import { type Credentials, CredentialStore, NotLoggedInError, loginCommand } from '../client/credentials.js';
import { terminalSafe } from '../protocol/display-text.js';
import { CaFileError, type TlsTrust, loadTlsTrust } from '../shared/tls-trust.js';
import { CliError, ExitCode, usageError } from './cli-error.js';
import type { CommandIo } from './io.js';

/** Calls the broker as the logged-in user. */
export async function withLogin<T>(io: CommandIo, work: (client: BrokerClient, login: Credentials) => Promise<T>): Promise<T> {
  const store = new CredentialStore(io.env);
  let login: Credentials;
  try {
    login = await store.resolve();
  } catch (err) {
    throw toCliError(err);
  }
  const tls = trustOf(login.caFile);
  return withClient(new BrokerClient({ server: login.server, token: login.token, tls }), (client) => work(client, login), login);
}

/** The CA file read, or a CliError naming it. */
export function trustOf(caFile: string | undefined): TlsTrust {
  try {
    return loadTlsTrust(caFile);
  } catch (err) {
    throw toCliError(err);
  }
}

/** Calls the broker without a token (login, session info); the server from the flag, RAC_SERVER or the stored login. */
export async function withServer<T>(
  io: CommandIo,
  serverFlag: string | undefined,
  work: (client: BrokerClient) => Promise<T>,
  caFileFlag?: string,
): Promise<T> {
  let server: string | undefined;
  const store = new CredentialStore(io.env);
  try {
    server = store.server(serverFlag);
  } catch (err) {
    throw usageError(`--server: ${(err as Error).message}`);
  }
  if (!server) throw usageError('no server: pass --server URL or set RAC_SERVER (or run `rac login` first)');
  return withClient(new BrokerClient({ server, tls: trustOf(store.caFile(caFileFlag, server)) }), work);
}

async function withClient<T>(client: BrokerClient, work: (client: BrokerClient) => Promise<T>, login?: Credentials): Promise<T> {
  try {
    return await work(client);
  } catch (err) {
    throw toCliError(err, login);
  } finally {
    await client.close();
  }
}

export function toCliError(err: unknown, login?: Credentials): unknown {
  if (err instanceof CliError) return err;
  if (err instanceof NotLoggedInError) return new CliError(err.message, ExitCode.auth);
  if (err instanceof CaFileError) return new CliError(`--ca-file or RAC_CA_FILE: ${err.message}`, ExitCode.usage);
  if (err instanceof BrokerCertificateError) return new CliError(err.message, ExitCode.failure);
  if (err instanceof BrokerUnreachableError) return new CliError(`${err.message}; check --server or RAC_SERVER`, ExitCode.failure);
  if (!(err instanceof BrokerApiError)) return err;
  // The broker's words, printed on a terminal: no control characters.
  const detail = terminalSafe(err.detail);
  const relogin = login?.source === 'env' ? 'set RAC_TOKEN to a fresh token' : `run \`${loginCommand(login?.server, login?.email)}\``;
  switch (err.status) {
    case 401:
      if (err.code === 'RAC_INVALID_CREDENTIALS') return new CliError(detail, ExitCode.auth);
      return new CliError(`${detail}: ${relogin}`, ExitCode.auth);
    case 403:
      return new CliError(forbidden(err, login), ExitCode.auth);
    case 404:
      if (err.code === 'RAC_ROUTE_NOT_FOUND') {
        return new CliError(`the broker has no ${err.method} ${new URL(err.url).pathname}: it is older than this rac`, ExitCode.failure);
      }
      return new CliError(detail, ExitCode.notFound);
    case 410:
      return new CliError(detail, ExitCode.notFound);
    default:
      return new CliError(detail, ExitCode.failure);
  }
}

/**
 * A 403 is about the account, not the login: logging in again as the same user changes nothing,
 * so the fix names the role or the owner that is missing.
 */
function forbidden(err: BrokerApiError, login?: Credentials): string {
  const who = login?.email ? ` (logged in as ${login.email})` : '';
  switch (err.code) {
    case 'RAC_ADMIN_REQUIRED':
      return `${terminalSafe(err.detail)}${who}: log in as an admin: \`${loginCommand(login?.server, 'ADMIN-EMAIL')}\``;
    case 'RAC_SESSION_FORBIDDEN':
      return `${terminalSafe(err.detail)}${who}: the session belongs to another user; ask its owner or an admin`;
    default:
      return `${terminalSafe(err.detail)}${who}: this account lacks the role or ownership it needs; ask an admin`;
  }
}
