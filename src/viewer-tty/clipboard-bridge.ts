// The clipboard between the IT member's terminal and the customer's desktop (docs/protocol.md
// "Clipboard (type 8)"). A copy on the remote desktop arrives as text and goes to the local
// terminal's clipboard with OSC 52 (kitty, xterm, and tmux with `set-clipboard on` take it); the
// text came from the other party, so control characters other than newline and tab are removed
// first. A paste into the viewer (bracketed paste) goes to the remote clipboard followed by Ctrl+V
// once the agent acknowledged it (--paste clipboard), or is typed as keystrokes (--paste type).
import { ClipboardChannel, MAX_CLIPBOARD_BYTES, type ClipboardReceived } from '../protocol/index.js';
import { VK } from '../protocol/virtual-keys.js';
import { TerminalInputParser } from './input/terminal-input.js';
import { keyStrokes } from './input/windows-keys.js';

export type PasteMode = 'clipboard' | 'type';
export const PASTE_MODES: readonly PasteMode[] = ['clipboard', 'type'];

export interface ClipboardBridgeOptions {
  paste: PasteMode;
  /** Sends an inner datagram sealed to the agent; false when there is no sealed channel (nothing sent). */
  sendSealed(inner: Buffer): boolean;
  sendKey(vk: number, down: boolean): void;
  /** Writes to the local terminal. */
  writeTerminal(bytes: string): void;
  /** A short message for the status line. */
  notice(text: string): void;
}

// Every C0 control but tab and newline, DEL, and the C1 controls (an 8-bit CSI or OSC is a control too).
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Remote text, safe to hand to the terminal's clipboard: only newline and tab remain of the controls. */
export function clipboardSafe(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(UNSAFE, '');
}

/** OSC 52 setting the terminal's clipboard (`c`) to `text`, BEL-terminated. */
export function osc52(text: string): string {
  return `\x1b]52;c;${Buffer.from(clipboardSafe(text), 'utf8').toString('base64')}\x07`;
}

/** Windows virtual-key codes of letters are their capitals' ASCII codes. */
const VK_V = 0x56;

const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const LIMIT = `${MAX_CLIPBOARD_BYTES / 1024 / 1024} MB`;

export class ClipboardBridge {
  private channel: ClipboardChannel;

  constructor(private readonly options: ClipboardBridgeOptions) {
    this.channel = this.newChannel();
  }

  /** New keys with the agent (a new agent): transfers of the old pair are forgotten. */
  reset(): void {
    this.channel.cancel();
    this.channel = this.newChannel();
  }

  close(): void {
    this.channel.cancel();
  }

  /** An opened type-8 datagram from the agent. */
  receive(inner: Buffer): void {
    const received = this.channel.receive(inner);
    if (received) this.onReceived(received);
  }

  /** Text pasted into the viewer while it controls the remote. */
  paste(text: string): void {
    if (text === '') return;
    if (this.options.paste === 'type') {
      for (const key of TerminalInputParser.typedKeys(text)) {
        for (const stroke of keyStrokes(key)) this.options.sendKey(stroke.vk, stroke.down);
      }
      return;
    }
    // Terminals paste line ends as CR; a clipboard holds LF.
    const result = this.channel.send(text.replace(/\r\n?/g, '\n'), () => this.pressCtrlV());
    if (!result.sent) this.options.notice(`paste of ${megabytes(result.tooLarge)} not sent (limit ${LIMIT})`);
  }

  private onReceived(received: ClipboardReceived): void {
    if (received.kind === 'text') {
      this.options.writeTerminal(osc52(received.text));
      this.channel.acknowledge(received.transferId);
      this.options.notice(`remote copy in your clipboard (${[...received.text].length} chars)`);
    } else if (received.kind === 'too_large') {
      this.options.notice(`remote copy of ${megabytes(received.totalBytes)} not copied (limit ${LIMIT})`);
    }
  }

  private pressCtrlV(): void {
    for (const [vk, down] of [
      [VK.CONTROL, true],
      [VK_V, true],
      [VK_V, false],
      [VK.CONTROL, false],
    ] as const) {
      this.options.sendKey(vk, down);
    }
  }

  private newChannel(): ClipboardChannel {
    return new ClipboardChannel({
      transmit: (datagrams) => {
        for (const datagram of datagrams) if (!this.options.sendSealed(datagram)) return;
      },
      onGiveUp: () => this.options.notice('paste not delivered: the network lost it'),
    });
  }
}
