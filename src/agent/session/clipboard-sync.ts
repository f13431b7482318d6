// The customer's clipboard in a session, both ways, text only (docs/protocol.md "Clipboard (type 8)").
// It runs only while the stream is live for viewers the customer allowed to control (never in a
// view-only session, never before consent, never while paused). What was on the clipboard before
// it started is never sent: only copies made during the session, seen by polling twice a second.
// Text from a viewer is put on the clipboard and becomes the new baseline, so it is not echoed back;
// while the tool that wrote it still holds the clipboard, it is not read at all (nothing can have
// changed, and xclip serves one large read at a time: the customer's paste of it comes first).
import { ClipboardChannel, MAX_CLIPBOARD_BYTES } from '../../protocol/index.js';
import type { DesktopClipboard } from '../platform/clipboard.js';

export const CLIPBOARD_POLL_MS = 500;

export interface ClipboardSyncOptions {
  clipboard: DesktopClipboard;
  /** Seals the inner datagrams to this viewer and sends them. */
  transmit(viewerId: number, datagrams: Buffer[]): void;
  say(line: string): void;
  pollMs?: number;
}

const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const LIMIT = `${MAX_CLIPBOARD_BYTES / 1024 / 1024} MB`;

export class ClipboardSync {
  private readonly channels = new Map<number, ClipboardChannel>();
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  /** The clipboard as last seen or written: a change from it is a copy to send. */
  private baseline: string | undefined;
  private readFailed = false;
  /** Counts writes: a read that began before a write may return the old text, which is no copy. */
  private writes = 0;
  private announced = false;
  /** Settles when another program takes the clipboard from our last write (see ClipboardWrite). */
  private held: Promise<void> | undefined;
  /** Writes under way: the tool may own the clipboard before it says so, and is not read meanwhile. */
  private writing = 0;

  constructor(private readonly options: ClipboardSyncOptions) {}

  addViewer(viewerId: number): void {
    if (this.channels.has(viewerId)) return;
    const channel = new ClipboardChannel({
      transmit: (datagrams) => this.options.transmit(viewerId, datagrams),
      onGiveUp: (bytes) => this.options.say(`Your clipboard (${bytes} bytes) did not reach your IT contact: the network lost it.`),
    });
    this.channels.set(viewerId, channel);
  }

  removeViewer(viewerId: number): void {
    this.channels.get(viewerId)?.cancel();
    this.channels.delete(viewerId);
  }

  /** Live: the current clipboard is the baseline (not sent), copies from now on are. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.baseline = await this.options.clipboard.read();
    if (!this.running) return;
    // The customer agreed to control; that the clipboard goes with it is said once, plainly.
    if (!this.announced)
      this.options.say('Text you copy from now on is shared with your IT contact, and they can paste to your clipboard.');
    this.announced = true;
    this.timer = setInterval(() => void this.poll(), this.options.pollMs ?? CLIPBOARD_POLL_MS);
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const channel of this.channels.values()) channel.cancel();
  }

  /** An opened type-8 datagram from an allowed viewer. */
  receive(viewerId: number, inner: Uint8Array): void {
    const channel = this.channels.get(viewerId);
    if (!channel || !this.running) return;
    const received = channel.receive(inner);
    // Acknowledged once on the clipboard: the viewer's Ctrl+V follows the acknowledgement.
    if (received?.kind === 'text') void this.write(received.text).then(() => channel.acknowledge(received.transferId));
    else if (received?.kind === 'too_large') {
      this.options.say(
        `Your IT contact tried to paste ${megabytes(received.totalBytes)} of text, over the ${LIMIT} limit: nothing was pasted.`,
      );
    }
  }

  private async write(text: string): Promise<void> {
    this.baseline = text;
    this.writes++;
    this.writing++;
    try {
      this.hold((await this.options.clipboard.write(text)).released);
    } catch (err) {
      this.options.say(`Could not put your IT contact's text on your clipboard: ${(err as Error).message}`);
    } finally {
      this.writing--;
      this.writes++; // and a read overlapping the write is no copy either
    }
  }

  /** No polling until `released` settles, unless a newer write holds the clipboard by then. */
  private hold(released: Promise<void> | undefined): void {
    this.held = released;
    void released?.then(() => {
      if (this.held === released) this.held = undefined;
    });
  }

  private async poll(): Promise<void> {
    if (this.reading || !this.running || this.held || this.writing > 0) return;
    this.reading = true;
    const writes = this.writes;
    try {
      const text = await this.options.clipboard.read();
      if (!this.running || writes !== this.writes || text === undefined || text === this.baseline) return;
      this.baseline = text;
      this.send(text);
    } catch (err) {
      if (!this.readFailed)
        this.options.say(`Could not read your clipboard with ${this.options.clipboard.tool}: ${(err as Error).message}`);
      this.readFailed = true;
    } finally {
      this.reading = false;
    }
  }

  private send(text: string): void {
    let tooLarge: number | undefined;
    for (const channel of this.channels.values()) {
      const result = channel.send(text);
      if (!result.sent) tooLarge = result.tooLarge;
    }
    if (tooLarge !== undefined) {
      this.options.say(`You copied ${megabytes(tooLarge)} of text, over the ${LIMIT} shared with your IT contact: they do not get it.`);
    }
  }
}
