// Parsers for option values, shared by the commands. Each throws a usage error naming the option.
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

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'rac');
}

export function defaultConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'rac');
}
