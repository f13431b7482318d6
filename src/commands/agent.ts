// rac agent: the customer's side. With --code it joins a support session (agent-session.ts); the
// Openctrol API mode (without --code) is built on its own branch, whose agent.ts replaces this one
// (it then adds addSessionOnlyOptions and calls runAgentSession when --code is given).
import { Command } from 'commander';
import { DEFAULT_FPS, DEFAULT_QUALITY } from '../agent/session/constants.js';
import { addSessionOnlyOptions, intIn, runAgentSession, sessionOptions } from './agent-session.js';
import { usageError } from './cli-error.js';
import type { CommandIo } from './io.js';

export function agentCommand(io: CommandIo): Command {
  const command = new Command('agent')
    .description("the customer's side: join a support session with --code (consent, screen sharing, remote input)")
    .option('--code <code>', 'the 9-digit session code your IT contact gave you')
    .option('--server <url>', 'the broker URL (default: $RAC_SERVER)')
    .option('--fps <n>', 'frames per second at most', intIn('--fps', 1, 60), DEFAULT_FPS)
    .option('--quality <n>', 'JPEG quality 1–100', intIn('--quality', 1, 100), DEFAULT_QUALITY)
    .option('--yes', 'allow the session without asking (unattended use)')
    .option('--view-only', 'share the screen but never inject mouse or keyboard input');
  return addSessionOnlyOptions(command).action(async (opts: Parameters<typeof sessionOptions>[0]) => {
    if (opts.code === undefined) throw usageError('--code is required (the Openctrol API mode without --code is not in this build)');
    await runAgentSession(sessionOptions(opts, io.env), io);
  });
}
