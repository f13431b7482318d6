// The allowed part of a session: the UDP side. Pins the agent's socket with a proven handshake,
// streams the chosen monitor at the frame rate (frames only when the picture changed, a full one
// when due or asked for) sealed to each viewer the customer allowed, opens what viewers send
// (input, control) and injects it unless view-only. Nothing is captured while no viewer is
// allowed. Pausing stops capture and input and lets go of held keys; the socket stays, so a resume
// keeps the address the relay pinned. A viewer that sends `capabilities` with "rect" is answered
// in kind; while every allowed viewer takes rectangles, changes go as type-7 rectangles. After 1 s
// with no change and no input the screen is captured at 5 fps only, until the next change or input.
// A viewer whose report shows it lost the last update entirely gets a full frame (update-repair.ts).
// frame-clock.ts says when to look: at the frame rate, and at once after a change X DAMAGE reports.
// A change reported while the previous update was still going out is captured as soon as it is out.
import { CAPABILITIES_TYPE, type Encoding, encodeCapabilities, parseCapabilities } from '../../protocol/capabilities.js';
import {
  type ChunkSize,
  type ControlMessage,
  SEALED_DEFAULT_CHUNK_SIZE,
  decodeDatagram,
  encodeControl,
  isClipboardDatagram,
} from '../../protocol/index.js';
import { CaptureCadence } from './capture-cadence.js';
import { FrameClock } from './frame-clock.js';
import { ClipboardSync } from './clipboard-sync.js';
import { type EncodedFrame, FramePipeline } from './frame-pipeline.js';
import { InputHandler } from './input-handler.js';
import { LatencyTrace } from './latency-trace.js';
import type { DesktopPlatform as SessionPlatform } from '../platform/desktop-platform.js';
import type { Monitor as SessionMonitor } from '../platform/monitors.js';
import { type AgentPacket, UdpLink } from './udp-link.js';
import type { SealedPeer } from './viewer-keys.js';
import { SealedViewers } from './sealed-viewers.js';
import { StreamQuality } from './stream-quality.js';
import type { QualitySettings } from './quality-controller.js';
import { UpdateRepair } from './update-repair.js';

/** `off`: capture the whole monitor at every step even where the display reports what changed. */
export const CAPTURE_REGIONS_ENV = 'RAC_CAPTURE_REGIONS';

export interface ScreenStreamOptions {
  platform: SessionPlatform;
  /** Hostname or address of the broker (its session UDP port is given to start()). */
  brokerHost: string;
  sessionCode: string;
  /** The secret the broker gave this agent (proves the UDP handshake). */
  agentSecret: () => string | undefined;
  fps: number;
  quality: number;
  maxWidth?: number;
  /** JPEG bytes per type-1 datagram; default: sealed datagrams of at most 1200 bytes. */
  chunkSize?: number;
  viewOnly: boolean;
  say(line: string): void;
  /** The broker's type-4 disconnect; reason "shutdown" means it is restarting. */
  onBrokerDisconnect(reason: string | undefined): void;
}

/** The session's UDP relay: its port and, with several broker nodes, the host the broker named. */
export interface RelayAddress {
  port: number;
  host?: string;
}

export class ScreenStream {
  private readonly udp: UdpLink;
  private readonly inputs: InputHandler;
  /** Only where control is allowed and the desktop has a clipboard tool. */
  private readonly clipboard: ClipboardSync | undefined;
  private readonly peers = new SealedViewers();
  private pipeline: FramePipeline | undefined;
  private monitor: SessionMonitor | undefined;
  private fps: number;
  private streaming = false;
  private sendingFrame = false;
  private captureError: string | undefined;
  private unknownControl = 0;
  private closed = false;
  /** Frame ticks, and those that found the previous frame still going out (the send queue). */
  private readonly sender = { ticks: 0, busyTicks: 0 };
  private readonly quality: StreamQuality;
  /** Viewers that said they take rectangles. */
  private readonly rectViewers = new Set<number>();
  private readonly cadence = new CaptureCadence();
  private readonly clock = new FrameClock({
    cadence: this.cadence,
    tick: (early) => void this.tick(early),
    busy: () => this.sendingFrame,
    watchChanges: (onChange) =>
      this.options.platform.capture.damage?.onChange(() => {
        this.trace?.screenChanged();
        onChange();
      }),
  });
  private readonly repair = new UpdateRepair();
  /** Only under RAC_LATENCY_TRACE (latency-trace.ts). */
  private readonly trace = LatencyTrace.fromEnv();

  constructor(private readonly options: ScreenStreamOptions) {
    this.fps = options.fps;
    this.udp = new UdpLink(options.brokerHost, options.sessionCode);
    this.udp.on('packet', (packet) => this.onPacket(packet));
    this.udp.on('disconnect', (reason) => options.onBrokerDisconnect(reason));
    this.inputs = new InputHandler(options.viewOnly ? undefined : () => options.platform.input());
    this.quality = new StreamQuality(
      { quality: options.quality, fps: options.fps },
      {
        apply: (settings) => this.applySettings(settings),
        send: (viewerId, message) => this.sendControl(viewerId, message),
        sender: () => this.sender,
      },
    );
    this.clipboard = this.newClipboardSync();
  }

  private newClipboardSync(): ClipboardSync | undefined {
    const clipboard = this.options.platform.clipboard;
    if (!clipboard || this.options.viewOnly) return undefined;
    return new ClipboardSync({
      clipboard,
      say: (line) => this.options.say(line),
      transmit: (viewerId, datagrams) => void this.udp.sendAll(this.peers.sealFor(viewerId, datagrams)),
    });
  }

  get active(): boolean {
    return this.streaming;
  }

  /** Once anything was captured, a one-line account of the session. */
  get everStarted(): boolean {
    return this.pipeline !== undefined;
  }

  get viewerCount(): number {
    return this.peers.size;
  }

  /** Starts sealing frames to a viewer the customer allowed (the next frame is a full one). */
  addViewer(peer: SealedPeer): void {
    this.peers.add(peer);
    this.quality.addViewer(peer.viewerId);
    this.updateEncoding();
    this.clipboard?.addViewer(peer.viewerId);
    this.pipeline?.requestKeyframe();
    if (this.streaming && this.monitor) this.sendScreen(peer, this.monitor);
  }

  removeViewer(viewerId: number): void {
    this.peers.remove(viewerId);
    this.quality.removeViewer(viewerId);
    this.rectViewers.delete(viewerId);
    this.repair.removeViewer(viewerId);
    this.updateEncoding();
    this.clipboard?.removeViewer(viewerId);
  }

  /** Whether changes go out as rectangles (every allowed viewer asked for them). */
  get sendsRects(): boolean {
    return this.pipeline?.sendsRects ?? false;
  }

  /** Handshake to the session's port, then capture and input. `stillWanted` is checked before going live. */
  async start(relay: RelayAddress, stillWanted: () => boolean): Promise<boolean> {
    if (this.streaming || this.closed) return this.streaming;
    const secret = this.options.agentSecret();
    if (!secret) throw new Error('the broker has not given this agent its secret yet');
    const monitor = await this.primaryMonitor();
    this.pipeline ??= this.newPipeline(monitor);
    this.updateEncoding();
    await this.udp.open(relay.port, relay.host);
    if (this.closed || !stillWanted()) return false;
    await this.udp.handshake(monitor, secret);
    for (const peer of this.peers.all()) this.sendScreen(peer, monitor);
    this.udp.startKeepalive();
    this.inputs.enable(monitor);
    this.pipeline.requestKeyframe();
    this.streaming = true;
    this.clock.start(this.fps);
    this.quality.start();
    void this.clipboard?.start();
    return true;
  }

  /**
   * Stops capture and input (held keys released); the socket stays for the resume. `keepalive`
   * keeps the relay's pin and the session's status alive meanwhile (while the customer is asked
   * about someone new), without sending anything of the screen.
   */
  pause(options: { keepalive?: boolean } = {}): void {
    this.streaming = false;
    this.clock.stop();
    this.quality.stop();
    this.clipboard?.stop();
    if (!options.keepalive) this.udp.stopKeepalive();
    this.inputs.disable();
  }

  /** Tells every viewer over the relay that the customer stopped (only once pinned). */
  async sendDisconnect(): Promise<void> {
    if (!this.pipeline) return;
    const inner = encodeControl({ type: 'disconnect', reason: 'stopped' });
    await this.udp.sendAll(this.peers.sealForEach([inner]));
  }

  close(): void {
    this.closed = true;
    this.pause();
    this.inputs.close();
    this.udp.close();
  }

  summary(): string {
    const frames = this.pipeline?.stats ?? { encoded: 0, jpegBytes: 0, unchanged: 0, still: 0, rectUpdates: 0 };
    // Captured and found unchanged, or not captured at all because the display reported no change.
    const skipped = frames.unchanged + frames.still;
    const input = this.inputs.stats;
    const udp = this.udp.stats;
    const refused = this.peers.refused;
    return (
      `Sent ${frames.encoded} frames (${(frames.jpegBytes / 1e6).toFixed(1)} MB in ${udp.datagramsSent} datagrams, ${frames.rectUpdates} of the frames as changed rectangles, ${skipped} unchanged captures skipped); ` +
      `input: ${input.mouse} mouse, ${input.keys} keys, ${input.ignored} ignored, ${input.unknownKeys} unknown keys; ` +
      `${this.unknownControl} unknown control messages, ${udp.malformed} malformed and ${refused} refused datagrams (forged, replayed or not sealed).`
    );
  }

  private async primaryMonitor(): Promise<SessionMonitor> {
    if (!this.monitor) {
      const monitors = await this.options.platform.monitors();
      this.monitor = monitors.find((m) => m.isPrimary) ?? monitors[0];
      if (!this.monitor) throw new Error('no monitor to capture');
    }
    return this.monitor;
  }

  private newPipeline(monitor: SessionMonitor): FramePipeline {
    const platform = this.options.platform;
    return new FramePipeline({
      capture: platform.capture,
      encoder: platform.encoder,
      area: monitor,
      quality: this.quality.settings.quality,
      maxWidth: this.options.maxWidth,
      chunkSize: chunkSizeOf(this.options.chunkSize),
      // Whole captures at every step: the path before region captures, for the latency bench to compare.
      ...(process.env[CAPTURE_REGIONS_ENV] === 'off' && { fullCompareIntervalMs: 0 }),
    });
  }

  /** The size mouse coordinates refer to, and the quality and frame rate in use, sealed to one viewer. */
  private sendScreen(peer: SealedPeer, monitor: SessionMonitor): void {
    void this.udp.send(peer.sealer.seal(encodeControl({ type: 'screen', width: monitor.width, height: monitor.height })));
    this.sendControl(peer.viewerId, this.quality.settingsMessage());
  }

  private sendControl(viewerId: number, message: ControlMessage): void {
    for (const sealed of this.peers.sealFor(viewerId, [encodeControl(message)])) void this.udp.send(sealed);
  }

  /** What the quality controller (or a viewer's pin) decided: the next frames use it. */
  private applySettings(settings: QualitySettings): void {
    this.pipeline?.setQuality(settings.quality);
    if (settings.fps !== this.fps) {
      this.fps = settings.fps;
      if (this.clock.running) this.clock.start(this.fps);
    }
  }

  /** `early`: brought forward by a reported change (not a tick of the frame timer, so not counted as one). */
  private async tick(early = false): Promise<void> {
    // A frame still going out (slow link, huge frame) makes this tick a skip, not a queue; with no
    // allowed viewer there is nobody to capture for.
    if (!this.streaming || !this.pipeline || this.peers.size === 0) return;
    if (early && this.sendingFrame) return;
    if (!early) this.sender.ticks++;
    if (this.sendingFrame) {
      // A queue only when this tick was due a capture: one a reported change just brought forward is not.
      if (this.cadence.delayUntilAllowed() === 0) this.sender.busyTicks++;
      return;
    }
    if (!this.cadence.shouldCapture()) return;
    this.sendingFrame = true;
    this.clock.captureStarting();
    this.trace?.captureStarting();
    try {
      const step = await this.pipeline.step();
      this.captureError = undefined;
      // The display reported a still screen: this tick took no capture, so the cadence counts none.
      if (step.outcome === 'not-captured') this.cadence.notCaptured();
      if (step.outcome === 'update') await this.send(step.update);
    } catch (err) {
      const message = (err as Error).message;
      if (message !== this.captureError) this.options.say(`Screen capture failed: ${message} (retrying)`);
      this.captureError = message;
    } finally {
      this.sendingFrame = false;
      this.clock.captureDone();
    }
  }

  /** A changed picture: seal it to every allowed viewer. */
  private async send(frame: EncodedFrame): Promise<void> {
    this.cadence.activity();
    const viewers = this.peers.ids();
    await this.udp.sendAll(this.peers.sealForEach(frame.datagrams));
    this.repair.sentTo(viewers, frame.frameId);
    this.trace?.sent(frame);
  }

  private onPacket(packet: AgentPacket): void {
    if (this.closed) return;
    const opened = this.peers.open(packet);
    if (opened) this.onOpened(opened.peer, opened.plain);
  }

  private onOpened(peer: SealedPeer, plain: Buffer): void {
    if (isClipboardDatagram(plain)) {
      if (this.clipboard && this.streaming) this.clipboard.receive(peer.viewerId, plain);
      else this.unknownControl++;
      return;
    }
    const inner = decodeDatagram(plain);
    if (!inner.ok) {
      this.udp.stats.malformed++;
      return;
    }
    const decoded = inner.packet;
    // Input, or a viewer asking for something: back to the full capture rate.
    this.cadence.activity();
    if (decoded.type === 'mouse' || decoded.type === 'keyboard') this.trace?.input();
    if (decoded.type === 'mouse') return this.inputs.mouse(decoded);
    if (decoded.type === 'keyboard') return this.inputs.key(decoded);
    if (decoded.type !== 'control') return void this.unknownControl++;
    const message = decoded.message;
    if (message.type === 'receive_report' && this.repair.needsFullFrame(peer.viewerId, message.last_frame)) {
      this.pipeline?.requestKeyframe();
    }
    if (message.type !== 'unknown') {
      if (this.quality.onControl(peer.viewerId, message)) return;
      return this.onControl(message);
    }
    if (message.name === CAPABILITIES_TYPE) return this.onCapabilities(peer, parseCapabilities(message.body));
    this.unknownControl++;
  }

  /** Answers with what we will send this viewer (every time: the answer may have been lost). */
  private onCapabilities(peer: SealedPeer, asked: Encoding[]): void {
    const rects = asked.includes('rect');
    if (rects) this.rectViewers.add(peer.viewerId);
    else this.rectViewers.delete(peer.viewerId);
    void this.udp.send(peer.sealer.seal(encodeCapabilities(rects ? ['rect'] : [])));
    this.updateEncoding();
  }

  /** Rectangles only when every allowed viewer takes them: one stream is sealed for all. */
  private updateEncoding(): void {
    const all = this.peers.size > 0 && this.peers.ids().every((id) => this.rectViewers.has(id));
    this.pipeline?.setRects(all);
  }

  private onControl(message: ControlMessage): void {
    switch (message.type) {
      case 'request_keyframe':
        this.pipeline?.requestKeyframe();
        return;
      case 'select_monitor':
        void this.selectMonitor(message.monitor_id);
        return;
      default:
        this.unknownControl++;
    }
  }

  private async selectMonitor(id: string): Promise<void> {
    if (!this.streaming) return;
    const monitor = (await this.options.platform.monitors()).find((m) => m.id === id);
    const secret = this.options.agentSecret();
    if (!monitor || !this.streaming || !secret) {
      this.unknownControl++;
      return;
    }
    this.monitor = monitor;
    this.pipeline?.setArea(monitor);
    this.inputs.setArea(monitor);
    await this.udp.handshake(monitor, secret);
    for (const peer of this.peers.all()) this.sendScreen(peer, monitor);
  }
}

function chunkSizeOf(payloadBytes: number | undefined): ChunkSize {
  return payloadBytes === undefined ? SEALED_DEFAULT_CHUNK_SIZE : { payloadBytes };
}
