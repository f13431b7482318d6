// The agent's two conversations with the broker over HTTP: the code lookup
// (GET /api/sessions/{code}/info) and the customer-side WebSocket (/ws/session/{code}, no
// credentials at first, then the agent secret the broker handed out), which tells the agent who is
// connecting, carries the key exchange with each viewer, and says when the session ends.
import { EventEmitter } from 'node:events';
import { Agent, request } from 'undici';
import { WebSocket } from 'ws';
import {
  AGENT_SHELL_HEADER,
  CloseCode,
  Signal,
  type SessionStatus,
  type TunnelRefusal,
  agentShellHeader,
  parseSignalMessage,
} from '../../protocol/index.js';
import { isRelayHost } from '../../protocol/json-fields.js';
import { type TlsTrust, describeCertificateFailure, tlsConnectOptions } from '../../shared/tls-trust.js';

export interface SessionInfo {
  session_code: string;
  udp_port: number;
  status: SessionStatus;
  /** Where to send UDP when the broker names its relay (several broker nodes); else the broker's host. */
  relay_host?: string;
}

export type LookupFailure =
  | { kind: 'not_found'; message: string }
  | { kind: 'closed'; message: string }
  | { kind: 'throttled'; message: string; retryAfterMs: number }
  | { kind: 'unreachable'; message: string }
  /** The broker's certificate did not verify: retrying will not help. */
  | { kind: 'certificate'; message: string };

export type LookupResult = { ok: true; info: SessionInfo } | { ok: false; failure: LookupFailure };

const LOOKUP_TIMEOUT_MS = 10_000;

/** Looks a code up; never throws. */
export async function lookupSession(server: string, code: string, tls: TlsTrust = {}): Promise<LookupResult> {
  const url = `${server}/api/sessions/${encodeURIComponent(code)}/info`;
  let status: number;
  let body: unknown;
  let retryAfter: string | string[] | undefined;
  // One short-lived pool per lookup when a CA is added (lookups are minutes apart at most).
  const dispatcher = tls.ca ? new Agent({ connect: tlsConnectOptions(tls) }) : undefined;
  try {
    const res = await request(url, {
      method: 'GET',
      headersTimeout: LOOKUP_TIMEOUT_MS,
      bodyTimeout: LOOKUP_TIMEOUT_MS,
      dispatcher,
    });
    status = res.statusCode;
    retryAfter = res.headers['retry-after'];
    const text = await res.body.text();
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
  } catch (err) {
    const certificate = describeCertificateFailure(err, server, tls);
    if (certificate) return { ok: false, failure: { kind: 'certificate', message: certificate } };
    return { ok: false, failure: { kind: 'unreachable', message: `cannot reach the broker at ${server}: ${describeNetworkError(err)}` } };
  } finally {
    void dispatcher?.close();
  }
  const detail = (body as { detail?: unknown } | undefined)?.detail;
  if (status === 404)
    return {
      ok: false,
      failure: { kind: 'not_found', message: `no session with code ${code} on ${server}: check the code your IT contact gave you` },
    };
  if (status === 410)
    return { ok: false, failure: { kind: 'closed', message: `session ${code} has been closed: ask your IT contact for a new code` } };
  if (status === 429) {
    const seconds = Number(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter) || 30;
    return {
      ok: false,
      failure: {
        kind: 'throttled',
        message: `the broker refuses lookups from this address for ${seconds} s (too many wrong codes)`,
        retryAfterMs: seconds * 1000,
      },
    };
  }
  const info = body as Partial<SessionInfo> | undefined;
  if (status !== 200 || !info || typeof info.udp_port !== 'number' || typeof info.status !== 'string') {
    const why = typeof detail === 'string' ? `: ${detail}` : '';
    return { ok: false, failure: { kind: 'unreachable', message: `${server} did not answer like a rac broker (HTTP ${status}${why})` } };
  }
  if (info.status === 'closed')
    return { ok: false, failure: { kind: 'closed', message: `session ${code} has been closed: ask your IT contact for a new code` } };
  const relay = isRelayHost(info.relay_host) ? { relay_host: info.relay_host } : {};
  return { ok: true, info: { session_code: info.session_code ?? code, udp_port: info.udp_port, status: info.status, ...relay } };
}

function describeNetworkError(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.cause?.code ?? e.code;
  if (code === 'ECONNREFUSED') return 'connection refused (is the broker running?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  return e.cause?.message ?? e.message ?? String(err);
}

export interface AnnouncedViewer {
  viewer_id: number;
  full_name: string;
  email: string;
  commitment: string;
}

/** The broker took this agent in: its secret (first join) and the session id for the transcript. */
export interface AgentWelcome {
  sessionId: number;
  resumed: boolean;
  agentSecret?: string;
  /** On a resume, the viewers the broker still holds; undefined from an older broker. */
  viewers?: number[];
}

export interface SignalLinkEvents {
  open: [];
  /** The broker took this agent in: its secret (first join) and the session id for the transcript. */
  welcome: [welcome: AgentWelcome];
  /** Someone wants to connect and has committed to a key (docs/security.md). */
  viewer: [viewer: AnnouncedViewer];
  /** That viewer revealed its key. */
  viewerKey: [viewerId: number, publicKey: string];
  viewerLeft: [viewerId: number];
  /** An IT member opened a tunnel stream (`rac shell`, `rac cp`, `rac tunnel`): dial it or refuse it. */
  tunnelOpen: [request: { stream_id: number; full_name: string; email: string; token: string }];
  /** The broker ended the session (a `disconnect` message). */
  ended: [];
  close: [code: number, reason: string];
}

/** How long without any sign of life from the broker (its pings) before the link counts as dead. */
export const SIGNAL_SILENCE_MS = 40_000;

/** The header that makes a connection a resume of the agent that holds this secret. */
export const AGENT_SECRET_HEADER = 'x-rac-agent-secret';

/** One customer-side WebSocket connection. Reconnecting is the caller's job (a new SignalLink). */
export class SignalLink extends EventEmitter<SignalLinkEvents> {
  private readonly ws: WebSocket;
  private lastHeard = Date.now();
  private readonly watchdog: NodeJS.Timeout;

  /**
   * `agentSecret`: present when coming back (a resume); absent on the first join. `allowsShell`
   * (--allow-shell) is said as the agent joins, so the broker knows whether a host key is coming.
   */
  constructor(server: string, code: string, agentSecret?: string, tls: TlsTrust = {}, allowsShell = false) {
    super();
    const url = new URL(`/ws/session/${encodeURIComponent(code)}`, server);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const headers = {
      [AGENT_SHELL_HEADER]: agentShellHeader(allowsShell),
      ...(agentSecret && { [AGENT_SECRET_HEADER]: agentSecret }),
    };
    this.ws = new WebSocket(url, { handshakeTimeout: LOOKUP_TIMEOUT_MS, headers, ...tlsConnectOptions(tls) });
    const heard = () => (this.lastHeard = Date.now());
    this.ws.on('open', () => {
      heard();
      this.emit('open');
    });
    this.ws.on('ping', heard);
    this.ws.on('message', (data, isBinary) => {
      heard();
      if (!isBinary) this.onMessage(data as Buffer);
    });
    // 'error' is always followed by 'close'; handling it keeps it from being thrown.
    this.ws.on('error', () => undefined);
    this.ws.on('close', (code, reason) => {
      clearInterval(this.watchdog);
      this.emit('close', code, reason.toString());
    });
    this.watchdog = setInterval(() => {
      if (Date.now() - this.lastHeard > SIGNAL_SILENCE_MS) this.ws.terminate();
    }, 5000);
    this.watchdog.unref();
  }

  private onMessage(data: Buffer): void {
    const parsed = parseSignalMessage(data);
    if (!parsed.ok) return;
    const message = parsed.message;
    switch (message.type) {
      case 'agent_welcome':
        return void this.emit('welcome', {
          sessionId: message.session_id,
          resumed: message.resumed,
          agentSecret: message.agent_secret,
          viewers: message.viewers,
        });
      case 'viewer':
        return void this.emit('viewer', message);
      case 'viewer_key':
        return void this.emit('viewerKey', message.viewer_id, message.public_key);
      case 'viewer_left':
        return void this.emit('viewerLeft', message.viewer_id);
      case 'tunnel_open':
        return void this.emit('tunnelOpen', message);
      case 'disconnect':
        return void this.emit('ended');
      case 'ping':
        return this.ws.send(Signal.pong());
    }
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Answers a viewer's commitment with this agent's key for it. */
  sendAgentKey(viewerId: number, publicKey: string, sshHostKey?: string): void {
    if (this.isOpen) this.ws.send(Signal.agentKey(viewerId, publicKey, sshHostKey));
  }

  /** With --allow-shell: the SSH host key line the broker hands to `rac shell` (sent after each welcome). */
  sendAgentHostKey(publicLine: string): void {
    if (this.isOpen) this.ws.send(Signal.agentHostKey(publicLine));
  }

  sendTunnelRefused(streamId: number, reason: TunnelRefusal): void {
    if (this.isOpen) this.ws.send(Signal.tunnelRefused(streamId, reason));
  }

  /** Tells the broker the customer ended it, then closes. Resolves once the message is out. */
  async sendDisconnect(): Promise<void> {
    if (this.ws.readyState !== WebSocket.OPEN) return this.close();
    await new Promise<void>((resolve) => this.ws.send(Signal.disconnect(), () => resolve()));
    this.close();
  }

  close(): void {
    clearInterval(this.watchdog);
    if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    else if (this.ws.readyState === WebSocket.OPEN) this.ws.close(CloseCode.NORMAL, 'Agent stopped');
  }
}
