// Secrets the broker keeps in its data dir (the JWT signing key, later the SMTP encryption key):
// generated once, mode 0600, read back on every start so restarts keep logins valid.
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function loadOrCreateSecret(dataDir: string, name: string, bytes = 32): Buffer {
  const file = join(dataDir, name);
  try {
    const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length < bytes) throw new Error(`${file} is shorter than ${bytes} bytes: remove it to generate a new one`);
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const key = randomBytes(bytes);
  // 'wx' fails if another process created it meanwhile, rather than overwriting its key.
  writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  return key;
}
