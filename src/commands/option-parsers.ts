// Parsers for option values, shared by the commands. Each throws a usage error naming the option.
import { Option } from 'commander';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { usageError } from './cli-error.js';

export function parsePort(option: string) {
  return (text: string): number => {
    const port = Number(text);
    if (!/^\d+$/.test(text) || port > 65535) throw usageError(`${option}: expected a port number 0-65535, got "${text}"`);
    return port;
  };
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90" (seconds), "90s", "15m", "1h", "500ms" → milliseconds. */
export function parseDuration(option: string) {
  return (text: string): number => {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
    if (!match) throw usageError(`${option}: expected a duration such as 90s, 15m or 1h, got "${text}"`);
    const ms = Number(match[1]) * UNITS[match[2] ?? 's']!;
    if (ms <= 0) throw usageError(`${option}: must be more than zero`);
    return ms;
  };
}

/** Milliseconds as a user would type them: 3600000 → "1h", 90000 → "90s", 1500 → "1500ms". */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms % UNITS[unit]! === 0) return `${ms / UNITS[unit]!}${unit}`;
  }
  return `${ms}ms`;
}

/** `--name <duration>`, parsed to milliseconds, its default shown in --help as typed (e.g. "1h"). */
export function durationOption(flags: string, description: string, defaultMs: number): Option {
  const name = flags.split(' ')[0]!;
  return new Option(flags, description).argParser(parseDuration(name)).default(defaultMs, formatDuration(defaultMs));
}

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'rac');
}

export function defaultConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'rac');
}
