// A small typed facade over the `x11` package (a pure-JS X protocol client, untyped): open a
// connection, watch the root window with DAMAGE, and read its pixels with MIT-SHM GetImage (an
// unlinked /dev/shm file the server maps, read back with one pread) or core GetImage. Only what
// screen capture needs.
import { EventEmitter } from 'node:events';
import { readSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Rect } from './screen-capture.js';

const Z_PIXMAP = 2;
const ALL_PLANES = 0xffffffff;
const DAMAGE_REPORT_DELTA_RECTANGLES = 1;
const NONE = 0;
const STRUCTURE_NOTIFY_MASK = 0x00020000;

/** The raw client's callbacks return true when they handled an error (else it is emitted too). */
type Callback<T> = (err: Error | null | undefined, value: T) => boolean | void;

interface RawClient extends EventEmitter {
  ChangeWindowAttributes(window: number, values: { eventMask: number }): void;
  stream?: { ref?(): void; unref?(): void };
  AllocID(): number;
  GetImage(
    format: number,
    drawable: number,
    x: number,
    y: number,
    w: number,
    h: number,
    planes: number,
    cb: Callback<{ data: Buffer }>,
  ): void;
  require(name: 'damage' | 'shm', cb: (err: Error | null, ext: never) => void): void;
  sync(): Promise<void>;
  terminate(): void;
}

interface RawDisplay {
  client: RawClient;
  screen: { root: number; pixel_width: number; pixel_height: number; root_depth: number }[];
  image_byte_order: number;
  format: Record<number, { bits_per_pixel: number }>;
}

interface RawDamage {
  ReportLevel: Record<string, number>;
  Create(damage: number, drawable: number, level: number): void;
  Subtract(damage: number, repair: number, parts: number): void;
}

interface RawShm {
  provider: { create(size: number): { fd: number; size: number }; destroy(seg: unknown): void } | null;
  Detach(shmseg: number): void;
  AttachFd(shmseg: number, fd: number, readOnly: boolean, cb: (err: Error | null) => boolean | void): void;
  GetImage(...args: [number, number, number, number, number, number, number, number, number, Callback<{ size: number }>]): void;
}

interface XEvent {
  name: string;
  /** DamageNotify: the changed area. */
  area: { x: number; y: number; w: number; h: number };
  /** ConfigureNotify: the window and its new size. */
  wid: number;
  width: number;
  height: number;
}

export interface SharedSegment {
  size: number;
  /** Reads the root window's `rect` into the segment, then into a new buffer (packed rows). */
  getImage(rect: Rect): Promise<Buffer>;
  /** Detaches it from the server and closes it. */
  release(): void;
}

export class X11Connection extends EventEmitter<{ damage: [Rect]; closed: [Error] }> {
  private damageId: number | undefined;
  private damageExt: RawDamage | undefined;
  private closedError: Error | undefined;
  /** Requests waiting for their answer. */
  private waiting = 0;
  /** X errors no request was waiting for. */
  protocolErrors = 0;

  private constructor(
    private readonly display: RawDisplay,
    readonly name: string,
  ) {
    super();
    const client = display.client;
    // An idle connection never keeps the agent running (it ends when its sessions do); one waiting for an answer does.
    client.stream?.unref?.();
    client.on('event', (event: XEvent) => {
      if (event.name === 'DamageNotify')
        this.emit('damage', { x: event.area.x, y: event.area.y, width: event.area.w, height: event.area.h });
      // The root window changes size when a monitor is added or removed.
      if (event.name === 'ConfigureNotify' && event.wid === this.root) this.resized(event.width, event.height);
    });
    // A request with a callback gets its own X error; one without (Subtract) is only counted. Any
    // other error is the connection's.
    client.on('error', (err: Error) => {
      if ('majorOpcode' in err) this.protocolErrors++;
      else this.fail(err);
    });
    client.on('end', () => this.fail(new Error(`the X display ${name} closed the connection`)));
  }

  /** Connects to `display` (e.g. ":0"); rejects when it does not answer. */
  static open(display: string): Promise<X11Connection> {
    const x11 = createRequire(import.meta.url)('x11') as {
      createClient(o: object, cb: (err: Error | undefined, d: RawDisplay) => void): EventEmitter;
    };
    return new Promise((resolve, reject) => {
      const client = x11.createClient({ display }, (err, raw) => (err ? reject(err) : resolve(new X11Connection(raw, display))));
      client.on('error', (err: Error) => reject(err));
    });
  }

  get closed(): Error | undefined {
    return this.closedError;
  }

  /** The root window's size, kept current as monitors come and go (RandR resizes the root window). */
  get screen(): { width: number; height: number } {
    const s = this.display.screen[0]!;
    return { width: s.pixel_width, height: s.pixel_height };
  }

  private resized(width: number, height: number): void {
    const s = this.display.screen[0]!;
    if (s.pixel_width === width && s.pixel_height === height) return;
    s.pixel_width = width;
    s.pixel_height = height;
    this.emit('damage', { x: 0, y: 0, width, height });
  }

  /** Why the root window's pixels are not 32-bit little-endian B,G,R,X (robotjs's layout); undefined when they are. */
  pixelFormatProblem(): string | undefined {
    const depth = this.display.screen[0]!.root_depth;
    const bpp = this.display.format[depth]?.bits_per_pixel;
    if ((depth !== 24 && depth !== 32) || bpp !== 32) return `the root window is ${depth} bits deep at ${bpp} bits per pixel (32 expected)`;
    if (this.display.image_byte_order !== 0) return 'the X server sends images most significant byte first';
    return undefined;
  }

  /** Starts reporting the root window's changes as 'damage' events (each area reported once until subtract()). */
  async watchDamage(): Promise<void> {
    const ext = await this.extension<RawDamage>('damage');
    this.damageExt = ext;
    this.damageId = this.display.client.AllocID();
    ext.Create(this.damageId, this.root, DAMAGE_REPORT_DELTA_RECTANGLES);
    this.display.client.ChangeWindowAttributes(this.root, { eventMask: STRUCTURE_NOTIFY_MASK });
    await this.sync();
  }

  /** Forgets what was reported, so the next change anywhere is reported again. */
  subtractDamage(): void {
    if (this.damageExt && this.damageId !== undefined) this.damageExt.Subtract(this.damageId, NONE, NONE);
  }

  /** A shared segment of `size` bytes attached to the server; rejects where MIT-SHM cannot be used (remote display, no /dev/shm). */
  async sharedSegment(size: number): Promise<SharedSegment> {
    const shm = await this.extension<RawShm>('shm');
    if (!shm.provider) throw new Error('MIT-SHM needs a local connection that can pass a file descriptor');
    const segment = shm.provider.create(size);
    const id = this.display.client.AllocID();
    try {
      await this.held(
        new Promise<void>((resolve, reject) =>
          shm.AttachFd(id, segment.fd, false, (err) => {
            if (err) reject(err);
            else resolve();
            return true;
          }),
        ),
      );
    } catch (err) {
      shm.provider.destroy(segment);
      throw err;
    }
    return {
      size,
      getImage: (rect) => this.shmGetImage(shm, id, segment, rect),
      release: () => {
        if (!this.closedError) shm.Detach(id);
        shm.provider?.destroy(segment);
      },
    };
  }

  private shmGetImage(shm: RawShm, id: number, segment: { fd: number; size: number }, rect: Rect): Promise<Buffer> {
    const bytes = rect.width * rect.height * 4;
    if (bytes > segment.size) return Promise.reject(new Error(`a ${rect.width}×${rect.height} image does not fit the shared segment`));
    return this.request<{ size: number }>((cb) =>
      shm.GetImage(this.root, rect.x, rect.y, rect.width, rect.height, ALL_PLANES, Z_PIXMAP, id, 0, cb),
    ).then(() => {
      const data = Buffer.allocUnsafe(bytes);
      readSync(segment.fd, data, 0, bytes, 0);
      return data;
    });
  }

  /** Core GetImage: the pixels travel over the socket (any display, slower). */
  async getImage(rect: Rect): Promise<Buffer> {
    const reply = await this.request<{ data: Buffer }>((cb) =>
      this.display.client.GetImage(Z_PIXMAP, this.root, rect.x, rect.y, rect.width, rect.height, ALL_PLANES, cb),
    );
    return reply.data;
  }

  /** A round trip: every change the server reported before it has been emitted when this resolves. */
  sync(): Promise<void> {
    return this.request<void>(
      (cb) =>
        void this.display.client.sync().then(
          () => cb(null, undefined),
          (err: Error) => cb(err, undefined),
        ),
    );
  }

  close(): void {
    if (this.closedError) return;
    this.fail(new Error(`the connection to the X display ${this.name} was closed`));
    this.display.client.terminate();
  }

  private get root(): number {
    return this.display.screen[0]!.root;
  }

  private request<T>(send: (cb: Callback<T>) => void): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    return this.held(
      new Promise<T>((resolve, reject) => {
        const onClosed = (err: Error) => reject(err);
        this.once('closed', onClosed);
        send((err, value) => {
          this.off('closed', onClosed);
          if (err) reject(err);
          else resolve(value);
          return true;
        });
      }),
    );
  }

  /** Keeps the process alive while `answer` is awaited (the connection is unref'd when idle). */
  private held<T>(answer: Promise<T>): Promise<T> {
    const stream = this.display.client.stream;
    if (this.waiting++ === 0) stream?.ref?.();
    return answer.finally(() => {
      if (--this.waiting === 0) stream?.unref?.();
    });
  }

  private extension<T>(name: 'damage' | 'shm'): Promise<T> {
    return this.held(
      new Promise<T>((resolve, reject) => {
        const onClosed = (err: Error) => reject(err);
        this.once('closed', onClosed);
        this.display.client.require(name, (err, ext) => {
          this.off('closed', onClosed);
          if (err) reject(new Error(`the X display ${this.name} has no ${name === 'shm' ? 'MIT-SHM' : 'DAMAGE'} extension`));
          else resolve(ext as T);
        });
      }),
    );
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    this.emit('closed', err);
  }
}
