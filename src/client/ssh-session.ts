// An SSH client (ssh2) over any byte stream: the broker's tunnel gives `rac shell` and `rac cp` a
// Duplex and the agent's host key, user name and stream password; no TCP connection of its own.
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { Client, type SFTPWrapper } from 'ssh2';

export interface SshEndpoint {
  stream: Duplex;
  /** The agent's public key line, "ssh-ed25519 AAAA…", as the broker relayed it. */
  hostKey: string;
  username: string;
  password: string;
}

/** The agent presented another key than the one the tunnel announced: someone is in between. */
export class HostKeyMismatchError extends Error {
  constructor(expected: string, presented: string) {
    super(
      `the customer's computer presented SSH host key ${presented}, not the announced ${expected}: ` +
        'the connection was stopped; ask the customer to restart `rac agent` and try again',
    );
    this.name = 'HostKeyMismatchError';
  }
}

/** The SSH handshake or authentication failed. */
export class SshConnectError extends Error {
  constructor(reason: string, options?: ErrorOptions) {
    super(`the SSH connection to the customer's computer failed: ${reason}`, options);
    this.name = 'SshConnectError';
  }
}

/** The raw key blob of an OpenSSH public key line ("type base64 [comment]"). */
export function hostKeyBlob(line: string): Buffer {
  const [type, base64] = line.trim().split(/\s+/);
  if (!type || !base64) throw new Error(`not an OpenSSH public key line: "${line.slice(0, 40)}"`);
  return Buffer.from(base64, 'base64');
}

/** The fingerprint OpenSSH shows: "SHA256:" and the unpadded base64 of the blob's SHA-256. */
export function fingerprintOfBlob(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

const READY_TIMEOUT_MS = 20_000;

/** Connects and authenticates; resolves with the ready client. The caller ends it. */
export function connectSsh(endpoint: SshEndpoint): Promise<Client> {
  const expected = hostKeyBlob(endpoint.hostKey);
  const client = new Client();
  let mismatch: HostKeyMismatchError | undefined;
  return new Promise((resolve, reject) => {
    client.once('ready', () => resolve(client));
    client.once('error', (err) => {
      client.end();
      reject(mismatch ?? new SshConnectError(err.message, { cause: err }));
    });
    client.connect({
      sock: endpoint.stream,
      username: endpoint.username,
      password: endpoint.password,
      readyTimeout: READY_TIMEOUT_MS,
      hostVerifier: (presented: Buffer) => {
        if (presented.equals(expected)) return true;
        mismatch = new HostKeyMismatchError(fingerprintOfBlob(expected), fingerprintOfBlob(presented));
        return false;
      },
    });
  });
}

/**
 * The most file bytes one SFTP READ or WRITE carries: what fits a 256 KiB SFTP packet, the size the
 * agent's SFTP server (ssh2's, like OpenSSH's sftp-server) accepts. Fewer, larger requests are most
 * of what makes `rac cp` fast.
 */
export const SFTP_DATA_BYTES = 254 * 1024;

export function openSftp(client: Client): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) =>
    client.sftp((err, sftp) => {
      if (err) return reject(err);
      useLargeRequests(sftp);
      resolve(sftp);
    }),
  );
}

/**
 * ssh2's SFTP client limits requests to 34000-byte packets unless the server is OpenSSH or announces
 * limits@openssh.com, which ssh2's server cannot. The server at the other end of a tunnel is always
 * a rac agent (its host key was checked): tell the client the agent's real limit.
 */
function useLargeRequests(sftp: SFTPWrapper): void {
  const limits = sftp as unknown as { _maxReadLen?: unknown; _maxWriteLen?: unknown };
  if (typeof limits._maxReadLen === 'number') limits._maxReadLen = Math.max(limits._maxReadLen, SFTP_DATA_BYTES);
  if (typeof limits._maxWriteLen === 'number') limits._maxWriteLen = Math.max(limits._maxWriteLen, SFTP_DATA_BYTES);
}
