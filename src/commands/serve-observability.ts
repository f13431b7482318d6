// rac serve's logging and metrics options: --log-level, --metrics, --metrics-address.
import { type Command, Option } from 'commander';
import { usageError } from './cli-error.js';
import type { CommandIo } from './io.js';
import { parsePort } from './option-parsers.js';

export const LOG_LEVEL_CHOICES = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevelChoice = (typeof LOG_LEVEL_CHOICES)[number];

export interface ObservabilityOptions {
  logLevel: LogLevelChoice;
  metrics: boolean;
  metricsAddress?: { host: string; port: number };
}

/** "HOST:PORT" or "[IPv6]:PORT". */
export function parseListenAddress(option: string) {
  return (text: string): { host: string; port: number } => {
    const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(text);
    if (!match) throw usageError(`${option}: expected HOST:PORT (e.g. 127.0.0.1:9464), got "${text}"`);
    return { host: match[1] ?? match[2]!, port: parsePort(option)(match[3]!) };
  };
}

export function addObservabilityOptions(command: Command): Command {
  return command
    .addOption(new Option('--log-level <level>', 'least severe log lines written to stderr').choices(LOG_LEVEL_CHOICES).default('info'))
    .option('--metrics', 'serve Prometheus metrics at GET /metrics on the main port (admin token required)')
    .option(
      '--metrics-address <host:port>',
      'also serve GET /metrics without auth on this separate listener (keep it on loopback or a private network)',
      parseListenAddress('--metrics-address'),
    );
}

/** JSON lines unless stderr is a terminal (then human lines). */
export const wantsPrettyLogs = (io: CommandIo): boolean => (io.stderr as NodeJS.WriteStream).isTTY === true;
