// How `rac agent --code` ends: its exit codes, and the line it prints when the broker said no.
import { CloseCode } from '../../protocol/index.js';
import type { LookupFailure } from './broker-link.js';

/** How the agent ended: the process exit code and the line to print. */
export interface SessionEnd {
  exitCode: number;
  message: string;
}

export const EXIT = { ok: 0, failure: 1, usage: 2, notFound: 4 } as const;

/** The session lookup failed: nothing to join. */
export function lookupEnd(failure: LookupFailure): SessionEnd {
  return { exitCode: failure.kind === 'not_found' ? EXIT.notFound : EXIT.failure, message: failure.message };
}

/** How a close the broker meant as "no" ends the agent; undefined when reconnecting may help. */
export function refusalEnd(code: number, reason: string, sessionCode: string): SessionEnd | undefined {
  if (code === CloseCode.SESSION_GONE && /not found/i.test(reason)) {
    return { exitCode: EXIT.notFound, message: `session ${sessionCode} no longer exists on the broker` };
  }
  if (code === CloseCode.SESSION_GONE || (code === CloseCode.NORMAL && /closed/i.test(reason))) {
    return { exitCode: EXIT.ok, message: 'The session has been closed.' };
  }
  if (code === CloseCode.AGENT_ALREADY_CONNECTED) {
    return {
      exitCode: EXIT.failure,
      message: `another agent is already connected to session ${sessionCode} (is rac agent running in another window?); this one stops`,
    };
  }
  if (code === CloseCode.BAD_AGENT_SECRET) {
    return {
      exitCode: EXIT.failure,
      message: 'the broker no longer accepts this agent (another one joined with the code); this one stops',
    };
  }
  return undefined;
}
