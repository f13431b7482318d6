// rac serve: run the broker until SIGINT/SIGTERM.
import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { DEFAULT_SMTP_TIMEOUT_MS, readCaFile } from '../broker/smtp-options.js';
import { type PortRange, formatPortRange, parsePortRange } from '../broker/udp-port-pool.js';
import { CliError, ExitCode, usageError } from './cli-error.js';
import type { CommandIo } from './io.js';
import { defaultDataDir, parseDuration, parsePort } from './option-parsers.js';

export interface ServeOptions {
  host: string;
  port: number;
  dataDir: string;
  udpPorts: PortRange;
  publicUrl?: string;
  trustProxy?: string;
  pendingTimeout: number;
  agentTimeout: number;
  smtpCaFile?: string;
  smtpTimeout: number;
}

export function serveCommand(io: CommandIo): Command {
  return new Command('serve')
    .description('run the broker: REST API, session WebSocket and UDP relay')
    .option('--host <host>', 'address to listen on (HTTP and UDP)', '0.0.0.0')
    .option('--port <port>', 'HTTP port', parsePort('--port'), 8080)
    .option('--data-dir <dir>', 'where the database and keys live (default: $XDG_DATA_HOME/rac)')
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
    .option(
      '--pending-timeout <duration>',
      'close pending sessions nobody joined after this long',
      parseDuration('--pending-timeout'),
      3_600_000,
    )
    .option(
      '--agent-timeout <duration>',
      "mark a session disconnected when the agent's UDP stream is silent this long",
      parseDuration('--agent-timeout'),
      15_000,
    )
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
      new Option('--smtp-timeout <duration>', 'give up on an SMTP server that does not connect or answer within this long')
        .argParser(parseDuration('--smtp-timeout'))
        .default(DEFAULT_SMTP_TIMEOUT_MS, '15s'),
    )
    .action(async (opts: Partial<ServeOptions>) => {
      await runServe(
        {
          host: opts.host!,
          port: opts.port!,
          dataDir: resolve(opts.dataDir ?? defaultDataDir(io.env)),
          udpPorts: opts.udpPorts ?? { first: 50000, last: 60000 },
          publicUrl: opts.publicUrl,
          trustProxy: opts.trustProxy,
          pendingTimeout: opts.pendingTimeout!,
          agentTimeout: opts.agentTimeout!,
          smtpCaFile: opts.smtpCaFile,
          smtpTimeout: opts.smtpTimeout!,
        },
        io,
      );
    });
}

export async function runServe(options: ServeOptions, io: CommandIo): Promise<void> {
  // Loaded here, not at the top: every other rac command starts ~250 ms faster without fastify & co.
  const { startBroker } = await import('../broker/broker.js');
  const { DataDirLockedError } = await import('../broker/data-dir-lock.js');
  const broker = await startBroker({
    host: options.host,
    port: options.port,
    dataDir: options.dataDir,
    udpPorts: options.udpPorts,
    publicUrl: options.publicUrl,
    trustProxy: options.trustProxy,
    pendingTimeoutMs: options.pendingTimeout,
    agentTimeoutMs: options.agentTimeout,
    adminPassword: io.env.RAC_ADMIN_PASSWORD,
    smtpCaFile: options.smtpCaFile,
    smtpTimeoutMs: options.smtpTimeout,
    log: (message) => io.stderr.write(`rac serve: ${message}\n`),
  }).catch((err: unknown) => {
    throw err instanceof DataDirLockedError ? new CliError(err.message, ExitCode.failure) : err;
  });
  const say = (line: string) => io.stderr.write(`${line}\n`);
  if (broker.generatedAdminPassword) {
    say(`First admin created: admin@localhost  password: ${broker.generatedAdminPassword}`);
    say('This password is shown only once. Log in with `rac login` and change it with `rac admin users set`.');
  }
  say(`rac broker listening on http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${broker.port}`);
  say(`  API ${broker.url}/api   WebSocket /ws/session/{code}   UDP ports ${formatPortRange(options.udpPorts)}`);
  say(`  data dir ${options.dataDir}`);
  if (options.smtpCaFile) say(`  SMTP also trusts the CA certificates in ${options.smtpCaFile}`);

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
}
