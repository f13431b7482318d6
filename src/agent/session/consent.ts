// Asking the customer before anything is shown or controlled. Only a terminal can answer: with
// stdin not a TTY the agent refuses unless --yes was given (checked before it connects). The
// question names the viewer (made terminal-safe: the name comes from the broker's user table) and
// shows the security code both people compare.
import { createInterface } from 'node:readline';
import { terminalSafe } from '../../protocol/index.js';

export interface Viewer {
  full_name: string;
  email: string;
}

/** "Jane Tech (jane@example.com)", safe to print. */
export function describeViewer(viewer: Viewer): string {
  const name = terminalSafe(viewer.full_name, 120);
  const email = terminalSafe(viewer.email, 120);
  return viewer.full_name && viewer.full_name !== viewer.email ? `${name} (${email})` : email;
}

export function consentQuestion(viewer: Viewer, viewOnly: boolean, sas: string): string {
  const what = viewOnly ? 'wants to see this computer (view only)' : 'wants to see and control this computer';
  return (
    `${describeViewer(viewer)} ${what}.\n` +
    `Security code: ${sas}. Ask them to read the code on their screen: if it is not the same, answer no.\n` +
    `Allow? [y/N] `
  );
}

/** The separate question for `rac shell` / `rac cp` / `rac tunnel` (agents started with --allow-shell). */
export function shellConsentQuestion(viewer: Viewer): string {
  const name = terminalSafe(viewer.full_name || viewer.email, 120);
  const email = terminalSafe(viewer.email, 120);
  return (
    `${name} <${email}> asks for a terminal on this computer: they could run commands and read, change or copy your files, as you.\n` +
    `Allow ${name} <${email}> to open a terminal and transfer files? [y/N] `
  );
}

export interface ConsentPrompt {
  answer: Promise<boolean>;
  /** Withdraws the question (the agent is stopping); the answer becomes false. */
  cancel(): void;
}

/** Asks once on the terminal; only "y" or "yes" allows. End of input or Ctrl-C refuses. */
export function askConsent(input: NodeJS.ReadableStream, output: NodeJS.WritableStream, question: string): ConsentPrompt {
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
    rl.question(question, (text) => settle(/^\s*y(es)?\s*$/i.test(text)));
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

/**
 * The customer's terminal, one question at a time: a viewer is asked about only when nothing is
 * on screen, and a terminal question waits for whatever is.
 */
export class CustomerQuestions {
  private prompt: ConsentPrompt | undefined;

  constructor(
    private readonly input: NodeJS.ReadableStream,
    private readonly output: NodeJS.WritableStream,
  ) {}

  /** A question is on screen, waiting for its answer. */
  get asking(): boolean {
    return this.prompt !== undefined;
  }

  /** Asks now (nothing may be on screen); `answered` runs once the question is off the screen. */
  ask(question: string, answered: (allowed: boolean) => void): void {
    const prompt = askConsent(this.input, this.output, question);
    this.prompt = prompt;
    void prompt.answer.then((allowed) => {
      this.prompt = undefined;
      answered(allowed);
    });
  }

  /** Asks once every question on screen is answered; undefined when `stillWanted` says no by then. */
  async askInTurn(question: string, stillWanted: () => boolean): Promise<boolean | undefined> {
    while (this.prompt) await this.prompt.answer;
    if (!stillWanted()) return undefined;
    const prompt = askConsent(this.input, this.output, question);
    this.prompt = prompt;
    const allowed = await prompt.answer;
    this.prompt = undefined;
    return allowed;
  }

  /** Withdraws the question on screen (the agent is ending): it counts as no. */
  cancel(): void {
    this.prompt?.cancel();
  }
}
