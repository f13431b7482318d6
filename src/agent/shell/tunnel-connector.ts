// The agent's side of `rac shell` / `rac cp` / `rac tunnel`: on the broker's `tunnel_open` it checks
// the stream token with the session's agent secret (bound to this session and stream, ≤ 60 s),
// asks the customer (once per IT member, unless --yes), then dials the tunnel WebSocket for that
// stream with its agent secret and hands the bytes to the SSH server. Anything else is answered
// with `tunnel_refused` and nothing is dialled.
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { type TunnelRefusal, verifyTunnelToken } from '../../protocol/index.js';
import { TUNNEL_SOCKET_OPTIONS, tunnelStream } from '../../shared/tunnel-stream.js';
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
  private readonly sockets = new Set<WebSocket>();
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
  private dial(streamId: number, secret: string): Promise<Duplex> {
    const url = new URL(`/ws/session/${encodeURIComponent(this.options.code)}/tunnel`, this.options.server);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('stream', String(streamId));
    const ws = new WebSocket(url, {
      handshakeTimeout: DIAL_TIMEOUT_MS,
      headers: { [AGENT_SECRET_HEADER]: secret },
      ...TUNNEL_SOCKET_OPTIONS,
    });
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    // The stream listens from the start: the first SSH bytes can arrive in the same read as the upgrade.
    const stream = tunnelStream(ws);
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => {
        stream.destroy();
        reject(err);
      };
      ws.once('open', () => resolve(stream));
      ws.once('unexpected-response', (_req, res) => {
        ws.terminate();
        fail(new Error(`the broker answered HTTP ${res.statusCode}`));
      });
      stream.once('error', fail);
    });
  }

  /** The session is over: every tunnel stream closes. */
  close(): void {
    this.closed = true;
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
  }
}
