// UDP ports for sessions: each live session holds one port of the configured range, bound for the
// session's whole life (so no other program can take it), and freed when the session closes.
import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';

export interface PortRange {
  first: number;
  last: number;
}

export function parsePortRange(text: string): PortRange {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text.trim());
  const first = Number(match?.[1]);
  const last = Number(match?.[2] ?? match?.[1]);
  if (!match || first < 1 || last > 65535 || first > last) {
    throw new Error(`invalid port range "${text}": expected FIRST-LAST within 1-65535, e.g. 50000-60000`);
  }
  return { first, last };
}

export const formatPortRange = (range: PortRange) => `${range.first}-${range.last}`;

export class UdpPortPool {
  private readonly held = new Map<number, Socket>();

  constructor(
    readonly range: PortRange,
    private readonly host: string,
  ) {}

  get size(): number {
    return this.range.last - this.range.first + 1;
  }

  get heldCount(): number {
    return this.held.size;
  }

  socket(port: number): Socket | undefined {
    return this.held.get(port);
  }

  /** Binds the first free port, scanning the range from a random start. Null when none is free. */
  async allocate(): Promise<{ port: number; socket: Socket } | null> {
    if (this.held.size >= this.size) return null;
    const start = randomInt(this.size);
    for (let i = 0; i < this.size; i++) {
      const port = this.range.first + ((start + i) % this.size);
      if (this.held.has(port)) continue;
      const socket = await this.claim(port);
      if (socket) return { port, socket };
    }
    return null;
  }

  /** Binds a specific port (a live session's after a restart). Null when another program holds it. */
  async claim(port: number): Promise<Socket | null> {
    const existing = this.held.get(port);
    if (existing) return existing;
    const socket = createSocket({ type: this.host.includes(':') ? 'udp6' : 'udp4' });
    const bound = await new Promise<boolean>((resolve) => {
      socket.once('error', () => resolve(false));
      socket.bind({ port, address: this.host, exclusive: true }, () => resolve(true));
    });
    if (!bound || this.held.has(port)) {
      socket.close();
      return bound ? this.held.get(port)! : null;
    }
    // A socket error after binding (ICMP unreachable and such) must never crash the broker.
    socket.on('error', () => {});
    // Frames arrive in bursts of many datagrams; the default buffer (~200 KB) overflows first.
    try {
      socket.setRecvBufferSize(4 * 1024 * 1024);
      socket.setSendBufferSize(4 * 1024 * 1024);
    } catch {
      // The kernel's limit applies; the relay still works with the default.
    }
    this.held.set(port, socket);
    return socket;
  }

  release(port: number): void {
    const socket = this.held.get(port);
    if (!socket) return;
    this.held.delete(port);
    socket.close();
  }

  releaseAll(): void {
    for (const port of [...this.held.keys()]) this.release(port);
  }
}
