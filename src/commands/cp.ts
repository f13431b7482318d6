// rac cp [-r] SRC DST: copies files to or from the customer's computer over SFTP, through the
// broker's tunnel; one side is CODE:PATH (a relative PATH starts in the customer's home).
import { Command } from 'commander';
import { CopyError, copyEntry } from '../client/file-copy.js';
import { type FileSide, localSide, remoteSide } from '../client/file-sides.js';
import { DOWNLOAD_CHANNELS, SftpPool } from '../client/sftp-pool.js';
import { compactSessionCode, isSessionCode } from '../protocol/session-code.js';
import { CliError, ExitCode, usageError } from './cli-error.js';
import type { CommandIo } from './io.js';
import { withSsh } from './ssh-call.js';

export interface CpOptions {
  source: string;
  destination: string;
  recursive: boolean;
  server?: string;
}

export function cpCommand(io: CommandIo): Command {
  return new Command('cp')
    .description("copy files to or from the customer's computer (the customer must allow it)")
    .argument('<source>', 'a local path, or CODE:PATH on the customer’s computer')
    .argument('<destination>', 'a local path, or CODE:PATH on the customer’s computer')
    .option('-r, --recursive', 'copy directories and what they hold')
    .option('--server <url>', 'broker URL (default: RAC_SERVER or the one of `rac login`)')
    .addHelpText('after', '\nExamples:\n  rac cp 123456789:/var/log/syslog .\n  rac cp -r ./fix 123456789:fix\nSee man rac-cp.')
    .action(async (source: string, destination: string, opts: { recursive?: boolean; server?: string }) => {
      await runCp({ source, destination, recursive: opts.recursive ?? false, server: opts.server }, io);
    });
}

export interface RemotePath {
  code: string;
  path: string;
}

/** "123456789:path" (the code may be written with spaces or dashes) → code and path; else undefined. */
export function parseRemotePath(text: string): RemotePath | undefined {
  const match = /^([0-9][0-9 -]*[0-9]):(.*)$/s.exec(text);
  if (!match) return undefined;
  const code = compactSessionCode(match[1]!);
  return isSessionCode(code) ? { code, path: match[2] || '.' } : undefined;
}

export async function runCp(options: CpOptions, io: CommandIo): Promise<void> {
  const from = parseRemotePath(options.source);
  const to = parseRemotePath(options.destination);
  if (from && to) throw usageError('SOURCE and DESTINATION are both on a customer’s computer: copy through a local file');
  const remote = from ?? to;
  if (!remote) throw usageError('neither SOURCE nor DESTINATION is CODE:PATH: use cp(1) for local copies');
  await withSsh(io, options.server, remote.code, async (client) => {
    // A download spreads its reads over several channels (sftp-pool.ts); writes go over one.
    const pool = await SftpPool.open(client, from ? DOWNLOAD_CHANNELS : 1);
    const customer = remoteSide(pool);
    const [source, destination]: [FileSide, FileSide] = from ? [customer, localSide()] : [localSide(), customer];
    const srcPath = from ? from.path : options.source;
    const dstPath = to ? to.path : options.destination;
    try {
      await copyEntry(source, srcPath, destination, dstPath, { recursive: options.recursive, status: io.stderr });
    } catch (err) {
      if (err instanceof CopyError) throw new CliError(err.message, ExitCode.failure);
      throw new CliError(`the copy failed: ${(err as Error).message}`, ExitCode.failure);
    } finally {
      pool.close();
    }
  });
}
