// The broker's one logger (pino, which fastify uses too): JSON lines on stderr for journald and log
// shippers, human lines on a terminal. startBroker passes it (or children of it) to every module.
// Secrets never reach it: request lines carry method, path without query string, status and
// address only (no headers), and `redact` blanks the known secret fields of any logged object.
import { type Logger, type LoggerOptions, pino } from 'pino';
import pretty from 'pino-pretty';

export type BrokerLogger = Logger;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

/** Field names that hold secrets, wherever they appear (top level or one object down). */
const SECRET_FIELDS = [
  'password',
  'smtp_password',
  'token',
  'access_token',
  'authorization',
  'cookie',
  'api_key',
  'secret',
  'agent_secret',
  'ticket',
  'code_with_ticket',
];

export const REDACT_PATHS = [
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`]),
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-rac-agent-secret"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-rac-agent-secret"]',
];

export interface BrokerLoggerOptions {
  level: LogLevel | 'silent';
  /** Where lines go (stderr). */
  destination: NodeJS.WritableStream;
  /** Human lines instead of JSON (when the destination is a terminal). */
  pretty: boolean;
}

export function createBrokerLogger(options: BrokerLoggerOptions): BrokerLogger {
  const config: LoggerOptions = {
    level: options.level,
    base: { service: 'rac-broker' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  if (!options.pretty) return pino(config, options.destination);
  const human = pretty({
    destination: options.destination,
    colorize: true,
    sync: true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,service',
  });
  return pino(config, human);
}

/** A logger that writes nothing (library use and tests that do not read logs). */
export const silentLogger = (): BrokerLogger => pino({ level: 'silent' });

/** The path of a URL without its query string, which may carry a token (`/ws/session/…?token=`). */
export const pathOnly = (url: string): string => url.split('?')[0]!;
