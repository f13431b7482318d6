// rac serve --database URL --migrate-from sqlite:PATH: copy a one-machine broker into an empty
// PostgreSQL database, print what was copied (stdout), and exit.
import { migrateFromSqlite, sqliteSourceDir } from '../broker/cluster/migrate-from-sqlite.js';
import { defaultNodeId } from '../broker/cluster/node-registry.js';
import { loadBrokerSecrets } from '../broker/cluster/shared-secrets.js';
import { openDatabase } from '../broker/sql/open-database.js';
import { CliError, ExitCode, usageError } from './cli-error.js';
import type { CommandIo } from './io.js';
import type { ServeOptions } from './serve.js';

/** After checkClusterOptions: `options.databaseUrl` is set. */
export async function runMigrateFrom(options: ServeOptions, source: string, io: CommandIo): Promise<void> {
  let sourceDir: string;
  try {
    sourceDir = sqliteSourceDir(source);
  } catch (err) {
    throw usageError((err as Error).message);
  }
  const db = await openDatabase({ dataDir: options.dataDir, url: options.databaseUrl });
  try {
    const { smtpKey } = await loadBrokerSecrets(db, options.dataDir, options.cluster?.keyFile);
    // The sessions stay on their UDP ports, held by the node that starts next with this id.
    const nodeId = options.cluster?.nodeId ?? defaultNodeId(options.port, options.dataDir);
    const copied = await migrateFromSqlite(sourceDir, db, smtpKey, nodeId);
    io.stdout.write(`users\t${copied.users}\nsmtp_settings\t${copied.smtp_settings}\nlive_sessions\t${copied.live_sessions}\n`);
    io.stderr.write(
      `rac serve: copied ${sourceDir} into the database; the live sessions belong to node ${nodeId}: start it with --node-id ${nodeId}\n`,
    );
  } catch (err) {
    throw new CliError(`--migrate-from: ${(err as Error).message}`, ExitCode.failure);
  } finally {
    await db.close();
  }
}
