// Asking the customer before anything is shown or controlled. Only a terminal can answer: with
// stdin not a TTY the agent refuses unless --yes was given (checked before it connects).
import { createInterface } from 'node:readline';

export interface Viewer {
  full_name: string;
  email: string;
}

export function consentQuestion(viewer: Viewer, viewOnly: boolean): string {
  const who = viewer.full_name && viewer.full_name !== viewer.email ? `${viewer.full_name} (${viewer.email})` : viewer.email;
  return viewOnly
    ? `${who} wants to see this computer (view only). Allow? [y/N] `
    : `${who} wants to see and control this computer. Allow? [y/N] `;
}

export interface ConsentPrompt {
  answer: Promise<boolean>;
  /** Withdraws the question (the agent is stopping); the answer becomes false. */
  cancel(): void;
}

/** Asks once on the terminal; only "y" or "yes" allows. End of input or Ctrl-C refuses. */
export function askConsent(input: NodeJS.ReadableStream, output: NodeJS.WritableStream, viewer: Viewer, viewOnly: boolean): ConsentPrompt {
  const rl = createInterface({ input, output, terminal: (input as { isTTY?: boolean }).isTTY === true });
  let settle: (allowed: boolean) => void = () => undefined;
  const answer = new Promise<boolean>((resolve) => {
    let done = false;
    settle = (allowed) => {
      if (done) return;
      done = true;
      rl.close();
      resolve(allowed);
    };
    rl.question(consentQuestion(viewer, viewOnly), (text) => settle(/^\s*y(es)?\s*$/i.test(text)));
    rl.on('close', () => settle(false));
    // On a terminal readline takes Ctrl-C itself: treat it as "no" and let the agent stop.
    rl.on('SIGINT', () => {
      output.write('\n');
      settle(false);
      process.emit('SIGINT');
    });
  });
  return { answer, cancel: () => settle(false) };
}
