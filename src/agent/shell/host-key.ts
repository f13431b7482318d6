// The agent's SSH host key: ed25519, generated once per install and kept (mode 0600) in the agent's
// config directory, so the IT member's `rac shell` sees the same key every session and can notice a
// change. The public half travels as an OpenSSH line; the customer sees its SHA256 fingerprint.
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';

// ssh2 is CommonJS: its exports come off the default export.
const { utils } = ssh2;
import { isSshHostKeyLine, sshHostKeyFingerprint } from '../../protocol/index.js';

export interface HostKey {
  /** The private key in OpenSSH format, for ssh2's Server. */
  privateKey: string;
  /** "ssh-ed25519 AAAA…" (no comment). */
  publicLine: string;
  /** "SHA256:…", as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  file: string;
}

export const HOST_KEY_FILE = 'ssh_host_ed25519_key';

/** Reads the host key from `configDir`, or generates and stores it on first use. */
export function loadOrCreateHostKey(configDir: string): HostKey {
  const file = join(configDir, HOST_KEY_FILE);
  let privateKey: string;
  try {
    privateKey = readFileSync(file, 'utf8');
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new Error(`cannot read the SSH host key ${file}: ${(err as Error).message}`);
    privateKey = generateHostKey();
    mkdirSync(configDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, privateKey, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  const publicLine = publicLineOf(privateKey, file);
  return { privateKey, publicLine, fingerprint: sshHostKeyFingerprint(publicLine)!, file };
}

/**
 * A new ed25519 key in OpenSSH format. ssh2's generator now and then (about 1 in 300) writes a key
 * its own parser calls malformed: such a key is thrown away and another one made.
 */
function generateHostKey(): string {
  for (let attempt = 0; attempt < 20; attempt++) {
    const key = utils.generateKeyPairSync('ed25519').private;
    const parsed = utils.parseKey(key);
    if (!(parsed instanceof Error) && !Array.isArray(parsed) && parsed.type === 'ssh-ed25519') return key;
  }
  throw new Error('could not generate an SSH host key that ssh2 can read back');
}

function publicLineOf(privateKey: string, file: string): string {
  const parsed = utils.parseKey(privateKey);
  if (parsed instanceof Error || Array.isArray(parsed) || parsed.type !== 'ssh-ed25519')
    throw new Error(`${file} is not an ed25519 private key in OpenSSH format: move it away and a new key is generated`);
  const line = `ssh-ed25519 ${parsed.getPublicSSH().toString('base64')}`;
  if (!isSshHostKeyLine(line)) throw new Error(`${file} holds a key rac cannot use: move it away and a new key is generated`);
  return line;
}
