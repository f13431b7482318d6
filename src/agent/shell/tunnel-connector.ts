// The agent's side of `rac shell` / `rac cp` / `rac tunnel`: on the broker's `tunnel_open` it checks
// the stream token with the session's agent secret (bound to this session and stream, ≤ 60 s),
// asks the customer (once per IT member, unless --yes), then dials the tunnel WebSocket for that
// stream with its agent secret and hands the bytes to the SSH server. Anything else is answered
// with `tunnel_refused` and nothing is dialled.
import type { Duplex } from 'node:stream';
import { type TunnelRefusal, verifyTunnelToken } from '../../protocol/index.js';
import type { TlsTrust } from '../../shared/tls-trust.js';
import { dialTunnel } from '../../shared/tunnel-dial.js';
import type { TunnelSocket } from '../../shared/tunnel-socket.js';
import { tunnelStream } from '../../shared/tunnel-stream.js';
import { AGENT_SECRET_HEADER } from '../session/broker-link.js';
import { type ShellUser, whoIs } from './activity-log.js';
import type { ShellServer } from './ssh-server.js';

const DIAL_TIMEOUT_MS = 10_000;

export interface TunnelOpen {
  stream_id: number;
  full_name: string;
  email: string;
  token: string;
}

export interface TunnelConnectorOptions {
  /** Broker base URL and session code: the tunnel is /ws/session/{code}/tunnel?stream=N. */
  server: string;
  code: string;
  /** The CA file's trust, for an https broker signed by a private CA. */
  tls?: TlsTrust;
  /** --allow-shell was given. */
  allowShell: boolean;
  agentSecret(): string | undefined;
  sessionId(): number | undefined;
  /** Whether the customer lets this IT member open terminals and transfer files (asks once). */
  consent(user: ShellUser): Promise<boolean>;
  refuse(streamId: number, reason: TunnelRefusal): void;
  shell: ShellServer;
  say(line: string): void;
  now?: () => number;
}

export class TunnelConnector {
  private readonly sockets = new Set<TunnelSocket>();
  private closed = false;

  constructor(private readonly options: TunnelConnectorOptions) {}

  /** Handles one `tunnel_open`; resolves once the stream is dialled or refused. */
  async open(request: TunnelOpen): Promise<void> {
    const o = this.options;
    if (!o.allowShell) return o.refuse(request.stream_id, 'shell_not_allowed');
    const secret = o.agentSecret();
    const sessionId = o.sessionId();
    const verified =
      secret === undefined || sessionId === undefined
        ? undefined
        : verifyTunnelToken(request.token, secret, { sessionId, streamId: request.stream_id, now: (o.now ?? Date.now)() });
    if (!verified?.ok) {
      o.say(`Refused a terminal request: ${verified?.message ?? 'the agent has no session secret yet'}.`);
      return o.refuse(request.stream_id, 'bad_token');
    }
    const user = { email: verified.claims.email, fullName: verified.claims.fullName };
    if (!(await o.consent(user))) return o.refuse(request.stream_id, 'declined');
    if (this.closed) return;
    try {
      o.shell.accept(await this.dial(request.stream_id, secret!), { claims: verified.claims, token: request.token });
    } catch (err) {
      o.say(`Could not open the terminal connection for ${whoIs(user)}: ${(err as Error).message}.`);
    }
  }

  /** The tunnel's bytes as a Duplex, once the broker took the connection. */
  private async dial(streamId: number, secret: string): Promise<Duplex> {
    const url = new URL(`/ws/session/${encodeURIComponent(this.options.code)}/tunnel`, this.options.server);
    url.searchParams.set('stream', String(streamId));
    const headers = { [AGENT_SECRET_HEADER]: secret };
    const socket = await dialTunnel(url, { headers, tls: this.options.tls, timeoutMs: DIAL_TIMEOUT_MS });
    if (this.closed) {
      socket.terminate();
      throw new Error('the session ended');
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    return tunnelStream(socket);
  }

  /** The session is over: every tunnel stream closes. */
  close(): void {
    this.closed = true;
    for (const socket of this.sockets) socket.terminate();
    this.sockets.clear();
  }
}
