// Commands of DESIGN.md whose issue has not landed yet: listed in --help, and honest when run.
import { Command } from 'commander';
import { CliError } from './cli-error.js';

export function notBuiltCommand(name: string, description: string, issue: number): Command {
  return new Command(name)
    .description(`${description} (not built yet)`)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .action(() => {
      throw new CliError(`${name} is not built yet (issue #${issue})`);
    });
}
