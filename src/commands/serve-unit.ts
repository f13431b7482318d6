// rac serve --print-systemd-unit: the broker's unit, its ExecStart spelled out from the options of
// this command line (every value explicit, paths absolute, the data dir systemd's state dir).
import { formatPortRange } from '../broker/udp-port-pool.js';
import type { CommandIo } from './io.js';
import { formatDuration } from './option-parsers.js';
import type { ServeOptions } from './serve.js';
import { SERVICE_DATA_DIR, SERVICE_ENV_FILE, brokerUnit } from './systemd-units.js';

export function serveArguments(options: ServeOptions): string[] {
  const optional = (flag: string, value: string | undefined) => (value ? [flag, value] : []);
  return [
    'serve',
    ...['--host', options.host, '--port', String(options.port)],
    ...['--data-dir', SERVICE_DATA_DIR, '--udp-ports', formatPortRange(options.udpPorts)],
    ...optional('--public-url', options.publicUrl),
    ...optional('--trust-proxy', options.trustProxy),
    ...optional('--tls-cert', options.tlsCert),
    ...optional('--tls-key', options.tlsKey),
    ...['--pending-timeout', formatDuration(options.pendingTimeout), '--agent-timeout', formatDuration(options.agentTimeout)],
    ...['--idle-timeout', formatDuration(options.idleTimeout), '--max-viewers', String(options.maxViewers)],
    ...optional('--smtp-ca-file', options.smtpCaFile),
    ...['--smtp-timeout', formatDuration(options.smtpTimeout)],
    ...optional('--log-level', options.logLevel),
    ...(options.metrics ? ['--metrics'] : []),
    ...optional('--metrics-address', options.metricsAddress && hostPort(options.metricsAddress)),
    // A node of several: its id must stay the same across restarts (the unit's host name may not).
    ...optional('--node-id', options.cluster?.nodeId),
    ...optional('--relay-host', options.cluster?.relayHost),
    ...optional('--internal-url', options.cluster?.internalUrl),
    ...optional('--key-file', options.cluster?.keyFile),
  ];
}

const hostPort = ({ host, port }: { host: string; port: number }) => `${host.includes(':') ? `[${host}]` : host}:${port}`;

export function serveUnit(options: ServeOptions): string {
  const paths = [options.tlsCert, options.tlsKey, options.smtpCaFile, options.cluster?.keyFile].filter((path): path is string =>
    Boolean(path),
  );
  return brokerUnit(serveArguments(options), { port: options.port, paths, database: options.databaseUrl !== undefined });
}

/**
 * The unit to stdout. The database URL (it may hold a password) is never written into the unit,
 * which every user can read: the unit reads it from its environment file, and stderr says so.
 */
export function printServeUnit(options: ServeOptions, io: Pick<CommandIo, 'stdout' | 'stderr'>): void {
  io.stdout.write(serveUnit(options));
  if (options.databaseUrl === undefined) return;
  io.stderr.write(
    `rac: the unit reads the database URL from ${SERVICE_ENV_FILE}, not from its command line: create that file as root, ` +
      `mode 0600, with the line RAC_DATABASE_URL=<your URL>\n`,
  );
}
