// Viewing one session: the remote picture above, the status line on the last row, keys and
// mouse to the remote (or to the viewer after Ctrl-]).
// While viewing, the picture needs exact cell addressing and every raw input byte (mouse
// reports, Ctrl-C for the remote), so this screen writes to the terminal itself and uses Ink only
// to lay out the status line (renderToString); the session list is a regular Ink app.
// Whole frames and rectangles go to the remote display (display/remote-display.ts), which composes
// the remote screen; a change schedules one paint of the composed picture.
import { StringDecoder } from 'node:string_decoder';
import { renderToString } from 'ink';
import { createElement } from 'react';
import { StatusLine, type StatusLineProps } from './components/StatusLine.js';
import { regionsInView } from './graphics/changed-regions.js';
import { type CellSize, type Placement, inScreenPixels } from './graphics/fit.js';
import { RemoteDisplay } from './display/remote-display.js';
import type { GraphicsRenderer } from './graphics/renderer.js';
import { type RgbImage, cropImage } from './graphics/rgb-image.js';
import { FIT_VIEW, type Screen, type View, fitScale, oneToOneScale, panView, placeView, stepZoom, zoomLabel } from './graphics/viewport.js';
import { mouseInputs } from './input/mouse-map.js';
import { type KeyEvent, TerminalInputParser } from './input/terminal-input.js';
import { keyStrokes } from './input/windows-keys.js';
import { qualityKeyAction } from './quality-keys.js';
import type { LinkState, SessionConnection, SessionConnectionEvents, StreamSecurity } from './session-connection.js';
import { ClipboardBridge, type PasteMode } from './clipboard-bridge.js';

/** How long a clipboard notice stays on the status line. */
const NOTICE_MS = 5000;

export const ESCAPE_KEY_LABEL = 'Ctrl-]';
const isEscapeKey = (k: KeyEvent) => k.ctrl && k.name === ']';
const PAN = new Map<string, [number, number]>([
  ['left', [-1, 0]],
  ['right', [1, 0]],
  ['up', [0, -1]],
  ['down', [0, 1]],
]);

export interface ViewerTerminal {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream & {
    columns?: number;
    rows?: number;
    on(event: 'resize', fn: () => void): unknown;
    off(event: 'resize', fn: () => void): unknown;
  };
}

export interface ViewerScreenOptions {
  terminal: ViewerTerminal;
  renderer: GraphicsRenderer;
  cell: CellSize;
  /** Whether the terminal reported `cell` (else it is a guess, and kitty/sixel have no 1:1). */
  cellReported?: boolean;
  code: string;
  customer?: string | null;
  status: string;
  /** Creates the transport with the screen's event handlers. */
  connect(events: SessionConnectionEvents): SessionConnection;
  /** What a paste into the viewer does: the remote clipboard and Ctrl+V (default), or typed keys. */
  paste?: PasteMode;
  /** The `s` key in viewer mode: a shell on the customer's computer; the screen draws nothing until it resolves. */
  openShell?(): Promise<void>;
}

export type ViewerExit = 'quit' | 'ended';

export class ViewerScreen {
  private readonly parser = new TerminalInputParser();
  private connection!: SessionConnection;
  private control: 'remote' | 'viewer' = 'remote';
  private status: string;
  private security: StreamSecurity | undefined;
  private link: LinkState = 'connecting';
  private detail?: string;
  private lastFrame?: RgbImage;
  private display!: RemoteDisplay;
  /** The composed picture changed since it was last painted. */
  private repaintPending = false;
  private paintScheduled = false;
  private drawing = false;
  private placement?: Placement;
  private view: View = FIT_VIEW;
  /** The remote screen's size in the pixels mouse packets use (frames may be smaller). */
  private remoteScreen?: { width: number; height: number };
  private lastStatus = '';
  private pictureShown = false;
  private done!: (exit: ViewerExit) => void;
  private statusTimer?: NodeJS.Timeout;
  /** Keeps a UTF-8 character cut between two reads whole (a large paste arrives in reads of about 4 kB). */
  private readonly utf8 = new StringDecoder('utf8');
  private readonly onInput = (chunk: Buffer | string) => this.handleInput(typeof chunk === 'string' ? chunk : this.utf8.write(chunk));
  private readonly onResize = () => this.relayout();
  private clipboard!: ClipboardBridge;
  private notice?: { text: string; until: number };
  /** A shell has the terminal (the `s` key): draw nothing. */
  private shellRunning = false;

  constructor(private readonly options: ViewerScreenOptions) {
    this.status = options.status;
  }

  /** Runs until the user leaves (q in viewer mode) or the session ends and they press a key. */
  run(): Promise<ViewerExit> {
    const { stdin, stdout } = this.options.terminal;
    return new Promise<ViewerExit>((resolve) => {
      this.done = (exit) => {
        this.stop();
        resolve(exit);
      };
      stdin.on('data', this.onInput);
      stdout.on('resize', this.onResize);
      this.write('\x1b[H\x1b[2J');
      this.display = new RemoteDisplay({ changed: () => this.pictureChanged(), requestKeyframe: () => this.connection.requestKeyframe() });
      this.clipboard = this.newClipboardBridge();
      this.connection = this.options.connect({
        clipboard: (inner) => this.clipboard.receive(inner),
        frame: (jpeg, frameId) => this.timeDecode(() => this.display.fullFrame(jpeg, frameId)),
        rect: (rect) => this.timeDecode(() => this.display.rect(rect)),
        state: (state, detail) => {
          this.link = state;
          this.detail = detail;
          this.drawStatus();
        },
        status: (status) => {
          this.status = status;
          this.drawStatus();
        },
        security: (security) => {
          if (security.state !== 'sealed') this.clipboard.reset();
          this.security = security;
          this.drawStatus();
        },
        control: (message) => {
          if (message.type === 'screen' && message.width > 0 && message.height > 0) this.remoteScreen = message;
        },
      });
      this.connection.start();
      this.statusTimer = setInterval(() => this.drawStatus(), 1000);
      this.drawStatus();
    });
  }

  private stop() {
    const { stdin, stdout } = this.options.terminal;
    clearInterval(this.statusTimer);
    this.clipboard.close();
    stdin.off('data', this.onInput);
    stdout.off('resize', this.onResize);
    this.display.close();
    this.connection.close();
    this.write(this.options.renderer.erase() + '\x1b[0m\x1b[H\x1b[2J');
  }

  private newClipboardBridge(): ClipboardBridge {
    return new ClipboardBridge({
      paste: this.options.paste ?? 'clipboard',
      sendSealed: (inner) => this.connection.sendSealed(inner),
      sendKey: (vk, down) => this.connection.sendKey(vk, down),
      writeTerminal: (bytes) => void this.write(bytes),
      notice: (text) => this.showNotice(text),
    });
  }

  private showNotice(text: string) {
    this.notice = { text, until: Date.now() + NOTICE_MS };
    this.drawStatus();
  }

  private write(bytes: string): boolean {
    if (this.shellRunning) return true;
    return bytes ? this.options.terminal.stdout.write(bytes) : true;
  }

  private size() {
    const { stdout } = this.options.terminal;
    return { cols: stdout.columns || 80, rows: stdout.rows || 24 };
  }

  /** Whole frames and rectangles that did not decode (each asked for a whole frame). */
  get decodeErrors(): number {
    return this.display?.decodeErrors ?? 0;
  }

  /**
   * Updates arrive faster than a slow terminal draws, and several may land at once: one paint of
   * the composed picture per turn of the event loop, none while the terminal is still draining.
   */
  private pictureChanged() {
    this.lastFrame = this.display.picture;
    this.repaintPending = true;
    if (this.drawing || this.paintScheduled) return;
    this.paintScheduled = true;
    setImmediate(() => {
      this.paintScheduled = false;
      this.drawNext();
    });
  }

  /** Decoding and composing time goes into the receive report (a slow decoder lowers the frame rate). */
  private timeDecode(decode: () => void) {
    const started = performance.now();
    decode();
    this.connection.frameDecoded(performance.now() - started);
  }

  private drawNext() {
    if (!this.repaintPending) return;
    this.repaintPending = false;
    this.paint();
  }

  private paint() {
    const frame = this.lastFrame;
    if (!frame) return;
    // What changed since the last paint (updates coalesce between paints): a renderer may redraw only that.
    const changed = this.display.takeChanged();
    const placement = placeView(frame.width, frame.height, this.screen(), this.view, this.oneToOne());
    if (
      this.placement &&
      (this.placement.cols !== placement.cols || this.placement.rows !== placement.rows || this.placement.left !== placement.left)
    ) {
      this.write(this.options.renderer.erase() + '\x1b[H\x1b[2J');
      this.options.renderer.invalidate();
      this.lastStatus = '';
    }
    this.placement = placement;
    // Zoomed in, the renderer gets only the region shown, so it scales up from the remote's own pixels.
    const shown = placement.region ? cropImage(frame, placement.region) : frame;
    const changedShown = changed && placement.region ? regionsInView(changed, placement.region) : changed;
    const flushed = this.write(this.options.renderer.draw(shown, placement, this.options.cell, changedShown));
    // The first picture changes the status (no more "waiting for consent"); a cleared screen lost it.
    if (this.lastStatus === '' || !this.pictureShown) this.drawStatus();
    this.pictureShown = true;
    if (!flushed) {
      this.drawing = true;
      this.options.terminal.stdout.once('drain', () => {
        this.drawing = false;
        this.drawNext();
      });
    } else if (this.repaintPending) this.pictureChanged();
  }

  /** The cells the picture may use: all but the status line. */
  private screen(): Screen {
    const { cols, rows } = this.size();
    return { cols, rows: Math.max(1, rows - 1), cell: this.options.cell };
  }

  private oneToOne(): number | undefined {
    return oneToOneScale(this.options.renderer.mode, this.options.cell, this.options.cellReported ?? false);
  }

  /** + / - / 0 and the arrows in viewer mode: a new view of the last picture. */
  private changeView(name: string) {
    const frame = this.lastFrame;
    if (!frame || !this.placement) return;
    const fit = fitScale(frame.width, frame.height, this.screen());
    if (name === '+' || name === '=') this.view = { ...this.view, zoom: stepZoom(this.view.zoom, 1, fit, this.oneToOne()) };
    else if (name === '-') this.view = { ...this.view, zoom: stepZoom(this.view.zoom, -1, fit, this.oneToOne()) };
    else if (name === '0') this.view = FIT_VIEW;
    else if (PAN.has(name)) this.view = panView(this.view, this.placement, ...PAN.get(name)!);
    else return;
    this.paint();
    this.drawStatus();
  }

  /** [ ] { } and a in viewer mode: pin the agent's quality or frame rate, or back to automatic. */
  private changeQuality(name: string): boolean {
    const action = qualityKeyAction(name, this.connection.stats().settings);
    if (!action) return false;
    if (action.kind === 'auto') this.connection.autoQuality();
    else this.connection.setQuality(action.quality, action.fps);
    return true;
  }

  private async runShell(open: () => Promise<void>) {
    this.shellRunning = true;
    try {
      await open();
      this.detail = undefined;
    } catch (err) {
      this.detail = (err as Error).message;
    } finally {
      this.shellRunning = false;
    }
    this.relayout();
  }

  private relayout() {
    this.options.renderer.invalidate();
    this.write(this.options.renderer.erase() + '\x1b[H\x1b[2J');
    this.placement = undefined;
    this.lastStatus = '';
    this.paint();
    this.drawStatus();
  }

  statusProps(): StatusLineProps {
    return {
      code: this.options.code,
      customer: this.options.customer,
      status: this.status,
      security: this.security,
      link: this.link,
      stats: this.connection.stats(),
      hasPicture: this.lastFrame !== undefined,
      control: this.control,
      escapeKey: ESCAPE_KEY_LABEL,
      detail: this.detail,
      zoom: zoomLabel(this.view.zoom),
      region: this.view.zoom === 'fit' ? undefined : this.placement?.region,
      notice: this.notice && this.notice.until > Date.now() ? this.notice.text : undefined,
    };
  }

  private drawStatus() {
    const { cols, rows } = this.size();
    const text = renderToString(createElement(StatusLine, this.statusProps()), { columns: cols }).split('\n')[0] ?? '';
    if (text === this.lastStatus) return;
    this.lastStatus = text;
    this.write(`\x1b[${rows};1H\x1b[0m\x1b[2K${text}\x1b[0m`);
  }

  private handleInput(chunk: string) {
    for (const event of this.parser.parse(chunk)) {
      if (event.kind === 'reply') continue;
      if (this.link === 'ended') {
        // The session is over: any key leaves.
        if (event.kind === 'key') this.done('ended');
        continue;
      }
      if (event.kind === 'key' && isEscapeKey(event)) {
        this.control = this.control === 'remote' ? 'viewer' : 'remote';
        this.drawStatus();
        continue;
      }
      if (this.control === 'viewer') {
        if (event.kind !== 'key') continue;
        if (event.name === 'q' || (event.ctrl && event.name === 'c')) this.done('quit');
        else if (event.name === 'k') this.connection.requestKeyframe();
        else if (event.name === 'r') this.relayout();
        else if (event.name === 's' && this.options.openShell) void this.runShell(this.options.openShell);
        else if (event.name === 'escape') {
          this.control = 'remote';
          this.drawStatus();
        } else if (!event.ctrl && !event.alt && !this.changeQuality(event.name)) this.changeView(event.name);
        continue;
      }
      if (event.kind === 'paste') {
        // No picture yet: the customer has not said yes, and a paste must not wait to land after.
        if (this.lastFrame) this.clipboard.paste(event.text);
        else this.showNotice("paste not sent: waiting for the customer's consent");
      } else if (event.kind === 'key') {
        for (const stroke of keyStrokes(event)) this.connection.sendKey(stroke.vk, stroke.down);
      } else if (this.placement) {
        const screen = this.remoteScreen;
        const placement = screen ? inScreenPixels(this.placement, screen.width, screen.height) : this.placement;
        for (const input of mouseInputs(event, placement)) {
          if (input.kind === 'key') this.connection.sendKey(input.vk, input.down);
          else this.connection.sendMouse(input.x, input.y, input.button, input.state);
        }
      }
    }
  }
}
