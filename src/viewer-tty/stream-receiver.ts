// What arrives on a session's stream once a datagram is opened (or, from a reference client, in
// clear): frame chunks and rectangles reassembled whole, the agent's control messages, clipboard
// datagrams handed on, and the figures behind the status line and the once-a-second receive report
// (receive-report.ts). Rectangles reassemble like frames and go out whole, for the display to apply
// in order. Which datagrams may come in clear, and opening sealed ones, is the connection's business.
import { type FrameChunk, decodeDatagram } from '../protocol/datagram.js';
import { FrameReassembler } from '../protocol/frame-reassembler.js';
import { CAPABILITIES_TYPE, parseCapabilities } from '../protocol/capabilities.js';
import {
  type CompleteRect,
  MAX_RECTS_PER_UPDATE,
  RECT_PACKET_TYPE,
  completeRect,
  decodeRectChunk,
  rectAsFrameChunk,
} from '../protocol/rect-datagram.js';
import { isClipboardDatagram } from '../protocol/clipboard-datagram.js';
import type { ReceiveReport } from '../protocol/stream-feedback.js';
import { type LinkStats, LinkStatsWindow } from './link-stats.js';
import { ReceiveReporter } from './receive-report.js';

/** What the stream delivers to the viewer. */
export interface StreamEvents {
  /** A complete JPEG frame. */
  frame?(jpeg: Buffer, frameId: bigint): void;
  /** A complete rectangle of an update (type 7): apply it on top of the frame it names. */
  rect?(rect: CompleteRect): void;
  /** Control messages from the agent (screen size, ...), other than keepalive/disconnect. */
  control?(message: { type: 'screen'; width: number; height: number }): void;
  /** An opened type-8 (clipboard) datagram from the agent; only ever from the sealed channel. */
  clipboard?(inner: Buffer): void;
}

export interface StreamReceiverOptions {
  events: StreamEvents;
  /** The agent said it stopped sharing. */
  agentDisconnected(): void;
  /** A sealed frame arrived: the agent has allowed us, so it now hears a question (it drops earlier ones). */
  framesFlowing(): void;
}

export class StreamReceiver {
  private readonly assembler = new FrameReassembler();
  /** Keyed by frame id × 64 + rectangle (rectAsFrameChunk): a sender restart is 64 times as far back. */
  private readonly rectAssembler = new FrameReassembler({ restartBackwardTicks: 100_000_000n * BigInt(MAX_RECTS_PER_UPDATE) });
  /** The agent answered `capabilities` with "rect" (a reference client or older agent never does). */
  private agentRects = false;
  private readonly linkStats = new LinkStatsWindow(() => this.droppedFrames());
  /** The once-a-second receive report to the agent (sealed only), which steers quality and fps by it. */
  private readonly reporter = new ReceiveReporter(() => this.droppedFrames());
  /** Opened datagrams that were malformed or of a kind the agent does not send: never fatal, only counted. */
  invalid = 0;

  constructor(private readonly options: StreamReceiverOptions) {}

  /** New keys with an agent: what was half-received from the old one is forgotten. */
  reset(): void {
    this.agentRects = false;
    this.assembler.reset();
    this.rectAssembler.reset();
    this.reporter.updates.reset();
  }

  /** An opened sealed datagram, `size` bytes on the wire. */
  sealed(inner: Buffer, size: number): void {
    if (inner[0] === RECT_PACKET_TYPE) return this.rectChunk(inner, size);
    if (isClipboardDatagram(inner)) return this.options.events.clipboard?.(inner);
    const decoded = decodeDatagram(inner);
    if (!decoded.ok) return void this.invalid++;
    const content = decoded.packet;
    if (content.type === 'frame_chunk') {
      this.options.framesFlowing();
      return this.frameChunk(content, size);
    }
    if (content.type !== 'control') return void this.invalid++;
    const message = content.message;
    if (message.type === 'screen') this.options.events.control?.(message);
    else if (message.type === 'disconnect') this.options.agentDisconnected();
    else if (message.type === 'keepalive' && message.t !== undefined) this.reporter.echo(message.t);
    else if (message.type === 'stream_settings')
      this.linkStats.settings = { quality: message.quality, fps: message.fps, auto: message.auto };
    else if (message.type === 'unknown' && message.name === CAPABILITIES_TYPE)
      this.agentRects = parseCapabilities(message.body).includes('rect');
  }

  /** A chunk of a frame, `size` bytes on the wire: sealed, or in clear from a reference client. */
  frameChunk(chunk: FrameChunk, size: number): void {
    this.linkStats.bytes(size);
    this.reporter.bytes(size);
    const frame = this.assembler.push(chunk);
    if (!frame) return;
    this.linkStats.frameShown(frame.frameId);
    this.reporter.frame();
    this.reporter.updates.frame(frame.frameId);
    this.options.events.frame?.(frame.jpeg, frame.frameId);
  }

  private rectChunk(datagram: Uint8Array, size: number): void {
    const decoded = decodeRectChunk(datagram);
    if (!decoded.ok) return void this.invalid++;
    this.linkStats.bytes(size);
    const done = this.rectAssembler.push(rectAsFrameChunk(decoded.value));
    if (!done) return;
    this.reporter.updates.rect(decoded.value.frameId, decoded.value.rectIndex, decoded.value.rectCount);
    if (decoded.value.rectIndex === decoded.value.rectCount - 1) this.linkStats.frameShown(decoded.value.frameId);
    this.options.events.rect?.(completeRect(decoded.value, done.jpeg));
  }

  /** Whether the agent said it sends rectangles. */
  get sendsRects(): boolean {
    return this.agentRects;
  }

  /** The last window's report (taken every second, sent or not) and the stamp for a keepalive the agent echoes. */
  takeReport(): ReceiveReport {
    return this.reporter.take();
  }

  keepaliveStamp(): number {
    return this.reporter.stamp();
  }

  /** How long decoding a frame took (the report's mean decode time). */
  frameDecoded(ms: number): void {
    this.reporter.decoded(ms);
  }

  /** The WebSocket's ping round trip, shown while no frame age is known. */
  roundTrip(ms: number): void {
    this.linkStats.rttMs = ms;
  }

  /** Closes the status line's one-second window. */
  rollStats(): void {
    this.linkStats.roll();
  }

  stats(): LinkStats {
    return this.linkStats.snapshot();
  }

  private droppedFrames(): number {
    return droppedFrames(this.assembler) + droppedFrames(this.rectAssembler);
  }
}

/** Frames (or rectangles) the reassembler gave up on, for the loss figure. */
function droppedFrames(assembler: FrameReassembler): number {
  return Object.values(assembler.stats.framesDropped).reduce((a, b) => a + b, 0);
}
