// The allowed part of a session: the UDP side. Pins the agent's socket with a handshake, streams the
// chosen monitor at the frame rate (frames only when the picture changed, a full one when due or
// asked for), injects the viewer's input unless view-only, and obeys the viewer's control messages
// (request_keyframe, set_quality, select_monitor). Pausing stops capture and input and lets go of
// held keys; the socket stays, so a resume keeps the address the relay pinned.
import type { ChunkSize } from '../../protocol/index.js';
import { FramePipeline } from './frame-pipeline.js';
import { InputHandler } from './input-handler.js';
import type { DesktopPlatform as SessionPlatform } from '../platform/desktop-platform.js';
import type { Monitor as SessionMonitor } from '../platform/monitors.js';
import { type AgentPacket, UdpLink } from './udp-link.js';

export interface ScreenStreamOptions {
  platform: SessionPlatform;
  /** Hostname or address of the broker (its session UDP port is given to start()). */
  brokerHost: string;
  sessionCode: string;
  fps: number;
  quality: number;
  maxWidth?: number;
  /** JPEG bytes per type-1 datagram; default: datagrams of at most 1200 bytes. */
  chunkSize?: number;
  viewOnly: boolean;
  say(line: string): void;
  /** The broker's type-4 disconnect; reason "shutdown" means it is restarting. */
  onBrokerDisconnect(reason: string | undefined): void;
}

type ControlMessage = Extract<AgentPacket, { type: 'control' }>['message'];

export class ScreenStream {
  private readonly udp: UdpLink;
  private readonly inputs: InputHandler;
  private pipeline: FramePipeline | undefined;
  private monitor: SessionMonitor | undefined;
  private fps: number;
  private streaming = false;
  private frameTimer: NodeJS.Timeout | undefined;
  private sendingFrame = false;
  private captureError: string | undefined;
  private unknownControl = 0;
  private closed = false;

  constructor(private readonly options: ScreenStreamOptions) {
    this.fps = options.fps;
    this.udp = new UdpLink(options.brokerHost, options.sessionCode);
    this.udp.on('packet', (packet) => this.onPacket(packet));
    this.udp.on('disconnect', (reason) => options.onBrokerDisconnect(reason));
    this.inputs = new InputHandler(options.viewOnly ? undefined : () => options.platform.input());
  }

  get active(): boolean {
    return this.streaming;
  }

  /** Once anything was captured, a one-line account of the session. */
  get everStarted(): boolean {
    return this.pipeline !== undefined;
  }

  /** Handshake to the session's port, then capture and input. `stillWanted` is checked before going live. */
  async start(udpPort: number, stillWanted: () => boolean): Promise<boolean> {
    if (this.streaming || this.closed) return this.streaming;
    const platform = this.options.platform;
    if (!this.monitor) {
      const monitors = await platform.monitors();
      this.monitor = monitors.find((m) => m.isPrimary) ?? monitors[0];
      if (!this.monitor) throw new Error('no monitor to capture');
    }
    this.pipeline ??= new FramePipeline({
      capture: platform.capture,
      encoder: platform.encoder,
      area: this.monitor,
      quality: this.options.quality,
      maxWidth: this.options.maxWidth,
      chunkSize: chunkSizeOf(this.options.chunkSize),
    });
    await this.udp.open(udpPort);
    if (this.closed || !stillWanted()) return false;
    await this.udp.handshake(this.monitor);
    await this.udp.control({ type: 'screen', width: this.monitor.width, height: this.monitor.height });
    this.udp.startKeepalive();
    this.inputs.enable(this.monitor);
    this.pipeline.requestKeyframe();
    this.streaming = true;
    this.startFrameTimer();
    return true;
  }

  /**
   * Stops capture and input (held keys released); the socket stays for the resume. `keepalive`
   * keeps the relay's pin and the session's status alive meanwhile (while the customer is asked
   * about someone new), without sending anything of the screen.
   */
  pause(options: { keepalive?: boolean } = {}): void {
    this.streaming = false;
    this.stopFrameTimer();
    if (!options.keepalive) this.udp.stopKeepalive();
    this.inputs.disable();
  }

  /** Tells the viewer over the relay that the customer stopped (only once pinned). */
  async sendDisconnect(): Promise<void> {
    if (this.pipeline) await this.udp.control({ type: 'disconnect' });
  }

  close(): void {
    this.closed = true;
    this.pause();
    this.inputs.close();
    this.udp.close();
  }

  summary(): string {
    const frames = this.pipeline?.stats ?? { encoded: 0, jpegBytes: 0, unchanged: 0 };
    const input = this.inputs.stats;
    const udp = this.udp.stats;
    return (
      `Sent ${frames.encoded} frames (${(frames.jpegBytes / 1e6).toFixed(1)} MB in ${udp.datagramsSent} datagrams, ${frames.unchanged} unchanged captures skipped); ` +
      `input: ${input.mouse} mouse, ${input.keys} keys, ${input.ignored} ignored, ${input.unknownKeys} unknown keys; ` +
      `${this.unknownControl} unknown control messages, ${udp.malformed} malformed datagrams.`
    );
  }

  private startFrameTimer(): void {
    this.stopFrameTimer();
    this.frameTimer = setInterval(() => void this.tick(), Math.max(1, Math.round(1000 / this.fps)));
  }

  private stopFrameTimer(): void {
    if (this.frameTimer) clearInterval(this.frameTimer);
    this.frameTimer = undefined;
  }

  private async tick(): Promise<void> {
    // A frame still going out (slow link, huge frame) makes this tick a skip, not a queue.
    if (!this.streaming || this.sendingFrame || !this.pipeline) return;
    this.sendingFrame = true;
    try {
      const frame = this.pipeline.next();
      this.captureError = undefined;
      if (frame) await this.udp.sendAll(frame.datagrams);
    } catch (err) {
      const message = (err as Error).message;
      if (message !== this.captureError) this.options.say(`Screen capture failed: ${message} (retrying)`);
      this.captureError = message;
    } finally {
      this.sendingFrame = false;
    }
  }

  private onPacket(packet: AgentPacket): void {
    if (this.closed) return;
    switch (packet.type) {
      case 'mouse':
        return this.inputs.mouse(packet);
      case 'keyboard':
        return this.inputs.key(packet);
      case 'control':
        return this.onControl(packet.message);
    }
  }

  private onControl(message: ControlMessage): void {
    switch (message.type) {
      case 'request_keyframe':
        this.pipeline?.requestKeyframe();
        return;
      case 'set_quality':
        this.pipeline?.setQuality(message.quality);
        if (message.fps !== this.fps) {
          this.fps = message.fps;
          if (this.frameTimer) this.startFrameTimer();
        }
        return;
      case 'select_monitor':
        void this.selectMonitor(message.monitor_id);
        return;
      case 'keepalive':
      case 'viewer_ack':
        return;
      default:
        this.unknownControl++;
    }
  }

  private async selectMonitor(id: string): Promise<void> {
    if (!this.streaming) return;
    const monitor = (await this.options.platform.monitors()).find((m) => m.id === id);
    if (!monitor || !this.streaming) {
      this.unknownControl++;
      return;
    }
    this.monitor = monitor;
    this.pipeline?.setArea(monitor);
    this.inputs.setArea(monitor);
    // The handshake carries the size mouse coordinates refer to; `screen` tells viewers directly.
    await this.udp.handshake(monitor);
    await this.udp.control({ type: 'screen', width: monitor.width, height: monitor.height });
  }
}

function chunkSizeOf(payloadBytes: number | undefined): ChunkSize | undefined {
  return payloadBytes === undefined ? undefined : { payloadBytes };
}
