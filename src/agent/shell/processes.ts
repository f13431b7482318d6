// Which program runs for an SSH `shell` or `exec` request, as the customer's own user: the login
// shell ($SHELL, else the account's shell, else /bin/sh) or cmd.exe on Windows, started in the
// customer's home directory with the agent's environment.
import { homedir, userInfo } from 'node:os';

export interface Program {
  file: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
}

const isWindows = process.platform === 'win32';

export function loginShell(env: NodeJS.ProcessEnv = process.env): string {
  if (isWindows) return env.ComSpec || 'cmd.exe';
  let account: string | undefined;
  try {
    account = userInfo().shell ?? undefined;
  } catch {
    account = undefined;
  }
  return env.SHELL || account || '/bin/sh';
}

/** An interactive login shell. */
export function shellProgram(term?: string): Program {
  const env = { ...process.env, ...(term ? { TERM: term } : {}) };
  return { file: loginShell(), args: isWindows ? [] : ['-l'], cwd: homedir(), env };
}

/** One command line, run by the shell the way OpenSSH's sshd runs it (`$SHELL -c command`). */
export function commandProgram(command: string, term?: string): Program {
  const env = { ...process.env, ...(term ? { TERM: term } : {}) };
  return { file: loginShell(), args: isWindows ? ['/d', '/s', '/c', command] : ['-c', command], cwd: homedir(), env };
}
