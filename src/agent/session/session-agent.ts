// `rac agent --code`: the customer's side of a session. Looks the code up, waits on the session
// WebSocket for the IT member, asks the customer (unless --yes), then hands over to ScreenStream
// (UDP handshake, frames, input). Nothing goes out over UDP before consent. If the broker goes away
// it reconnects with backoff and resumes; a `disconnect` from the broker or Ctrl-C ends it.
import { type LookupFailure, CloseCode, SignalLink, lookupSession } from './broker-link.js';
import { type ConsentPrompt, type Viewer, askConsent } from './consent.js';
import type { DesktopPlatform as SessionPlatform } from '../platform/desktop-platform.js';
import { ScreenStream } from './screen-stream.js';
import { backoffDelay } from '../../shared/backoff.js';

export interface SessionAgentOptions {
  code: string;
  /** Broker base URL, e.g. https://rac.example.com (no trailing slash needed). */
  server: string;
  fps: number;
  quality: number;
  maxWidth?: number;
  /** JPEG bytes per type-1 datagram; default: datagrams of at most 1200 bytes. */
  chunkSize?: number;
  yes: boolean;
  viewOnly: boolean;
  /** Aborting it is Ctrl-C: tell the broker, let go of the desktop, end. */
  signal?: AbortSignal;
}

export interface SessionAgentIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
}

/** How the agent ended: the process exit code and the line to print. */
export interface SessionEnd {
  exitCode: number;
  message: string;
}

const EXIT = { ok: 0, failure: 1, usage: 2, notFound: 4 } as const;

export async function runSessionAgent(
  options: SessionAgentOptions,
  io: SessionAgentIo,
  loadPlatform: () => Promise<SessionPlatform>,
  /** Runs once the code and the desktop checked out, before connecting (e.g. start a companion service). */
  beforeConnect?: () => Promise<void>,
): Promise<SessionEnd> {
  if (!options.yes && io.stdin.isTTY !== true) {
    return {
      exitCode: EXIT.usage,
      message:
        'cannot ask for your permission: stdin is not a terminal. Run this in a terminal, or add --yes to allow the session without asking',
    };
  }
  const first = await lookupSession(options.server, options.code);
  if (!first.ok) return lookupEnd(first.failure);
  // Find out now, not after the customer said yes, whether there is a desktop to share.
  let platform: SessionPlatform;
  try {
    platform = await loadPlatform();
  } catch (err) {
    return { exitCode: EXIT.failure, message: `cannot share the screen: ${(err as Error).message}` };
  }
  await beforeConnect?.();
  return new SessionAgent(options, io, platform, first.info.udp_port).run();
}

function lookupEnd(failure: LookupFailure): SessionEnd {
  return { exitCode: failure.kind === 'not_found' ? EXIT.notFound : EXIT.failure, message: failure.message };
}

function brokerHost(server: string): string {
  return new URL(server).hostname.replace(/^\[(.*)\]$/, '$1');
}

class SessionAgent {
  private readonly stream: ScreenStream;
  private link: SignalLink | undefined;
  private udpPort: number;

  private readonly consented = new Set<string>();
  private prompt: ConsentPrompt | undefined;
  private readonly waitingViewers: Viewer[] = [];
  private starting: Promise<void> | undefined;

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
    platform: SessionPlatform,
    udpPort: number,
  ) {
    this.udpPort = udpPort;
    this.stream = new ScreenStream({
      platform,
      brokerHost: brokerHost(options.server),
      sessionCode: options.code,
      fps: options.fps,
      quality: options.quality,
      maxWidth: options.maxWidth,
      chunkSize: options.chunkSize,
      viewOnly: options.viewOnly,
      say: (line) => this.say(line),
      onBrokerDisconnect: (reason) => this.onUdpDisconnect(reason),
    });
  }

  run(): Promise<SessionEnd> {
    const done = new Promise<SessionEnd>((resolve) => (this.resolveEnd = resolve));
    const signal = this.options.signal;
    if (signal?.aborted) return Promise.resolve({ exitCode: EXIT.ok, message: 'Stopped before connecting.' });
    signal?.addEventListener('abort', () => void this.stopByCustomer(), { once: true });
    this.say(`Session ${this.options.code}: waiting for your IT contact to connect. Press Ctrl-C to cancel.`);
    this.connect();
    return done;
  }

  // ------------------------------------------------------------------------------ signalling

  private connect(): void {
    const link = new SignalLink(this.options.server, this.options.code);
    this.link = link;
    link.on('open', () => {
      this.reconnectAttempt = 0;
      if (this.everOpened) this.say('Reconnected to the broker.');
      this.everOpened = true;
      // A viewer this customer already allowed is announced again by the broker; it resumes then.
    });
    link.on('viewer', (viewer) => this.onViewer(viewer));
    link.on('ended', () => this.finish({ exitCode: EXIT.ok, message: 'Your IT contact ended the session.' }));
    link.on('close', (code, reason) => {
      if (this.link !== link || this.ended) return;
      this.link = undefined;
      if (code === CloseCode.POLICY && /not found/i.test(reason)) {
        return this.finish({ exitCode: EXIT.notFound, message: `session ${this.options.code} no longer exists on the broker` });
      }
      if (code === CloseCode.POLICY || (code === CloseCode.NORMAL && /closed/i.test(reason))) {
        return this.finish({ exitCode: EXIT.ok, message: 'The session has been closed.' });
      }
      if (code === CloseCode.REPLACED) {
        return this.finish({ exitCode: EXIT.failure, message: 'another agent connected with this session code; this one stops' });
      }
      this.stream.pause();
      this.scheduleReconnect(code === CloseCode.RESTART ? 'the broker is restarting' : 'lost the connection to the broker');
    });
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
    const lookup = await lookupSession(this.options.server, this.options.code);
    if (this.ended) return;
    if (!lookup.ok) {
      const failure = lookup.failure;
      if (failure.kind === 'not_found') return this.finish(lookupEnd(failure));
      if (failure.kind === 'closed') return this.finish({ exitCode: EXIT.ok, message: 'The session has been closed.' });
      return this.scheduleReconnect(failure.message, failure.kind === 'throttled' ? failure.retryAfterMs : 0);
    }
    // Ports survive a broker restart, but follow the broker if it hands out another one.
    this.udpPort = lookup.info.udp_port;
    this.connect();
  }

  // ---------------------------------------------------------------------------------- consent

  private onViewer(viewer: Viewer): void {
    if (this.ended) return;
    if (this.consented.has(viewer.email)) {
      void this.startStreaming(viewer);
      return;
    }
    if (this.options.yes) {
      this.consented.add(viewer.email);
      this.say(`Allowed without asking (--yes): ${describe(viewer)}.`);
      void this.startStreaming(viewer);
      return;
    }
    if (this.prompt) {
      if (!this.waitingViewers.some((v) => v.email === viewer.email)) this.waitingViewers.push(viewer);
      return;
    }
    // Someone new: nothing is shown or controlled until the customer says yes.
    this.stream.pause({ keepalive: true });
    this.ask(viewer);
  }

  private ask(viewer: Viewer): void {
    const prompt = askConsent(this.io.stdin, this.io.stderr, viewer, this.options.viewOnly);
    this.prompt = prompt;
    void prompt.answer.then((allowed) => {
      this.prompt = undefined;
      if (this.ended || this.stopping) return;
      if (!allowed) {
        void this.link?.sendDisconnect();
        this.finish({ exitCode: EXIT.failure, message: `You did not allow ${describe(viewer)}: nothing was shared.` });
        return;
      }
      this.consented.add(viewer.email);
      const next = this.waitingViewers.shift();
      if (next && !this.consented.has(next.email)) return this.ask(next);
      void this.startStreaming(viewer);
    });
  }

  // -------------------------------------------------------------------------------- streaming

  private startStreaming(viewer: Viewer): Promise<void> {
    if (this.stream.active || this.ended || this.prompt || !this.link?.isOpen) return Promise.resolve();
    this.starting ??= this.stream
      .start(this.udpPort, () => !this.ended && !this.prompt && this.link?.isOpen === true)
      .then((live) => {
        if (!live) return;
        const what = this.options.viewOnly ? 'can see this computer (view only)' : 'can see and control this computer';
        this.say(`Connected: ${describe(viewer)} ${what}. Press Ctrl-C to stop sharing.`);
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
    this.prompt?.cancel();
    const wasStreaming = this.stream.active;
    this.stream.pause();
    // Both sides hear it at once: the viewer over UDP (relayed), the broker over the WebSocket.
    const told = Promise.all([this.stream.sendDisconnect(), this.link?.sendDisconnect()]);
    await Promise.race([told, new Promise((resolve) => setTimeout(resolve, 500))]);
    this.finish({ exitCode: EXIT.ok, message: wasStreaming ? 'Stopped: your screen is no longer shared.' : 'Stopped.' });
  }

  private finish(end: SessionEnd): void {
    if (this.ended) return;
    this.ended = end;
    this.prompt?.cancel();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.link?.close();
    this.stream.close();
    if (this.stream.everStarted) this.say(this.stream.summary());
    this.resolveEnd(end);
  }

  private say(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }
}

function describe(viewer: Viewer): string {
  return viewer.full_name && viewer.full_name !== viewer.email ? `${viewer.full_name} (${viewer.email})` : viewer.email;
}

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
const formatSeconds = (ms: number) => `${(ms / 1000).toFixed(ms < 1000 ? 1 : 0)} s`;
