// The session agent's side of `rac shell`, `rac cp` and `rac tunnel` (--allow-shell): its SSH server,
// the dialler of the tunnels' agent ends, and the customer's answer for each IT member, asked once.
import type { ShellUser } from '../shell/activity-log.js';
import type { HostKey } from '../shell/host-key.js';
import type { TunnelRefusal } from '../../protocol/index.js';
import type { TlsTrust } from '../../shared/tls-trust.js';
import { ShellServer } from '../shell/ssh-server.js';
import { TunnelConnector, type TunnelOpen } from '../shell/tunnel-connector.js';
import { describeViewer } from './consent.js';

export interface AgentShellHooks {
  server: string;
  code: string;
  /** The CA file's trust, for an https broker signed by a private CA. */
  tls?: TlsTrust;
  /** --yes: every IT member may, without a question. */
  yes: boolean;
  agentSecret(): string | undefined;
  sessionId(): number | undefined;
  refuse(streamId: number, reason: TunnelRefusal): void;
  say(line: string): void;
  /** Asks the customer on the terminal (after any question already there); undefined if the agent is ending. */
  ask(user: ShellUser): Promise<boolean | undefined>;
  /** The customer answered: the terminal is free for the next question. */
  answered(): void;
}

export class AgentShell {
  private readonly server: ShellServer;
  private readonly connector: TunnelConnector;
  /** The customer's answers, by IT member's email. */
  private readonly answers = new Map<string, boolean>();
  private questions: Promise<unknown> = Promise.resolve();

  constructor(
    readonly hostKey: HostKey,
    private readonly hooks: AgentShellHooks,
  ) {
    this.server = new ShellServer({ hostKey: hostKey.privateKey, log: hooks.say });
    this.connector = new TunnelConnector({
      server: hooks.server,
      code: hooks.code,
      tls: hooks.tls,
      allowShell: true,
      agentSecret: hooks.agentSecret,
      sessionId: hooks.sessionId,
      consent: (user) => this.consent(user),
      refuse: hooks.refuse,
      shell: this.server,
      say: hooks.say,
    });
  }

  /** The broker asked for a tunnel stream: verify it, ask the customer, dial. */
  open(request: TunnelOpen): void {
    void this.connector.open(request);
  }

  close(): void {
    this.connector.close();
    this.server.close();
  }

  /** The customer's answer for this IT member's terminal (asked once, after any question already on screen). */
  private consent(user: ShellUser): Promise<boolean> {
    if (this.hooks.yes) return Promise.resolve(true);
    const asked = this.questions.then(() => this.answerFor(user));
    this.questions = asked.catch(() => undefined);
    return asked;
  }

  private async answerFor(user: ShellUser): Promise<boolean> {
    const known = this.answers.get(user.email);
    if (known !== undefined) return known;
    const allowed = await this.hooks.ask(user);
    if (allowed === undefined) return false;
    this.answers.set(user.email, allowed);
    const who = describeViewer({ full_name: user.fullName, email: user.email });
    this.hooks.say(allowed ? `${who} may open terminals and transfer files; each is shown here.` : `Refused: ${who} gets no terminal.`);
    this.hooks.answered();
    return allowed;
  }
}
