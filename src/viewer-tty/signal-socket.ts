// The viewer's signalling WebSocket (/ws/session/{code}) with the login's token: it parses what
// the broker says, and when the socket drops it opens a new one after a growing delay, unless the
// broker's answer was final (a close code that says so, a refused login, a certificate that does not
// verify: none of these would change on a retry).
import WebSocket from 'ws';
import { isFinalCloseCode } from '../protocol/close-codes.js';
import { type SignalMessage, parseSignalMessage } from '../protocol/signal-messages.js';
import { backoffDelay } from '../shared/backoff.js';
import { type TlsTrust, describeCertificateFailure, tlsConnectOptions } from '../shared/tls-trust.js';

export interface SignalSocketOptions {
  /** ws(s)://host/ws/session/CODE */
  webSocketUrl: string;
  token: string;
  /** Reconnect delays grow from this up to 10 s. */
  reconnectBaseMs?: number;
  /** Extra CAs for a wss:// broker (--ca-file). */
  tls?: TlsTrust;
  onOpen(): void;
  onSignal(message: SignalMessage): void;
  /** The socket dropped (whatever comes next). */
  onLost(): void;
  /** A new socket opens after a delay: why, and when. */
  onReconnecting(detail: string): void;
  /** The broker's answer was final: no new socket. */
  onRefused(why: string): void;
}

export class SignalSocket {
  private ws?: WebSocket;
  private attempts = 0;
  private closed = false;
  private readonly retries = new Set<NodeJS.Timeout>();

  constructor(private readonly options: SignalSocketOptions) {}

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  open(): void {
    const ws = new WebSocket(this.options.webSocketUrl, {
      headers: { authorization: `Bearer ${this.options.token}` },
      handshakeTimeout: 10_000,
      ...tlsConnectOptions(this.options.tls ?? {}),
    });
    this.ws = ws;
    let rejected: string | undefined;
    ws.on('unexpected-response', (_req, res) => {
      rejected = `the broker refused the connection (HTTP ${res.statusCode})`;
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      this.attempts = 0;
      this.options.onOpen();
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const parsed = parseSignalMessage(data as Buffer);
      if (parsed.ok) this.options.onSignal(parsed.message);
    });
    // 'close' follows and decides; a certificate that does not verify will not verify on a retry either.
    ws.on('error', (err) => {
      rejected ??= describeCertificateFailure(err, this.options.webSocketUrl.replace(/^ws/, 'http'), this.options.tls ?? {});
    });
    ws.on('close', (code, reason) => {
      if (this.ws !== ws || this.closed) return;
      this.options.onLost();
      const why = rejected ?? (reason.toString() || `connection closed (${code})`);
      if (isFinalCloseCode(code) || (rejected && /HTTP (401|403|404|410)|could not verify/.test(rejected))) {
        return this.options.onRefused(why);
      }
      this.reconnect(why);
    });
  }

  send(text: string): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(text);
  }

  /** Opens a new socket after the next delay of the backoff. */
  reconnect(why: string): void {
    this.attempts++;
    const delay = backoffDelay(this.attempts - 1, this.options.reconnectBaseMs);
    this.options.onReconnecting(`${why}; trying again in ${(delay / 1000).toFixed(1)} s`);
    const t = setTimeout(() => {
      this.retries.delete(t);
      if (!this.closed) this.open();
    }, delay);
    this.retries.add(t);
  }

  close(): void {
    this.closed = true;
    for (const t of this.retries) clearTimeout(t);
    this.retries.clear();
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000);
  }
}
