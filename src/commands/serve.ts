// rac serve: run the broker until SIGINT/SIGTERM.
import { Command } from 'commander';
import { resolve } from 'node:path';
import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_VIEWERS, MAX_VIEWERS_LIMIT } from '../broker/session-limits.js';
import { MIN_PASSWORD_LENGTH } from '../broker/passwords.js';
import { DEFAULT_SMTP_TIMEOUT_MS, readCaFile } from '../broker/smtp-options.js';
import { type PortRange, formatPortRange, parsePortRange } from '../broker/udp-port-pool.js';
import type { RunningBroker } from '../broker/broker.js';
import type { CertificateSummary } from '../broker/tls-files.js';
import { checkDatabaseUrl, describeDatabaseUrl } from '../broker/sql/open-database.js';
import { CliError, ExitCode, usageError } from './cli-error.js';
import type { CommandIo } from './io.js';
import { defaultDataDir, durationOption, parsePort } from './option-parsers.js';
import { type ClusterOptions, addClusterOptions, checkClusterOptions } from './serve-cluster.js';
import { type ObservabilityOptions, addObservabilityOptions, wantsPrettyLogs } from './serve-observability.js';

export interface ServeOptions extends Partial<ObservabilityOptions> {
  host: string;
  port: number;
  dataDir: string;
  udpPorts: PortRange;
  publicUrl?: string;
  trustProxy?: string;
  pendingTimeout: number;
  agentTimeout: number;
  idleTimeout: number;
  maxViewers: number;
  smtpCaFile?: string;
  smtpTimeout: number;
  tlsCert?: string;
  tlsKey?: string;
  /** --database or RAC_DATABASE_URL: PostgreSQL instead of SQLite in the data dir. */
  databaseUrl?: string;
  /** --node-id, --relay-host, --internal-url, --key-file, --migrate-from. */
  cluster?: ClusterOptions;
}

function parseMaxViewers(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_VIEWERS_LIMIT) {
    throw usageError(`--max-viewers: expected a number 1-${MAX_VIEWERS_LIMIT}, got "${text}"`);
  }
  return n;
}

export function serveCommand(io: CommandIo): Command {
  const command = new Command('serve')
    .description('run the broker: REST API, session WebSocket and UDP relay')
    .option('--host <host>', 'address to listen on (HTTP and UDP)', '0.0.0.0')
    .option('--port <port>', 'HTTP port', parsePort('--port'), 8080)
    .option('--data-dir <dir>', 'where the database and keys live (default: $XDG_DATA_HOME/rac)')
    .option(
      '--database <url>',
      'keep the data in PostgreSQL (postgres://USER@HOST:PORT/DATABASE; default: $RAC_DATABASE_URL, else SQLite in the data dir)',
      parseDatabaseUrl,
    )
    .option('--udp-ports <first-last>', 'UDP port range for sessions', (text: string) => {
      try {
        return parsePortRange(text);
      } catch (err) {
        throw usageError(`--udp-ports: ${(err as Error).message}`);
      }
    })
    .option('--public-url <url>', 'URL customers and viewers use to reach this broker (for mails)', (text: string) => {
      if (!URL.canParse(text)) throw usageError(`--public-url: not a URL: "${text}"`);
      return text.replace(/\/+$/, '');
    })
    .option('--trust-proxy <addresses>', 'believe X-Forwarded-For from these reverse proxies (e.g. 127.0.0.1, or loopback,10.0.0.0/8)')
    .addOption(durationOption('--pending-timeout <duration>', 'close pending sessions nobody joined after this long', 3_600_000))
    .addOption(
      durationOption('--agent-timeout <duration>', "mark a session disconnected when the agent's UDP stream is silent this long", 15_000),
    )
    .addOption(
      durationOption(
        '--idle-timeout <duration>',
        'close an active or disconnected session after this long with no agent datagram and no viewer',
        DEFAULT_IDLE_TIMEOUT_MS,
      ),
    )
    .option('--max-viewers <n>', 'viewers allowed per session at once', parseMaxViewers, DEFAULT_MAX_VIEWERS)
    .option(
      '--smtp-ca-file <file>',
      "PEM file of CA certificates to trust for the SMTP server's certificate (self-hosted relays)",
      (text: string) => {
        try {
          readCaFile(text);
        } catch (err) {
          throw usageError(`--smtp-ca-file: ${(err as Error).message}`);
        }
        return resolve(text);
      },
    )
    .addOption(
      durationOption(
        '--smtp-timeout <duration>',
        'give up on an SMTP server that does not connect or answer within this long',
        DEFAULT_SMTP_TIMEOUT_MS,
      ),
    )
    .option('--tls-cert <file>', 'serve HTTPS and WSS with this PEM certificate (chain); reloaded on SIGHUP', resolvePath)
    .option('--tls-key <file>', 'the PEM private key of --tls-cert', resolvePath)
    .option(
      '--check',
      'check the options, data dir, ports, TLS files and SMTP settings; print one line per check and exit (1: a check failed)',
    )
    .option('--print-systemd-unit', 'print a hardened systemd unit that runs this command line, and exit');
  return addClusterOptions(addObservabilityOptions(command)).action(
    async (opts: Partial<ServeOptions> & ClusterOptions & { check?: boolean; printSystemdUnit?: boolean; database?: string }) => {
      checkTlsPair(opts);
      const databaseUrl = opts.database ?? (io.env.RAC_DATABASE_URL ? parseDatabaseUrl(io.env.RAC_DATABASE_URL) : undefined);
      const options: ServeOptions = {
        databaseUrl,
        host: opts.host!,
        port: opts.port!,
        dataDir: resolve(opts.dataDir ?? defaultDataDir(io.env)),
        udpPorts: opts.udpPorts ?? { first: 50000, last: 60000 },
        publicUrl: opts.publicUrl,
        trustProxy: opts.trustProxy,
        pendingTimeout: opts.pendingTimeout!,
        agentTimeout: opts.agentTimeout!,
        idleTimeout: opts.idleTimeout!,
        maxViewers: opts.maxViewers!,
        smtpCaFile: opts.smtpCaFile,
        smtpTimeout: opts.smtpTimeout!,
        logLevel: opts.logLevel,
        metrics: opts.metrics,
        metricsAddress: opts.metricsAddress,
        tlsCert: opts.tlsCert,
        tlsKey: opts.tlsKey,
        cluster: opts,
      };
      checkClusterOptions(opts, databaseUrl);
      if (opts.migrateFrom) return (await import('./serve-migrate.js')).runMigrateFrom(options, opts.migrateFrom, io);
      if (opts.printSystemdUnit) return (await import('./serve-unit.js')).printServeUnit(options, io);
      if (opts.check) return (await import('./serve-check.js')).runServeCheck(options, io);
      await runServe(options, io);
    },
  );
}

const resolvePath = (text: string): string => resolve(text);

/** Refused here, before any start: an engine rac does not speak (the message never repeats the URL, it may hold a password). */
function parseDatabaseUrl(text: string): string {
  try {
    checkDatabaseUrl(text);
  } catch (err) {
    throw usageError((err as Error).message);
  }
  return text;
}

/** --tls-cert and --tls-key come as a pair. */
export function checkTlsPair(opts: { tlsCert?: string; tlsKey?: string }): void {
  if (Boolean(opts.tlsCert) === Boolean(opts.tlsKey)) return;
  throw usageError(opts.tlsCert ? '--tls-cert needs --tls-key (the private key of the certificate)' : '--tls-key needs --tls-cert');
}

/** RAC_ADMIN_PASSWORD, when set, must be one the users API would accept too. */
export function checkAdminPassword(password: string | undefined): void {
  const length = [...(password ?? '')].length; // characters, as the API's schema counts them
  if (!password || length >= MIN_PASSWORD_LENGTH) return;
  throw usageError(
    `RAC_ADMIN_PASSWORD has ${length} characters; it needs at least ${MIN_PASSWORD_LENGTH}: set a longer one, or unset it to have a random password printed once`,
  );
}

/** SIGHUP (systemctl reload): a renewed certificate for new connections; sessions stay up. */
function reloadCertificate(
  broker: RunningBroker,
  say: (line: string) => void,
  describe: (certificate: CertificateSummary) => string,
): void {
  if (!broker.certificate) return say('rac serve: SIGHUP: nothing to reload (no --tls-cert)');
  try {
    say(`rac serve: SIGHUP: now serving ${describe(broker.reloadTls())}`);
  } catch (err) {
    say(`rac serve: SIGHUP: kept the previous certificate: ${(err as Error).message}`);
  }
}

export async function runServe(options: ServeOptions, io: CommandIo): Promise<void> {
  checkAdminPassword(io.env.RAC_ADMIN_PASSWORD);
  // Loaded here, not at the top: every other rac command starts ~250 ms faster without fastify & co.
  const { startBroker } = await import('../broker/broker.js');
  const { DataDirLockedError } = await import('../broker/data-dir-lock.js');
  const { createBrokerLogger } = await import('../broker/broker-log.js');
  const pretty = wantsPrettyLogs(io);
  const logger = createBrokerLogger({ level: options.logLevel ?? 'info', destination: io.stderr, pretty });
  const { TlsFilesError, describeCertificate } = await import('../broker/tls-files.js');
  const tls = options.tlsCert && options.tlsKey ? { certFile: options.tlsCert, keyFile: options.tlsKey } : undefined;
  const broker = await startBroker({
    host: options.host,
    port: options.port,
    dataDir: options.dataDir,
    databaseUrl: options.databaseUrl,
    udpPorts: options.udpPorts,
    publicUrl: options.publicUrl,
    trustProxy: options.trustProxy,
    pendingTimeoutMs: options.pendingTimeout,
    agentTimeoutMs: options.agentTimeout,
    idleTimeoutMs: options.idleTimeout,
    maxViewers: options.maxViewers,
    adminPassword: io.env.RAC_ADMIN_PASSWORD,
    smtpCaFile: options.smtpCaFile,
    smtpTimeoutMs: options.smtpTimeout,
    logger,
    metrics: { onMainPort: options.metrics ?? false, address: options.metricsAddress },
    tls,
    cluster: options.cluster,
  }).catch((err: unknown) => {
    if (err instanceof DataDirLockedError || err instanceof TlsFilesError) throw new CliError(err.message, ExitCode.failure);
    throw err;
  });
  // Status lines: log events in JSON mode (so every line parses), plain lines on a terminal.
  const say = (line: string) => (pretty ? io.stderr.write(`${line}\n`) : logger.info(line));
  if (broker.generatedAdminPassword) {
    // Plain lines even in JSON mode: shown once to the person starting the broker, never a log event.
    const plain = (line: string) => io.stderr.write(`${line}\n`);
    plain(`First admin created: admin@localhost  password: ${broker.generatedAdminPassword}`);
    plain('This password is shown only once. Log in with `rac login` and change it with `rac admin users set`.');
  }
  const scheme = tls ? 'https' : 'http';
  say(`rac broker listening on ${scheme}://${options.host.includes(':') ? `[${options.host}]` : options.host}:${broker.port}`);
  say(`  API ${broker.url}/api   WebSocket /ws/session/{code}   UDP ports ${formatPortRange(options.udpPorts)}`);
  say(`  data dir ${options.dataDir}`);
  if (options.databaseUrl) say(`  database ${describeDatabaseUrl(options.databaseUrl)} (PostgreSQL)`);
  if (options.smtpCaFile) say(`  SMTP also trusts the CA certificates in ${options.smtpCaFile}`);
  if (options.metrics) say(`  metrics at ${broker.url}/metrics (admin token)`);
  if (broker.metricsUrl) say(`  metrics at ${broker.metricsUrl} (no auth)`);
  if (broker.certificate) say(`  TLS certificate ${describeCertificate(broker.certificate)} (SIGHUP reloads it)`);
  const reload = () => reloadCertificate(broker, say, describeCertificate);
  process.on('SIGHUP', reload);

  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      say(`rac serve: ${signal}, shutting down`);
      broker.close().then(done, (err) => {
        say(`rac serve: error while shutting down: ${(err as Error).message}`);
        done();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  process.off('SIGHUP', reload);
}
