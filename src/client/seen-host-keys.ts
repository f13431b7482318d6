// The agents' SSH host keys this IT member has been shown: `rac shell` and `rac cp` print a key's
// fingerprint on stderr the first time they meet it (to compare with the one on the customer's
// screen), not on every run. One fingerprint a line in $XDG_CONFIG_HOME/rac/seen-host-keys.
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configDir } from './credentials.js';

export function seenHostKeysFile(env: NodeJS.ProcessEnv): string {
  return join(configDir(env), 'seen-host-keys');
}

/** Records the fingerprint; true when it was not there before. */
export function rememberHostKey(env: NodeJS.ProcessEnv, fingerprint: string): boolean {
  const file = seenHostKeysFile(env);
  let known: string[] = [];
  try {
    known = readFileSync(file, 'utf8').split('\n');
  } catch {
    // none seen yet
  }
  if (known.includes(fingerprint)) return false;
  try {
    mkdirSync(configDir(env), { recursive: true, mode: 0o700 });
    appendFileSync(file, `${fingerprint}\n`, { mode: 0o600 });
  } catch {
    // a read-only home: print the fingerprint every time rather than fail the command
  }
  return true;
}
