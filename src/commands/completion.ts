// rac completion bash|zsh: print a completion script for the whole program.
import { Argument, Command } from 'commander';
import { bashCompletion, zshCompletion } from './completion-scripts.js';
import type { CommandIo } from './io.js';

export function completionCommand(io: CommandIo): Command {
  return new Command('completion')
    .description('print a shell completion script (bash or zsh)')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(['bash', 'zsh']))
    .action((shell: 'bash' | 'zsh', _opts: unknown, command: Command) => {
      const program = command.parent!;
      io.stdout.write(shell === 'bash' ? bashCompletion(program) : zshCompletion(program));
    });
}
