// One tunnel's byte pipe: binary WebSocket frames from the IT side to the customer's agent and back,
// unchanged (they are SSH ciphertext; the broker cannot read them), each forwarded as it completes
// without joining its message (shared/tunnel-socket.ts). Backpressure both ways: while more than the
// high-water mark is queued towards one end, the other end is not read until that queue has gone
// out, so a slow end slows the fast one down through TCP instead of filling the broker's memory.
// Either end closing closes the other.
import type { WsFrame } from '../protocol/websocket-frames.js';
import { CloseCode } from '../protocol/close-codes.js';
import type { TunnelSocket } from '../shared/tunnel-socket.js';

/** Above this many bytes queued towards one end, the other end is no longer read until they are out. */
export const TUNNEL_HIGH_WATER_BYTES = 1024 * 1024;
/**
 * ...or above this many frames: each queued frame costs the broker a few hundred bytes of objects
 * whatever its size, so a peer sending tiny frames must not queue 1 MiB of them.
 */
export const TUNNEL_HIGH_WATER_FRAMES = 4096;
/** Both ends are pinged this often; an end that answered nothing since the last ping is dropped. */
export const TUNNEL_PING_INTERVAL_MS = 15_000;

/** One direction of the pipe: reads `from`, writes `to`, pauses `from` while `to` is behind. */
class Flow {
  bytes = 0;
  private paused = false;
  /** Frames forwarded since `to` last had nothing queued. */
  private framesQueued = 0;

  constructor(
    private readonly from: TunnelSocket,
    private readonly to: TunnelSocket,
  ) {}

  forward(frame: WsFrame): void {
    // Only SSH bytes travel a tunnel; a text message after tunnel_ready means nothing.
    if (!frame.binary || frame.length === 0 || this.to.readyState !== this.to.OPEN) return;
    this.bytes += frame.length;
    this.framesQueued = this.to.bufferedAmount === 0 ? 1 : this.framesQueued + 1;
    this.to.forward(frame);
    if (!this.paused && (this.to.bufferedAmount > TUNNEL_HIGH_WATER_BYTES || this.framesQueued > TUNNEL_HIGH_WATER_FRAMES)) {
      this.paused = true;
      this.from.pause();
      this.to.onceDrained(() => this.release());
    }
  }

  /** Reads the source again (once `to` drained, or as the pipe closes: `to` may never drain then). */
  release(): void {
    if (!this.paused) return;
    this.paused = false;
    this.framesQueued = 0;
    this.from.resume();
  }

  /** True while this flow holds its source back: the source is then not expected to answer pings. */
  get holding(): boolean {
    return this.paused;
  }
}

export class TunnelPipe {
  private readonly up: Flow;
  private readonly down: Flow;
  private readonly heard = new WeakSet<TunnelSocket>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  /** `it` is the IT member's socket, `agent` the customer's; `ended` runs once, when both are done. */
  constructor(
    private readonly it: TunnelSocket,
    private readonly agent: TunnelSocket,
    private readonly ended: () => void,
  ) {
    this.up = new Flow(it, agent);
    this.down = new Flow(agent, it);
    this.wire(it, this.up);
    this.wire(agent, this.down);
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
    // A held-back end must be read again, or its answer to the close frame is never seen.
    this.up.release();
    this.down.release();
    for (const end of [this.it, this.agent]) end.close(code, reason);
    this.ended();
  }

  private wire(from: TunnelSocket, flow: Flow): void {
    this.heard.add(from);
    from.on('pong', () => this.heard.add(from));
    from.on('frame', (frame) => {
      this.heard.add(from);
      flow.forward(frame);
    });
    from.once('close', () => this.close(CloseCode.NORMAL, 'The other end of the tunnel closed'));
  }

  /** A vanished end (no FIN) would hold the other open forever: ping, and drop the silent. */
  private beat(): void {
    const sources: [TunnelSocket, Flow][] = [
      [this.it, this.up],
      [this.agent, this.down],
    ];
    for (const [end, flow] of sources) {
      // A paused socket is not read, so its pongs are not seen: it is not silent, we hold it.
      if (!this.heard.has(end) && !flow.holding) {
        end.terminate();
        continue;
      }
      this.heard.delete(end);
      end.ping();
    }
  }
}
