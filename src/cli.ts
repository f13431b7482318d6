// The `rac` command line: one commander program, one module per command in src/commands/.
// Each command's module (and what it imports: the broker, the agent, ssh2...) is loaded only when
// that command runs, so `rac cp` does not pay for loading `rac serve` before its first byte.
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { CliError, ExitCode } from './commands/cli-error.js';
import { type CommandIo, processIo } from './commands/io.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

type CommandLoader = (io: CommandIo) => Promise<Command>;

/** Every command, in the order `rac --help` lists them, each loaded on demand. */
const COMMANDS: Record<string, CommandLoader> = {
  serve: async (io) => (await import('./commands/serve.js')).serveCommand(io),
  agent: async (io) => (await import('./commands/agent.js')).agentCommand(io, version),
  view: async (io) => (await import('./commands/view.js')).viewCommand(io),
  login: async (io) => (await import('./commands/login.js')).loginCommand(io),
  logout: async (io) => (await import('./commands/logout.js')).logoutCommand(io),
  session: async (io) => (await import('./commands/session.js')).sessionCommand(io),
  admin: async (io) => (await import('./commands/admin.js')).adminCommand(io),
  completion: async (io) => (await import('./commands/completion.js')).completionCommand(io),
  tunnel: async (io) => (await import('./commands/tunnel.js')).tunnelCommand(io),
  shell: async (io) => (await import('./commands/shell.js')).shellCommand(io),
  cp: async (io) => (await import('./commands/cp.js')).cpCommand(io),
};

/**
 * The commands `argv` needs: none for `rac --version`, the one it names, or all of them when it names
 * none (`rac --help`, a mistyped name that gets a suggestion) or needs the whole tree (completion,
 * `rac help CMD`).
 */
export function commandsFor(argv: string[] | undefined): string[] {
  const name = argv?.[2];
  const all = Object.keys(COMMANDS);
  if ((name === '--version' || name === '-V') && argv?.length === 3) return [];
  if (name === undefined || name === 'completion' || !Object.hasOwn(COMMANDS, name)) return all;
  return [name];
}

/** The program with the commands `argv` needs (every command without `argv`). */
export async function buildProgram(io: CommandIo, argv?: string[]): Promise<Command> {
  const program = new Command('rac')
    .description('Remote access for IT support teams: broker, customer agent and terminal viewer')
    .version(version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  const commands = await Promise.all(commandsFor(argv).map((name) => COMMANDS[name]!(io)));
  for (const command of commands) program.addCommand(command);
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
    await (await buildProgram(io, argv)).parseAsync(argv);
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
