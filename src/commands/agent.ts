// rac agent: the customer's side. With --code it joins a support session (src/agent/session/);
// the Openctrol API mode (without --code) is built on its own branch and merged here by the lead.
import { Command, Option } from 'commander';
import { loadSessionPlatform } from '../agent/session/robot-platform.js';
import { runSessionAgent } from '../agent/session/session-agent.js';
import { DEFAULT_FPS, DEFAULT_QUALITY } from '../agent/session/constants.js';
import { MAX_CHUNK_PAYLOAD_BYTES } from '../protocol/index.js';
import { CliError, usageError } from './cli-error.js';
import type { CommandIo } from './io.js';

export interface AgentSessionOptions {
  code: string;
  server: string;
  fps: number;
  quality: number;
  maxWidth?: number;
  chunkSize?: number;
  yes: boolean;
  viewOnly: boolean;
}

function intIn(option: string, min: number, max: number) {
  return (text: string): number => {
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || n < min || n > max) throw usageError(`${option}: expected a whole number ${min}–${max}, got "${text}"`);
    return n;
  };
}

export function agentCommand(io: CommandIo): Command {
  return new Command('agent')
    .description("the customer's side: join a support session with --code (consent, screen sharing, remote input)")
    .option('--code <code>', 'the 9-digit session code your IT contact gave you')
    .option('--server <url>', 'the broker URL (default: $RAC_SERVER)')
    .option('--fps <n>', 'frames per second at most', intIn('--fps', 1, 60), DEFAULT_FPS)
    .option('--quality <n>', 'JPEG quality 1–100', intIn('--quality', 1, 100), DEFAULT_QUALITY)
    .option('--max-width <pixels>', 'shrink frames wider than this before sending', intIn('--max-width', 16, 16384))
    .addOption(
      new Option('--chunk-size <bytes>', 'JPEG bytes per UDP datagram (default: datagrams of at most 1200 bytes; 60000 is the reference client)').argParser(
        intIn('--chunk-size', 1, MAX_CHUNK_PAYLOAD_BYTES),
      ),
    )
    .option('--yes', 'allow the session without asking (unattended use)')
    .option('--view-only', 'share the screen but never inject mouse or keyboard input')
    .action(async (opts: Partial<AgentSessionOptions>) => {
      if (!opts.code) throw usageError('--code is required (the Openctrol API mode without --code is not in this build)');
      const code = opts.code.replace(/[\s-]/g, '');
      if (!/^\d{9}$/.test(code)) throw usageError(`--code: expected the 9-digit session code, got "${opts.code}"`);
      const server = (opts.server ?? io.env.RAC_SERVER)?.replace(/\/+$/, '');
      if (!server) throw usageError('--server is required (or set RAC_SERVER)');
      if (!URL.canParse(server) || !/^https?:$/.test(new URL(server).protocol)) throw usageError(`--server: expected an http(s) URL, got "${server}"`);
      await runAgentSession({ ...(opts as AgentSessionOptions), code, server, yes: opts.yes === true, viewOnly: opts.viewOnly === true }, io);
    });
}

export async function runAgentSession(options: AgentSessionOptions, io: CommandIo): Promise<void> {
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const end = await runSessionAgent({ ...options, signal: abort.signal }, io, () =>
      loadSessionPlatform(io.env, (warning) => io.stderr.write(`rac agent: ${warning}\n`)),
    );
    if (end.exitCode !== 0) throw new CliError(end.message, end.exitCode);
    io.stderr.write(`${end.message}\n`);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
