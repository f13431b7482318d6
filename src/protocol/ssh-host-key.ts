// The agent's SSH host key as it travels in signalling (`agent_host_key`, `agent_key.ssh_host_key`,
// the broker's `tunnel_ready.host_key`): one OpenSSH public key line, "ssh-ed25519 AAAA…" (no
// comment), and its fingerprint in OpenSSH's format, "SHA256:…" (unpadded base64 of the blob's hash).
import { createHash } from 'node:crypto';

/** "ssh-ed25519 " and the 68 base64 characters of the 51-byte key blob. */
const ED25519_LINE = /^ssh-ed25519 (AAAAC3NzaC1lZDI1NTE5AAAAI[A-P][A-Za-z0-9+/]{42})$/;

/** Whether `text` is exactly an ed25519 public key line (the only host key type rac uses). */
export function isSshHostKeyLine(text: unknown): text is string {
  if (typeof text !== 'string') return false;
  const match = ED25519_LINE.exec(text);
  return match !== null && Buffer.from(match[1]!, 'base64').toString('base64') === match[1];
}

/** The line's fingerprint as `ssh-keygen -lf` prints it ("SHA256:…"), or undefined for a malformed line. */
export function sshHostKeyFingerprint(line: string): string | undefined {
  if (!isSshHostKeyLine(line)) return undefined;
  const blob = Buffer.from(line.split(' ')[1]!, 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}
