// One tunnel's byte pipe: binary WebSocket messages from the IT side to the customer's agent and back,
// unchanged (they are SSH ciphertext; the broker cannot read them). Backpressure both ways: bytes
// handed to one socket and not yet written out are counted, and the other socket stops being read
// while that count is above the high-water mark, so a slow end slows the fast one down through TCP
// instead of filling the broker's memory. Either end closing closes the other.
import { WebSocket } from 'ws';
import { CloseCode } from '../protocol/close-codes.js';

/** Above this many bytes queued towards one end, the other end is no longer read... */
export const TUNNEL_HIGH_WATER_BYTES = 1024 * 1024;
/** ...until the queue is down to this. */
export const TUNNEL_LOW_WATER_BYTES = 256 * 1024;
/** Both ends are pinged this often; an end that answered nothing since the last ping is dropped. */
export const TUNNEL_PING_INTERVAL_MS = 15_000;

/** One direction of the pipe: reads `from`, writes `to`, pauses `from` while `to` is behind. */
class Flow {
  /** Bytes given to `to.send` whose callback has not come yet. */
  queued = 0;
  bytes = 0;
  private paused = false;

  constructor(
    private readonly from: WebSocket,
    private readonly to: WebSocket,
  ) {}

  forward(data: Buffer): void {
    const size = data.length;
    this.queued += size;
    this.bytes += size;
    this.to.send(data, { binary: true }, () => this.written(size));
    if (!this.paused && this.queued > TUNNEL_HIGH_WATER_BYTES) {
      this.paused = true;
      this.from.pause();
    }
  }

  /** True while this flow holds its source back: the source is then not expected to answer pings. */
  get holding(): boolean {
    return this.paused;
  }

  private written(size: number): void {
    this.queued -= size;
    if (this.paused && this.queued <= TUNNEL_LOW_WATER_BYTES) {
      this.paused = false;
      this.from.resume();
    }
  }
}

export class TunnelPipe {
  private readonly up: Flow;
  private readonly down: Flow;
  private readonly heard = new WeakSet<WebSocket>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  /** `it` is the IT member's socket, `agent` the customer's; `ended` runs once, when both are done. */
  constructor(
    private readonly it: WebSocket,
    private readonly agent: WebSocket,
    private readonly ended: () => void,
  ) {
    this.up = new Flow(it, agent);
    this.down = new Flow(agent, it);
    this.wire(it, agent, this.up);
    this.wire(agent, it, this.down);
    this.timer = setInterval(() => this.beat(), TUNNEL_PING_INTERVAL_MS).unref();
  }

  /** Bytes that went IT → agent and agent → IT so far. */
  get bytes(): { up: number; down: number } {
    return { up: this.up.bytes, down: this.down.bytes };
  }

  /** Closes both ends with this code and reason (queued bytes are written first). */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const ws of [this.it, this.agent]) if (ws.readyState === WebSocket.OPEN) ws.close(code, reason);
    this.ended();
  }

  private wire(from: WebSocket, to: WebSocket, flow: Flow): void {
    this.heard.add(from);
    from.on('pong', () => this.heard.add(from));
    from.on('message', (data, isBinary) => {
      this.heard.add(from);
      // Only SSH bytes travel a tunnel; a text message after tunnel_ready means nothing.
      if (isBinary && to.readyState === WebSocket.OPEN) flow.forward(data as Buffer);
    });
    from.once('close', () => this.close(CloseCode.NORMAL, 'The other end of the tunnel closed'));
    from.on('error', () => from.terminate());
  }

  /** A vanished end (no FIN) would hold the other open forever: ping, and drop the silent. */
  private beat(): void {
    const sources: [WebSocket, Flow][] = [
      [this.it, this.up],
      [this.agent, this.down],
    ];
    for (const [ws, flow] of sources) {
      // A paused socket is not read, so its pongs are not seen: it is not silent, we hold it.
      if (!this.heard.has(ws) && !flow.holding) {
        ws.terminate();
        continue;
      }
      this.heard.delete(ws);
      if (ws.readyState === WebSocket.OPEN) ws.ping();
    }
  }
}
