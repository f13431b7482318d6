// The IT side of a tunnel (docs/protocol.md, "Tunnels"): opens /ws/session/{code}/tunnel with the
// login's token, waits for tunnel_ready (the customer's agent dialled its end), and hands back a
// Duplex of SSH bytes with the agent's host key and the SSH user name and password to present.
// Failures are TunnelError, carrying the HTTP status of a refused upgrade or the close code.
import type { Duplex } from 'node:stream';
import { CloseCode } from '../protocol/close-codes.js';
import { terminalSafe } from '../protocol/display-text.js';
import { parseTunnelReady } from '../protocol/tunnel-messages.js';
import type { TlsTrust } from '../shared/tls-trust.js';
import { TunnelDialRefused, dialTunnel } from '../shared/tunnel-dial.js';
import type { TunnelSocket } from '../shared/tunnel-socket.js';
import { tunnelStream } from '../shared/tunnel-stream.js';

export interface OpenTunnelOptions {
  /** The broker's URL (http or https). */
  brokerUrl: string;
  /** The IT member's login token. */
  token: string;
  /** The 9-digit session code. */
  code: string;
  /** How long to wait for the broker and the customer's agent (the broker itself gives up after 10 s). */
  timeoutMs?: number;
  /** The CA file's trust, for an https broker signed by a private CA. */
  tls?: TlsTrust;
}

export interface Tunnel {
  /** SSH bytes to and from the customer's agent. */
  stream: Duplex;
  streamId: number;
  /** The agent's SSH host key: "ssh-ed25519 AAAA…". */
  hostKey: string;
  /** The SSH user name (the IT member's email) and password (a stream token, valid about a minute). */
  username: string;
  password: string;
  /** Settles when the tunnel's WebSocket closes, with the broker's close code and reason. */
  closed: Promise<{ code: number; reason: string }>;
}

/** A tunnel that could not be opened: `status` for a refused upgrade, `closeCode` for a closed socket. */
export class TunnelError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly closeCode?: number,
  ) {
    super(message);
    this.name = 'TunnelError';
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** The tunnel's address on the broker (http or https: dialTunnel makes the upgrade). */
function tunnelUrl(brokerUrl: string, code: string): URL {
  return new URL(`${brokerUrl.replace(/\/+$/, '')}/ws/session/${encodeURIComponent(code)}/tunnel`);
}

export async function openTunnel(options: OpenTunnelOptions): Promise<Tunnel> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const started = Date.now();
  let socket: TunnelSocket;
  try {
    socket = await dialTunnel(tunnelUrl(options.brokerUrl, options.code), {
      headers: { authorization: `Bearer ${options.token}` },
      tls: options.tls,
      timeoutMs,
    });
  } catch (err) {
    if (err instanceof TunnelDialRefused) throw new TunnelError(refusalText(err.status, err.body), err.status);
    throw new TunnelError(`cannot reach the broker: ${(err as Error).message}`);
  }
  return awaitReady(socket, timeoutMs - (Date.now() - started));
}

/** Waits for tunnel_ready, the broker's first message once the customer's agent dialled its end. */
function awaitReady(socket: TunnelSocket, timeoutMs: number): Promise<Tunnel> {
  return new Promise<Tunnel>((resolve, reject) => {
    const fail = (error: TunnelError) => {
      clearTimeout(timer);
      socket.removeAllListeners('frame');
      socket.terminate();
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new TunnelError('the broker or the customer’s agent did not answer in time: try again')),
      timeoutMs,
    );
    const onClose = (code: number, reason: string) => fail(new TunnelError(closeText(code, reason), undefined, code));
    socket.once('close', onClose);
    socket.once('frame', (frame) => {
      const ready = frame.binary || !frame.fin ? undefined : parseTunnelReady(Buffer.concat(frame.payload));
      if (!ready?.ok) return fail(new TunnelError('the broker sent something other than tunnel_ready: is it older than this rac?'));
      clearTimeout(timer);
      socket.off('close', onClose);
      const closed = new Promise<{ code: number; reason: string }>((settle) =>
        socket.once('close', (code, reason) => settle({ code, reason: terminalSafe(reason) })),
      );
      // Listens from here on: SSH bytes can follow tunnel_ready in the same read.
      const stream = tunnelStream(socket);
      // The WebSocket closed and everything it brought was read: nothing can be written either.
      stream.once('end', () => stream.destroy());
      const { stream_id, host_key, username, password } = ready.value;
      resolve({ stream, streamId: stream_id, hostKey: host_key, username, password, closed });
    });
    socket.begin();
  });
}

function refusalText(status: number, body: string): string {
  let detail = '';
  try {
    const parsed = JSON.parse(body) as { detail?: unknown };
    if (typeof parsed.detail === 'string') detail = terminalSafe(parsed.detail);
  } catch {
    // not the broker's JSON: the status says enough
  }
  return detail || `the broker refused the tunnel (HTTP ${status})`;
}

function closeText(code: number, reason: string): string {
  const said = terminalSafe(reason);
  if (code === CloseCode.SHELL_NOT_ALLOWED) return said || 'the customer did not allow a terminal and file transfers';
  if (code === CloseCode.AGENT_NO_ANSWER) return said || 'the customer’s agent did not answer: try again';
  return said ? `the tunnel closed: ${said}` : `the tunnel closed before it was ready (code ${code})`;
}
