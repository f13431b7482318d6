// The agent's UDP socket to the session's port on the broker: the handshake that pins it (raw
// JSON, no type byte), keepalives every 2 s, the type-1 datagrams of each frame, and what the relay
// forwards from viewers (mouse, keys, control). Datagrams from any other address are ignored, and a
// malformed one is counted, never thrown.
import { type Socket, createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { EventEmitter } from 'node:events';
import { type ControlMessage, type Packet, decodeDatagram, encodeControl, encodeHandshake } from '../../protocol/index.js';

export const KEEPALIVE_INTERVAL_MS = 2000;
/** Big enough for a burst of frame datagrams without ENOBUFS on a busy loopback. */
const SEND_BUFFER_BYTES = 4 * 1024 * 1024;

export type AgentPacket = Exclude<Packet, { type: 'handshake' | 'frame_chunk' }>;

export interface UdpLinkEvents {
  packet: [packet: AgentPacket];
  /** The broker's type-4 disconnect; reason "shutdown" means it is restarting (come back). */
  disconnect: [reason: string | undefined];
}

export interface UdpLinkStats {
  datagramsSent: number;
  bytesSent: number;
  sendErrors: number;
  datagramsReceived: number;
  malformed: number;
  fromStrangers: number;
  /** Well-formed datagrams of a kind the broker never forwards to an agent (frames, handshakes). */
  unexpected: number;
}

export class UdpLink extends EventEmitter<UdpLinkEvents> {
  private socket: Socket | undefined;
  private target: { address: string; port: number } | undefined;
  private keepalive: NodeJS.Timeout | undefined;
  readonly stats: UdpLinkStats = {
    datagramsSent: 0,
    bytesSent: 0,
    sendErrors: 0,
    datagramsReceived: 0,
    malformed: 0,
    fromStrangers: 0,
    unexpected: 0,
  };

  constructor(
    private readonly host: string,
    private readonly sessionCode: string,
  ) {
    super();
  }

  /** Resolves the broker's host and points the socket at `port` (again after a broker restart). */
  async open(port: number): Promise<void> {
    const { address, family } = await lookup(this.host);
    const type = family === 6 ? 'udp6' : 'udp4';
    if (!this.socket || (this.socket.address().family === 'IPv6') !== (type === 'udp6')) {
      this.socket?.close();
      this.socket = await bindSocket(type, (datagram, from) => this.receive(datagram, from));
    }
    this.target = { address, port };
  }

  /** Pins this socket as the session's agent; `screen` is the size mouse coordinates refer to. */
  handshake(screen: { width: number; height: number }): Promise<void> {
    const datagram = encodeHandshake({
      session_code: this.sessionCode,
      screen_width: screen.width,
      screen_height: screen.height,
      timestamp: Date.now(),
    });
    return this.send(datagram);
  }

  control(message: ControlMessage): Promise<void> {
    return this.send(encodeControl(message));
  }

  startKeepalive(): void {
    this.stopKeepalive();
    this.keepalive = setInterval(() => void this.control({ type: 'keepalive' }), KEEPALIVE_INTERVAL_MS);
  }

  stopKeepalive(): void {
    if (this.keepalive) clearInterval(this.keepalive);
    this.keepalive = undefined;
  }

  /** Sends datagrams in order; resolves when all are handed to the kernel (errors are counted). */
  async sendAll(datagrams: Buffer[]): Promise<void> {
    await Promise.all(datagrams.map((d) => this.send(d)));
  }

  send(datagram: Buffer): Promise<void> {
    const socket = this.socket;
    const target = this.target;
    if (!socket || !target) return Promise.resolve();
    return new Promise((resolve) => {
      try {
        socket.send(datagram, target.port, target.address, (err) => {
          if (err) this.stats.sendErrors++;
          else {
            this.stats.datagramsSent++;
            this.stats.bytesSent += datagram.length;
          }
          resolve();
        });
      } catch {
        this.stats.sendErrors++;
        resolve();
      }
    });
  }

  close(): void {
    this.stopKeepalive();
    this.socket?.close();
    this.socket = undefined;
  }

  private receive(datagram: Buffer, from: { address: string; port: number }): void {
    const target = this.target;
    if (!target || from.port !== target.port || from.address !== target.address) {
      this.stats.fromStrangers++;
      return;
    }
    this.stats.datagramsReceived++;
    const decoded = decodeDatagram(datagram);
    if (!decoded.ok) {
      this.stats.malformed++;
      return;
    }
    const packet = decoded.packet;
    if (packet.type === 'handshake' || packet.type === 'frame_chunk') {
      this.stats.unexpected++;
      return;
    }
    if (packet.type === 'control' && packet.message.type === 'disconnect') {
      this.emit('disconnect', disconnectReason(datagram));
      return;
    }
    this.emit('packet', packet);
  }
}

function bindSocket(
  type: 'udp4' | 'udp6',
  onMessage: (datagram: Buffer, from: { address: string; port: number }) => void,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type, sendBufferSize: SEND_BUFFER_BYTES });
    socket.once('error', reject);
    socket.on('message', onMessage);
    socket.bind(0, () => {
      socket.off('error', reject);
      // ICMP "port unreachable" while the broker restarts surfaces here: not fatal.
      socket.on('error', () => undefined);
      resolve(socket);
    });
  });
}

/** The `reason` the broker adds to a disconnect (the protocol parser keeps only known fields). */
function disconnectReason(datagram: Buffer): string | undefined {
  try {
    const reason = (JSON.parse(datagram.subarray(1).toString('utf8')) as { reason?: unknown }).reason;
    return typeof reason === 'string' ? reason : undefined;
  } catch {
    return undefined;
  }
}
