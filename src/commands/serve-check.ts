// rac serve --check: every check of broker/preflight.ts, one line each on stdout (✓ or ✗ and what
// to do), exit code 1 when one failed. Changes nothing and binds ports only for an instant.
import { checkDatabase } from '../broker/preflight-database.js';
import { checkSmtp } from '../broker/preflight-smtp.js';
import {
  type CheckResult,
  checkDataDir,
  checkHttpPort,
  checkNotRunning,
  checkSecretFiles,
  checkTls,
  checkUdpPorts,
} from '../broker/preflight.js';
import { readCaFile } from '../broker/smtp-options.js';
import { CliError, ExitCode } from './cli-error.js';
import type { CommandIo } from './io.js';
import { type ServeOptions, checkAdminPassword } from './serve.js';

export async function runServeCheck(options: ServeOptions, io: CommandIo): Promise<void> {
  const print = (result: CheckResult) => io.stdout.write(`${result.ok ? '✓' : '✗'} ${result.line}\n`);
  const results: CheckResult[] = [];
  const add = (result: CheckResult) => {
    results.push(result);
    print(result);
  };
  add(checkOptions(io.env));
  add(checkDataDir(options.dataDir));
  add(checkSecretFiles(options.dataDir));
  add(checkNotRunning(options.dataDir));
  add(await checkHttpPort(options.host, options.port));
  add(await checkUdpPorts(options.host, options.udpPorts));
  const tls = options.tlsCert && options.tlsKey ? { certFile: options.tlsCert, keyFile: options.tlsKey } : undefined;
  checkTls(tls, options.publicUrl).forEach(add);
  const extraCa = options.smtpCaFile ? readCaFile(options.smtpCaFile) : undefined;
  const database = await checkDatabase(options.dataDir, options.databaseUrl);
  add(database.result);
  try {
    add(await checkSmtp(options.dataDir, database.db, { extraCa, timeoutMs: options.smtpTimeout }));
  } finally {
    await database.db?.close();
  }
  const failed = results.filter((result) => !result.ok).length;
  if (failed > 0) throw new CliError(`${failed} of ${results.length} checks failed: fix the lines marked ✗`, ExitCode.failure);
  io.stderr.write(`all ${results.length} checks passed\n`);
}

function checkOptions(env: NodeJS.ProcessEnv): CheckResult {
  try {
    checkAdminPassword(env.RAC_ADMIN_PASSWORD);
    return { ok: true, line: 'options: valid' };
  } catch (err) {
    return { ok: false, line: `options: ${(err as Error).message}` };
  }
}
