// Restart and shutdown through the OS's own command. The executor is injected: the real one runs
// the command, `--power-dry-run` only prints it, and tests record it.
import { spawn } from 'node:child_process';

export type PowerAction = 'restart' | 'shutdown';

export interface PowerCommand {
  command: string;
  args: string[];
}

export type PowerExecutor = (command: PowerCommand) => Promise<void>;

export function powerCommand(action: PowerAction, platform: NodeJS.Platform = process.platform): PowerCommand | null {
  switch (platform) {
    case 'linux':
      return { command: 'systemctl', args: [action === 'restart' ? 'reboot' : 'poweroff'] };
    case 'win32':
      return { command: 'shutdown', args: [action === 'restart' ? '/r' : '/s', '/t', '0'] };
    case 'darwin':
      return { command: 'shutdown', args: [action === 'restart' ? '-r' : '-h', 'now'] };
    default:
      return null;
  }
}

export const formatCommand = (c: PowerCommand) => [c.command, ...c.args].join(' ');

/** Runs the command detached; resolves once it started (the machine may go down right after). */
export const runPowerCommand: PowerExecutor = (c) =>
  new Promise((resolve, reject) => {
    const child = spawn(c.command, c.args, { stdio: 'ignore', detached: true });
    child.once('error', reject);
    child.once('spawn', () => {
      child.unref();
      resolve();
    });
  });

export const dryRunExecutor =
  (print: (line: string) => void): PowerExecutor =>
  async (c) => {
    print(`power (dry run): ${formatCommand(c)}`);
  };

export class PowerManager {
  constructor(
    private readonly executor: PowerExecutor,
    private readonly platform: NodeJS.Platform = process.platform,
  ) {}

  get available(): boolean {
    return powerCommand('restart', this.platform) !== null;
  }

  async run(action: PowerAction): Promise<PowerCommand> {
    const command = powerCommand(action, this.platform);
    if (!command) throw new Error(`power actions are not supported on ${this.platform}`);
    await this.executor(command);
    return command;
  }
}
