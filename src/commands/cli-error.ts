// Errors a command ends with: one line on stderr and the exit code rac(1) documents.
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.failure,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string) => new CliError(message, ExitCode.usage);

/** Ends a command with this exit code and no message of rac's own: `rac shell` passes on the remote command's status. */
export const exitStatus = (code: number) => new CliError('', code);
