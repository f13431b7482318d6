// The viewer's `s` key (viewer mode): `rac shell CODE` beside the picture. Inside tmux it opens in a
// new tmux window and the picture stays; elsewhere the picture steps aside (the normal screen, cooked
// mode, the mouse off) while the shell owns the terminal, and comes back when the shell exits.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ENTER_ALT_SCREEN, HIDE_CURSOR, LEAVE_ALT_SCREEN, MOUSE_OFF, MOUSE_ON, RESET_ATTRIBUTES, SHOW_CURSOR } from './terminal-modes.js';

export interface ShellLaunch {
  code: string;
  server: string;
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
}

const RAC_BIN = fileURLToPath(new URL('../../bin/rac.js', import.meta.url));

/** The command line of the shell: this rac's own node and bin/rac.js. */
export const shellArgv = (launch: ShellLaunch): string[] => [process.execPath, RAC_BIN, 'shell', '--server', launch.server, launch.code];

/** Opens the shell; resolves when the viewer may draw again (at once in tmux, after the shell otherwise). */
export function openShell(launch: ShellLaunch): Promise<void> {
  return launch.env.TMUX ? openTmuxWindow(launch) : runSuspended(launch);
}

function openTmuxWindow(launch: ShellLaunch): Promise<void> {
  return run('tmux', ['new-window', '-n', `rac shell ${launch.code}`, ...shellArgv(launch)], launch.env, 'ignore');
}

async function runSuspended(launch: ShellLaunch): Promise<void> {
  const { stdin, stdout } = launch;
  // The shell reads the terminal now: the viewer must not take its keys.
  stdin.pause();
  if (stdin.isTTY) stdin.setRawMode(false);
  stdout.write(RESET_ATTRIBUTES + MOUSE_OFF + LEAVE_ALT_SCREEN + SHOW_CURSOR);
  try {
    const [command, ...args] = shellArgv(launch);
    await run(command!, args, launch.env, 'inherit');
  } finally {
    stdout.write(ENTER_ALT_SCREEN + HIDE_CURSOR + MOUSE_ON);
    if (stdin.isTTY) stdin.setRawMode(true);
    stdin.resume();
  }
}

/** Runs a command to its end; rejects only when it cannot start (a shell's own exit status is its business). */
function run(command: string, args: string[], env: NodeJS.ProcessEnv, stdio: 'inherit' | 'ignore'): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio });
    child.once('error', (err) => reject(new Error(`cannot start ${command}: ${err.message}`)));
    child.once('exit', () => resolve());
  });
}
