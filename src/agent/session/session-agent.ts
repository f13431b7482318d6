// `rac agent --code`: the customer's side of a session. Looks the code up, joins the session
// WebSocket (and gets the agent secret), runs a key exchange with each IT member who connects,
// asks the customer showing the security code (unless --yes), then hands the allowed viewer to
// ScreenStream (UDP handshake, sealed frames, input). Nothing goes out over UDP before consent. If
// the broker goes away it reconnects with its secret and resumes; a `disconnect` from the broker or
// Ctrl-C ends it.
import type { TlsTrust } from '../../shared/tls-trust.js';
import { CloseCode } from '../../protocol/index.js';
import { AgentShell } from './agent-shell.js';
import { AgentViewers, type KeyedViewer } from './agent-viewers.js';
import { type AgentWelcome, type AnnouncedViewer, SignalLink, lookupSession } from './broker-link.js';
import { CustomerQuestions, consentQuestion, describeViewer, shellConsentQuestion } from './consent.js';
import type { DesktopPlatform as SessionPlatform } from '../platform/desktop-platform.js';
import { type RelayAddress, ScreenStream } from './screen-stream.js';
import { backoffDelay } from '../../shared/backoff.js';
import type { HostKey } from '../shell/host-key.js';
import type { ShellUser } from '../shell/activity-log.js';
import { EXIT, type SessionEnd, lookupEnd, refusalEnd } from './session-end.js';
import { type Ready, preflight, relayOf } from './session-preflight.js';

export type { SessionEnd } from './session-end.js';

export interface SessionAgentOptions {
  code: string;
  /** Broker base URL, e.g. https://rac.example.com (no trailing slash needed). */
  server: string;
  /** Extra CAs for an HTTPS broker (--ca-file). */
  tls?: TlsTrust;
  fps: number;
  quality: number;
  maxWidth?: number;
  /** JPEG bytes per type-1 datagram; default: datagrams of at most 1200 bytes. */
  chunkSize?: number;
  yes: boolean;
  viewOnly: boolean;
  /** --allow-shell: IT members may ask for a terminal and file transfers (`rac shell`, `rac cp`), each asked separately. */
  allowShell?: boolean;
  /** Where the SSH host key is kept (the agent's config directory); required with allowShell. */
  configDir?: string;
  /** Aborting it is Ctrl-C: tell the broker, let go of the desktop, end. */
  signal?: AbortSignal;
}

export interface SessionAgentIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
}

export async function runSessionAgent(
  options: SessionAgentOptions,
  io: SessionAgentIo,
  loadPlatform: () => Promise<SessionPlatform>,
  /** Runs once the code and the desktop checked out, before connecting (e.g. start a companion service). */
  beforeConnect?: () => Promise<void>,
): Promise<SessionEnd> {
  const ready = await preflight(options, io.stdin, loadPlatform);
  if ('exitCode' in ready) return ready;
  await beforeConnect?.();
  return new SessionAgent(options, io, ready).run();
}

function brokerHost(server: string): string {
  return new URL(server).hostname.replace(/^\[(.*)\]$/, '$1');
}

class SessionAgent {
  private readonly stream: ScreenStream;
  private readonly viewers: AgentViewers;
  private link: SignalLink | undefined;
  private relay: RelayAddress;
  private agentSecret: string | undefined;
  private sessionId: number | undefined;

  private readonly questions: CustomerQuestions;
  private starting: Promise<void> | undefined;

  /** With --allow-shell: the SSH server, the tunnel dialler, and the customer's answers by email. */
  private readonly shell: AgentShell | undefined;

  private reconnectAttempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private everOpened = false;
  private ended: SessionEnd | undefined;
  /** Ctrl-C was pressed: answers and events still in flight no longer decide how it ends. */
  private stopping = false;
  private resolveEnd: (end: SessionEnd) => void = () => undefined;

  constructor(
    private readonly options: SessionAgentOptions,
    private readonly io: SessionAgentIo,
    { platform, relay, hostKey }: Ready,
  ) {
    this.relay = relay;
    this.questions = new CustomerQuestions(io.stdin, io.stderr);
    this.shell = hostKey && this.shellSide(hostKey);
    this.stream = new ScreenStream({
      platform,
      brokerHost: brokerHost(options.server),
      sessionCode: options.code,
      agentSecret: () => this.agentSecret,
      fps: options.fps,
      quality: options.quality,
      maxWidth: options.maxWidth,
      chunkSize: options.chunkSize,
      viewOnly: options.viewOnly,
      say: (line) => this.say(line),
      onBrokerDisconnect: (reason) => this.onUdpDisconnect(reason),
    });
    const { code, yes } = options;
    this.viewers = new AgentViewers({ code, yes, sshHostKey: hostKey?.publicLine, stream: this.stream, say: (line) => this.say(line) });
  }

  run(): Promise<SessionEnd> {
    const done = new Promise<SessionEnd>((resolve) => (this.resolveEnd = resolve));
    const signal = this.options.signal;
    if (signal?.aborted) return Promise.resolve({ exitCode: EXIT.ok, message: 'Stopped before connecting.' });
    signal?.addEventListener('abort', () => void this.stopByCustomer(), { once: true });
    this.say(`Session ${this.options.code}: waiting for your IT contact to connect. Press Ctrl-C to cancel.`);
    if (this.shell)
      this.say(
        `Terminal access is possible (--allow-shell); ${this.options.yes ? 'allowed without asking (--yes)' : 'you will be asked first'}. ` +
          `This computer's SSH key: ${this.shell.hostKey.fingerprint}`,
      );
    this.connect();
    return done;
  }

  // ------------------------------------------------------------------------------ signalling

  private connect(): void {
    const link = new SignalLink(this.options.server, this.options.code, this.agentSecret, this.options.tls, this.shell !== undefined);
    this.link = link;
    link.on('open', () => {
      this.reconnectAttempt = 0;
      if (this.everOpened) this.say('Reconnected to the broker.');
      this.everOpened = true;
    });
    link.on('welcome', (welcome) => this.onWelcome(welcome));
    link.on('viewer', (viewer) => this.onViewerAnnounced(viewer));
    link.on('viewerKey', (viewerId, publicKey) => this.onViewerKey(viewerId, publicKey));
    link.on('viewerLeft', (viewerId) => this.viewers.left(viewerId, this.ended !== undefined));
    link.on('tunnelOpen', (request) => {
      if (this.shell) this.shell.open(request);
      else link.sendTunnelRefused(request.stream_id, 'shell_not_allowed');
    });
    link.on('ended', () => this.finish({ exitCode: EXIT.ok, message: 'Your IT contact ended the session.' }));
    link.on('close', (code, reason) => {
      if (this.link !== link || this.ended) return;
      this.link = undefined;
      this.onLinkClosed(code, reason);
    });
  }

  private onLinkClosed(code: number, reason: string): void {
    const refused = refusalEnd(code, reason, this.options.code);
    if (refused) return this.finish(refused);
    this.stream.pause();
    this.scheduleReconnect(code === CloseCode.RESTARTING ? 'the broker is restarting' : 'lost the connection to the broker');
  }

  private onWelcome(welcome: AgentWelcome): void {
    this.sessionId = welcome.sessionId;
    // The broker keeps the host key in memory only: tell it again after every (re)join.
    if (this.shell) this.link?.sendAgentHostKey(this.shell.hostKey.publicLine);
    if (welcome.resumed) return this.ended ? undefined : this.viewers.forgetGhosts(welcome.viewers);
    if (!welcome.agentSecret) return;
    // A first join, or the broker no longer knew us: a new identity, every exchange starts over.
    if (this.agentSecret) this.viewers.startOver();
    this.agentSecret = welcome.agentSecret;
  }

  private scheduleReconnect(why: string, minDelayMs = 0): void {
    if (this.ended) return;
    const delay = Math.max(minDelayMs, backoffDelay(this.reconnectAttempt));
    this.reconnectAttempt++;
    this.say(`${capitalize(why)}; reconnecting in ${formatSeconds(delay)}…`);
    this.reconnectTimer = setTimeout(() => void this.reconnect(), delay);
  }

  private async reconnect(): Promise<void> {
    this.reconnectTimer = undefined;
    if (this.ended) return;
    const lookup = await lookupSession(this.options.server, this.options.code, this.options.tls);
    if (this.ended) return;
    if (!lookup.ok) {
      const failure = lookup.failure;
      if (failure.kind === 'not_found' || failure.kind === 'certificate') return this.finish(lookupEnd(failure));
      if (failure.kind === 'closed') return this.finish({ exitCode: EXIT.ok, message: 'The session has been closed.' });
      return this.scheduleReconnect(failure.message, failure.kind === 'throttled' ? failure.retryAfterMs : 0);
    }
    // Ports survive a broker restart, but follow the broker if it hands out another one.
    this.relay = relayOf(lookup.info);
    this.connect();
  }

  // ------------------------------------------------------------------------- key exchange

  private onViewerAnnounced(viewer: AnnouncedViewer): void {
    if (this.ended) return;
    this.link?.sendAgentKey(viewer.viewer_id, this.viewers.announce(viewer), this.shell?.hostKey.publicLine);
  }

  private onViewerKey(viewerId: number, publicKey: string): void {
    if (this.ended || this.sessionId === undefined) return;
    const keyed = this.viewers.keyed(viewerId, publicKey, this.sessionId);
    if (keyed) this.onViewerKeyed(keyed);
  }

  // ---------------------------------------------------------------------------------- consent

  private onViewerKeyed(keyed: KeyedViewer): void {
    if (this.viewers.allowedBefore(keyed)) return this.allow(keyed);
    if (this.questions.asking) return this.viewers.queue(keyed);
    // Someone new: nothing is shown or controlled until the customer says yes.
    this.stream.pause({ keepalive: true });
    this.ask(keyed);
  }

  private ask(keyed: KeyedViewer): void {
    const question = consentQuestion(keyed.viewer, this.options.viewOnly, keyed.peer.sas);
    this.questions.ask(question, (allowed) => {
      if (this.ended || this.stopping) return;
      if (!allowed) {
        void this.link?.sendDisconnect();
        this.finish({ exitCode: EXIT.failure, message: `You did not allow ${describeViewer(keyed.viewer)}: nothing was shared.` });
        return;
      }
      this.viewers.rememberAllowed(keyed.viewer);
      this.allow(keyed);
      this.askNext();
    });
  }

  /** A question was answered: the next viewer waiting for one, if any. */
  private askNext(): void {
    const next = this.viewers.nextWaiting();
    if (next) this.onViewerKeyed(next);
  }

  /** The customer allowed this viewer (now or before): seal the stream to it and go live. */
  private allow(keyed: KeyedViewer): void {
    if (this.viewers.admit(keyed)) void this.startStreaming(keyed.viewer, keyed.peer.sas);
  }

  // ------------------------------------------------------------------------------------ shell

  private shellSide(hostKey: HostKey): AgentShell {
    return new AgentShell(hostKey, {
      server: this.options.server,
      code: this.options.code,
      tls: this.options.tls,
      yes: this.options.yes,
      agentSecret: () => this.agentSecret,
      sessionId: () => this.sessionId,
      refuse: (streamId, reason) => this.link?.sendTunnelRefused(streamId, reason),
      say: (line) => this.say(line),
      ask: (user) => this.askShell(user),
      answered: () => this.askNext(),
    });
  }

  /** Asks about this IT member's terminal, after any question already on screen; undefined when ending. */
  private async askShell(user: ShellUser): Promise<boolean | undefined> {
    const question = shellConsentQuestion({ full_name: user.fullName, email: user.email });
    const allowed = await this.questions.askInTurn(question, () => !this.ended && !this.stopping);
    return this.ended || this.stopping ? undefined : allowed;
  }

  // -------------------------------------------------------------------------------- streaming

  private startStreaming(viewer: AnnouncedViewer, sas: string): Promise<void> {
    if (this.stream.active || this.ended || this.questions.asking || !this.link?.isOpen) return Promise.resolve();
    this.starting ??= this.stream
      .start(this.relay, () => !this.ended && !this.questions.asking && this.link?.isOpen === true)
      .then((live) => {
        if (!live) return;
        const what = this.options.viewOnly ? 'can see this computer (view only)' : 'can see and control this computer';
        this.say(`Connected: ${describeViewer(viewer)} ${what}. Security code ${sas}. Press Ctrl-C to stop sharing.`);
      })
      .catch((err: Error) => this.finish({ exitCode: EXIT.failure, message: `cannot share the screen: ${err.message}` }))
      .finally(() => (this.starting = undefined));
    return this.starting;
  }

  private onUdpDisconnect(reason: string | undefined): void {
    if (this.ended) return;
    // A restarting broker says so; its WebSocket closes with 1012 and the reconnect loop takes over.
    if (reason === 'shutdown') return this.stream.pause();
    this.finish({ exitCode: EXIT.ok, message: 'Your IT contact ended the session.' });
  }

  // ---------------------------------------------------------------------------------- the end

  private async stopByCustomer(): Promise<void> {
    if (this.ended || this.stopping) return;
    this.stopping = true;
    this.questions.cancel();
    const wasStreaming = this.stream.active;
    this.stream.pause();
    // Both sides hear it at once: the viewers over UDP (sealed, relayed), the broker over the WebSocket.
    const told = Promise.all([this.stream.sendDisconnect(), this.link?.sendDisconnect()]);
    await Promise.race([told, new Promise((resolve) => setTimeout(resolve, 500))]);
    this.finish({ exitCode: EXIT.ok, message: wasStreaming ? 'Stopped: your screen is no longer shared.' : 'Stopped.' });
  }

  private finish(end: SessionEnd): void {
    if (this.ended) return;
    this.ended = end;
    this.questions.cancel();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.link?.close();
    this.shell?.close();
    this.stream.close();
    if (this.stream.everStarted) this.say(this.stream.summary());
    this.resolveEnd(end);
  }

  private say(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }
}

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
const formatSeconds = (ms: number) => `${(ms / 1000).toFixed(ms < 1000 ? 1 : 0)} s`;
