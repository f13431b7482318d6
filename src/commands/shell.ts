// rac shell CODE [-- COMMAND…]: a terminal on the customer's computer (or one command there)
// through the broker's tunnel; exits with the remote status like ssh.
import { Command } from 'commander';
import { EXIT_LOST, type ShellTerminal, runInteractiveShell, runRemoteCommand } from '../client/remote-shell.js';
import { CliError, exitStatus, usageError } from './cli-error.js';
import type { CommandIo } from './io.js';
import { sessionCodeArgument, withSsh } from './ssh-call.js';

export interface ShellOptions {
  code: string;
  command: string[];
  server?: string;
}

export function shellCommand(io: CommandIo): Command {
  return new Command('shell')
    .description("a terminal on the customer's computer, or one command there (the customer must allow it)")
    .argument('<code>', 'the session (9 digits; spaces allowed)')
    .argument('[command...]', 'run this instead of a login shell (put -- before it)')
    .option('--server <url>', 'broker URL (default: RAC_SERVER or the one of `rac login`)')
    .addHelpText('after', '\nExamples:\n  rac shell 123456789\n  rac shell 123456789 -- journalctl -u cups -n 50\nSee man rac-shell.')
    .action(async (code: string, command: string[], opts: { server?: string }) => {
      await runShell({ code, command, server: opts.server }, io);
    });
}

export async function runShell(options: ShellOptions, io: CommandIo): Promise<void> {
  const code = sessionCodeArgument(options.code);
  const terminal: ShellTerminal = {
    stdin: io.stdin as ShellTerminal['stdin'],
    stdout: io.stdout as ShellTerminal['stdout'],
    stderr: io.stderr,
    term: io.env.TERM,
  };
  const interactive = options.command.length === 0;
  if (interactive && !(terminal.stdin.isTTY && terminal.stdout.isTTY)) {
    throw usageError('an interactive rac shell needs a terminal: run it in one, or pass a command after --');
  }
  const status = await withSsh(io, options.server, code, (client) =>
    interactive ? runInteractiveShell(client, terminal) : runRemoteCommand(client, options.command, terminal),
  );
  if (status === EXIT_LOST) {
    throw new CliError(
      "the connection to the customer's computer ended without an exit status (the session closed, or the customer left)",
      EXIT_LOST,
    );
  }
  if (status !== 0) throw exitStatus(status);
}
