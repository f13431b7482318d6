// The viewer's UDP socket and its pin at the relay (docs/protocol.md): viewer_hello with a
// single-use ticket → viewer_ack(cookie) → viewer_confirm(cookie) → viewer_ready. Until then an
// unanswered hello asks for a fresh ticket and an unanswered confirm is repeated; once pinned, a
// keepalive every 4 s keeps the relay's mapping (and the NAT's) alive. What the datagrams carry
// is decoded elsewhere: every datagram that arrives goes to `onDatagram`.
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { encodeControl } from '../protocol/datagram.js';

/** How often an unanswered hello asks for a fresh ticket, or an unanswered confirm is repeated. */
const DEFAULT_HELLO_RETRY_MS = 1000;
const DEFAULT_KEEPALIVE_MS = 4000;
/** Unanswered tries before saying where we knock (UDP may be blocked). */
const SILENT_TRIES = 5;

export interface UdpPinOptions {
  /** The relay's host name or address (the broker's, from the WebSocket URL). */
  host: string;
  helloRetryMs?: number;
  keepaliveMs?: number;
  /** Every datagram that arrives, undecoded. */
  onDatagram(msg: Buffer): void;
  /** viewer_ready: the relay forwards our datagrams now. */
  onPinned(): void;
  /** The hello went unanswered: a fresh ticket is wanted (tickets are single-use). */
  requestTicket(): void;
  /** Every keepalive period, pinned or not (the WebSocket's ping goes with it). */
  onKeepalive(): void;
  /** Still no answer after a few tries. */
  onSilence(detail: string): void;
}

export class UdpPin {
  private udp?: Socket;
  private family?: 'udp4' | 'udp6';
  private target?: { host: string; port: number };
  /** The relay's name as given (for messages): the broker's host, or the relay_host it named. */
  private relayName = '';
  /** The cookie of the relay's viewer_ack, echoed until viewer_ready. */
  private cookie?: string;
  private helloTimer?: NodeJS.Timeout;
  private keepaliveTimer?: NodeJS.Timeout;
  private helloTries = 0;
  private closed = false;
  /** viewer_ready came: datagrams to the agent go through. */
  pinned = false;

  constructor(private readonly options: UdpPinOptions) {}

  /**
   * Sends a hello with the relay's ticket, to the relay the broker named (several broker nodes) or
   * else the broker's own host; returns the error to report when the host does not resolve.
   */
  async join(port: number, ticket: string, relayHost?: string): Promise<string | undefined> {
    const host = relayHost ?? this.options.host;
    let address: { address: string; family: number };
    try {
      address = await lookup(host);
    } catch (err) {
      return `cannot resolve ${host}: ${(err as Error).message}`;
    }
    if (this.closed) return undefined;
    this.ensureSocket(address.family === 6 ? 'udp6' : 'udp4');
    this.target = { host: address.address, port };
    this.relayName = host;
    this.cookie = undefined;
    this.pinned = false;
    this.send(encodeControl({ type: 'viewer_hello', ticket }));
    this.startTimers(port);
    return undefined;
  }

  /** The relay's viewer_ack: confirm with its cookie. */
  acknowledged(cookie: string): void {
    this.cookie = cookie;
    this.send(encodeControl({ type: 'viewer_confirm', cookie }));
  }

  /** The relay's viewer_ready (repeats are ignored). */
  ready(): void {
    if (this.pinned) return;
    this.pinned = true;
    this.options.onPinned();
  }

  send(packet: Buffer): void {
    if (!this.udp || !this.target || this.closed) return;
    this.udp.send(packet, this.target.port, this.target.host);
  }

  /** The WebSocket dropped: the pin is void until a new ticket comes (the socket stays). */
  forget(): void {
    this.pinned = false;
    this.cookie = undefined;
    this.stopTimers();
  }

  close(): void {
    this.closed = true;
    this.stopTimers();
    this.udp?.close();
    this.udp = undefined;
  }

  private ensureSocket(family: 'udp4' | 'udp6') {
    if (this.udp && this.family === family) return;
    this.udp?.close();
    // Room for a whole frame or clipboard transfer while the loop is busy drawing (capped at rmem_max).
    const udp = createSocket({ type: family, recvBufferSize: 4 * 1024 * 1024 });
    this.family = family;
    udp.on('message', (msg) => this.options.onDatagram(msg));
    udp.on('error', () => {}); // ICMP errors surface here; keepalives keep trying
    this.udp = udp;
  }

  /** Until viewer_ready: a fresh ticket when the hello went unanswered, else the confirm again. */
  private startTimers(port: number) {
    if (this.helloTimer) return;
    this.helloTries = 0;
    this.helloTimer = every(this.options.helloRetryMs ?? DEFAULT_HELLO_RETRY_MS, () => {
      if (this.pinned) return;
      if (this.cookie) this.send(encodeControl({ type: 'viewer_confirm', cookie: this.cookie }));
      else this.options.requestTicket();
      if (++this.helloTries === SILENT_TRIES) this.options.onSilence(`no answer on UDP ${this.relayName}:${port} yet; is UDP blocked?`);
    });
    this.keepaliveTimer ??= every(this.options.keepaliveMs ?? DEFAULT_KEEPALIVE_MS, () => {
      if (this.pinned) this.send(encodeControl({ type: 'keepalive' }));
      this.options.onKeepalive();
    });
  }

  private stopTimers() {
    clearInterval(this.helloTimer);
    clearInterval(this.keepaliveTimer);
    this.helloTimer = undefined;
    this.keepaliveTimer = undefined;
  }
}

function every(ms: number, fn: () => void): NodeJS.Timeout {
  const timer = setInterval(fn, ms);
  timer.unref?.();
  return timer;
}
