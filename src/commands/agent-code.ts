// The --code half of `rac agent` (the customer's side of a support session), kept apart from the
// command's other mode (the Openctrol API, agent.ts): agent.ts adds these options and calls
// runAgentSession when --code is given.
import { Option } from 'commander';
import { DEFAULT_FPS, DEFAULT_QUALITY } from '../agent/session/constants.js';
import type { SessionAgentOptions } from '../agent/session/session-agent.js';
import { MAX_SEALED_CHUNK_PAYLOAD_BYTES, compactSessionCode, isSessionCode } from '../protocol/index.js';
import { CliError, ExitCode, usageError } from './cli-error.js';
import type { CommandIo } from './io.js';

/** What the command parses: the session agent's options, less what the run supplies. */
export type AgentSessionOptions = Omit<SessionAgentOptions, 'signal'>;

export const intIn = (option: string, min: number, max: number) => (text: string) => {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < min || n > max) throw usageError(`${option}: expected a whole number ${min}–${max}, got "${text}"`);
  return n;
};

/** The options only the session mode has (--code, --server, --fps, --quality, --yes, --view-only are shared). */
export function sessionOnlyOptions(): Option[] {
  return [
    new Option('--max-width <pixels>', 'with --code: shrink frames wider than this before sending').argParser(
      intIn('--max-width', 16, 16384),
    ),
    new Option(
      '--chunk-size <bytes>',
      'with --code: JPEG bytes per UDP datagram (default: datagrams of at most 1200 bytes; 60000 is the reference client)',
    ).argParser(intIn('--chunk-size', 1, MAX_SEALED_CHUNK_PAYLOAD_BYTES)),
    new Option(
      '--allow-shell',
      'with --code: let the IT member ask for a terminal and file transfers (rac shell, rac cp); asked separately',
    ).default(false),
  ];
}

/** Validates what the command line gave for a session; usage errors name the option. */
export function sessionOptions(
  opts: {
    code?: string;
    server?: string;
    fps?: number;
    quality?: number;
    maxWidth?: number;
    chunkSize?: number;
    yes?: boolean;
    viewOnly?: boolean;
    allowShell?: boolean;
    /** The agent's config directory (the SSH host key is kept there). */
    configDir?: string;
  },
  env: NodeJS.ProcessEnv,
): AgentSessionOptions {
  const code = compactSessionCode(opts.code ?? '');
  if (!isSessionCode(code)) throw usageError(`--code: expected the 9-digit session code, got "${opts.code}"`);
  const server = (opts.server || env.RAC_SERVER)?.replace(/\/+$/, '');
  if (!server) throw usageError('--server is required (or set RAC_SERVER)');
  if (!URL.canParse(server) || !/^https?:$/.test(new URL(server).protocol))
    throw usageError(`--server: expected an http(s) URL, got "${server}"`);
  return {
    code,
    server,
    fps: opts.fps ?? DEFAULT_FPS,
    quality: opts.quality ?? DEFAULT_QUALITY,
    maxWidth: opts.maxWidth,
    chunkSize: opts.chunkSize,
    yes: opts.yes === true,
    viewOnly: opts.viewOnly === true,
    allowShell: opts.allowShell === true,
    configDir: opts.configDir,
  };
}

export interface Companion {
  close(): Promise<void>;
}

/**
 * Runs the session until it ends; Ctrl-C (SIGINT) and SIGTERM stop it. Failures throw CliError.
 * `companion` (the Openctrol API) starts once the code and the desktop checked out and stops with
 * the session; if it cannot start the session goes on without it (usage errors still end it).
 */
export async function runAgentSession(options: AgentSessionOptions, io: CommandIo, companion?: () => Promise<Companion>): Promise<void> {
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let running: Companion | undefined;
  const startCompanion = async () => {
    if (!companion) return;
    try {
      running = await companion();
    } catch (err) {
      if (err instanceof CliError && err.exitCode === ExitCode.usage) throw err;
      io.stderr.write(`rac agent: the Openctrol API is not served (${(err as Error).message}); the session goes on without it\n`);
    }
  };
  // Loaded on demand, like the Openctrol server: other commands start faster without it.
  const [{ runSessionAgent }, { loadSessionPlatform }] = await Promise.all([
    import('../agent/session/session-agent.js'),
    import('../agent/session/robot-platform.js'),
  ]);
  try {
    const end = await runSessionAgent(
      { ...options, signal: abort.signal },
      io,
      () => loadSessionPlatform(io.env, (warning) => io.stderr.write(`rac agent: ${warning}\n`)),
      startCompanion,
    );
    if (end.exitCode !== 0) throw new CliError(end.message, end.exitCode);
    io.stderr.write(`${end.message}\n`);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await running?.close();
  }
}
