// The `rac` command line: one commander program, one module per command in src/commands/.
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { CliError, ExitCode } from './commands/cli-error.js';
import { agentCommand } from './commands/agent.js';
import { type CommandIo, processIo } from './commands/io.js';
import { adminCommand } from './commands/admin.js';
import { completionCommand } from './commands/completion.js';
import { loginCommand } from './commands/login.js';
import { logoutCommand } from './commands/logout.js';
import { serveCommand } from './commands/serve.js';
import { viewCommand } from './commands/view.js';
import { sessionCommand } from './commands/session.js';
import { tunnelCommand } from './commands/tunnel.js';
import { cpCommand } from './commands/cp.js';
import { shellCommand } from './commands/shell.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(io: CommandIo): Command {
  const program = new Command('rac')
    .description('Remote access for IT support teams: broker, customer agent and terminal viewer')
    .version(version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  program.addCommand(serveCommand(io));
  program.addCommand(agentCommand(io, version));
  program.addCommand(viewCommand(io));
  program.addCommand(loginCommand(io));
  program.addCommand(logoutCommand(io));
  program.addCommand(sessionCommand(io));
  program.addCommand(adminCommand(io));
  program.addCommand(completionCommand(io));
  program.addCommand(tunnelCommand(io));
  program.addCommand(shellCommand(io));
  program.addCommand(cpCommand(io));
  // Subcommands at every depth end through run() and write to io, like the program itself.
  const configure = (command: Command) => {
    for (const sub of command.commands) {
      sub.exitOverride().configureOutput(program.configureOutput()).showHelpAfterError('(run with --help for usage)');
      configure(sub);
    }
  };
  configure(program);
  return program;
}

/** Runs the CLI; returns the exit code instead of exiting, so tests can call it in-process. */
export async function run(argv: string[], io: CommandIo = processIo()): Promise<number> {
  try {
    await buildProgram(io).parseAsync(argv);
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here too, with exit code 0.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (err instanceof CliError) {
      if (err.message) io.stderr.write(`rac: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr.write(`rac: ${(err as Error).message ?? String(err)}\n`);
    return ExitCode.failure;
  }
}

export async function main(argv: string[]): Promise<void> {
  process.exitCode = await run(argv);
}
