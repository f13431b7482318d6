// rac admin backup FILE: asks the running broker for an online backup (its database and keys, a tar
// archive) and writes it to FILE with mode 600, through a temporary file and a rename, so FILE is
// either the whole backup or untouched.
import { Command } from 'commander';
import { chmodSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { withLogin } from './broker-call.js';
import { CliError, ExitCode } from './cli-error.js';
import type { CommandIo } from './io.js';
import { printJson, say } from './output.js';

export function backupCommand(io: CommandIo): Command {
  return new Command('backup')
    .description("write an online backup of the broker's database and keys to FILE (mode 600; admin only)")
    .argument('<file>', 'where to write the backup (a tar archive; replaced if it exists)')
    .option('--json', 'print where the backup went and its size as JSON')
    .action((file: string, opts: { json?: boolean }) =>
      withLogin(io, async (client) => {
        const archive = await client.backup();
        const target = resolve(file);
        writePrivateFile(target, archive);
        if (opts.json) return printJson(io, { file: target, bytes: archive.length });
        say(io, `Backup of ${client.server} written to ${target} (${archive.length} bytes, mode 600).`);
        say(
          io,
          `Restore: stop rac serve, delete rac.db-wal and rac.db-shm in its data dir, \`tar -xf ${target} -C DATA-DIR\`, start it (man rac-admin).`,
        );
      }),
    );
}

function writePrivateFile(target: string, content: Buffer): void {
  const temporary = `${target}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, content, { mode: 0o600 });
    chmodSync(temporary, 0o600);
    renameSync(temporary, target);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw new CliError(`cannot write ${target}: ${(err as Error).message}`, ExitCode.failure);
  }
}
